"""A run folder belongs to one process at a time: a lock file (``.minivae.lock``) held with
``flock`` for as long as the run's trainer lives.

Two ``minivae train`` (or two resumes) into one ``--out`` at once would interleave their
metrics rows and overwrite each other's checkpoints; the second is refused instead, with a
message naming the folder and the process that holds it. ``flock`` locks belong to the open
file, so the kernel releases them when the process ends however it ends (a crash, ``kill
-9``): a stale lock file never blocks a later run. Within one process (a notebook that
trains and then resumes) the folder's lock is shared, not refused.
"""

from __future__ import annotations

import os
import weakref
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no flock; runs are not guarded there
    fcntl = None

LOCK_NAME = ".minivae.lock"


class RunFolderBusy(ValueError):
    """Another process is training (or resuming) into this run folder."""


class RunLock:
    """An open, flock-ed lock file; the lock ends when this object is closed or collected."""

    def __init__(self, path: Path, file):
        self.path, self.file = path, file

    def release(self) -> None:
        if not self.file.closed:
            self.file.close()  # closing the last descriptor drops the flock

    def __del__(self):
        self.release()


# This process's locks by folder (weak: a lock lives as long as a trainer holds it).
_HELD: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def lock_run_folder(out) -> RunLock | None:
    """Take ``out``'s lock (the folder must exist) or raise ``RunFolderBusy`` naming the
    process that has it. -> the lock, to be kept referenced while the run writes there."""
    if fcntl is None:
        return None
    out = Path(out)
    key = os.path.realpath(out)
    held = _HELD.get(key)
    if held is not None and not held.file.closed:
        return held  # this process already owns the folder
    path = out / LOCK_NAME
    file = open(path, "a+")  # noqa: SIM115 -- held open for the run's lifetime
    try:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        file.seek(0)
        owner = file.read().strip()[:40] or "unknown"
        file.close()
        raise RunFolderBusy(
            f"the run folder {out} is in use by another minivae process (pid {owner}): two "
            "runs must not write into one folder at once; wait for it to end, or choose "
            "another --out"
        ) from None
    file.seek(0)
    file.truncate()
    file.write(f"{os.getpid()}\n")
    file.flush()
    lock = RunLock(path, file)
    _HELD[key] = lock
    return lock
