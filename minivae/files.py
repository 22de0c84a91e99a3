"""Small file-system checks shared by the commands that write folders."""

from __future__ import annotations

from pathlib import Path


def make_writable_folder(folder: Path) -> None:
    """Create ``folder`` (and its parents) and write and remove a probe file in it, so that a
    folder that cannot be written fails before any work is done. Raises OSError."""
    folder.mkdir(parents=True, exist_ok=True)
    probe = folder / ".minivae-write-test"
    probe.write_bytes(b"")
    probe.unlink()
