"""Timing helpers: warm up, repeat, report the median."""

from __future__ import annotations

import statistics
import time


def median_time(fn, repeats: int = 10, warmup: int = 2, sync=None) -> float:
    """Median wall time of ``fn()`` in seconds; ``sync()`` (e.g. a GPU synchronize) is
    called before each clock read so asynchronous work is counted."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        if sync:
            sync()
        start = time.perf_counter()
        fn()
        if sync:
            sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
