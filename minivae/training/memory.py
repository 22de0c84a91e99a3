"""The process's peak memory, printed with every epoch and by the benchmarks."""

from __future__ import annotations

import sys


def peak_memory_mb() -> float:
    """The process's peak resident memory so far, in MB (0 where it cannot be read).

    Linux's VmHWM first: ``ru_maxrss`` also counts the parent's memory at the fork of a
    process started by another (a benchmark's child reported its parent's 983 MB)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource
    except ImportError:  # not on Unix
        return 0.0
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    return kb / 1024 if sys.platform != "darwin" else kb / 2**20
