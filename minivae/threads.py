"""The one thread policy every ``minivae`` command runs under.

On a small machine, thread pools fight: OpenBLAS's threads spin after each matrix product
while a Numba kernel or another process wants the core (seen on 2 cores: ``cvae train``
186 s against 32 s, a benchmark step 466 against 237 ms). So every command runs NumPy's
matrix products on ``--threads`` BLAS threads (default 1, the fastest for this package's
models on 2 cores), and the fused Numba kernels on the calling thread (their
``parallel=True`` variants are only used by ``minivae bench kernels``, which says so).

Work that splits into independent pieces (the batches of an evaluation) uses the threads
itself instead: ``parallel_map`` runs the pieces on ``count()`` threads with BLAS on one
thread each, so there is never more than one busy thread per allowed core.
"""

from __future__ import annotations

import os
from contextlib import contextmanager, nullcontext

DEFAULT_THREADS = 1


def _blas_limits(threads: int):
    """threadpoolctl's limit on BLAS (and OpenMP) threads. A student's copy of an
    assignment runs with NumPy alone (its README's setup line adds threadpoolctl): without
    threadpoolctl, BLAS keeps its own thread count: a matter of speed, not of correctness."""
    try:
        from threadpoolctl import threadpool_limits
    except ModuleNotFoundError:
        return nullcontext()
    return threadpool_limits(limits=threads)


def default_threads() -> int:
    """$MINIVAE_THREADS, or 1."""
    value = os.environ.get("MINIVAE_THREADS", "")
    return int(value) if value.isdigit() and int(value) > 0 else DEFAULT_THREADS


_active = [None]  # the count of the thread_policy in force, if any


def count() -> int:
    """The threads the current policy allows (outside one: $MINIVAE_THREADS, or 1)."""
    return _active[-1] or default_threads()


@contextmanager
def thread_policy(threads: int | None = None):
    """Run the body with BLAS (and OpenMP) limited to ``threads`` threads."""
    threads = threads or default_threads()
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    with _blas_limits(threads):
        _active.append(threads)
        try:
            yield threads
        finally:
            _active.pop()


def parallel_map(fn, items, threads: int | None = None):
    """``map(fn, items)`` on ``threads`` threads (default ``count()``), results in order.

    Each thread's BLAS runs on one thread meanwhile. NumPy's and the fused kernels' loops
    release the GIL, so independent pieces of array work run side by side.
    """
    threads = threads or count()
    if threads == 1:
        yield from map(fn, items)
        return
    from concurrent.futures import ThreadPoolExecutor

    with _blas_limits(1), ThreadPoolExecutor(threads) as pool:
        yield from pool.map(fn, items)
