"""The documentation website: build hooks, the executed tutorials, the browser check."""
