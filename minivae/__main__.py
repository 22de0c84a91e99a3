"""``python -m minivae`` is the ``minivae`` command."""

from minivae.cli import main

raise SystemExit(main())
