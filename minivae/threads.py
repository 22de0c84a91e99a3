"""The one thread policy every ``minivae`` command runs under.

On a small machine, thread pools fight: OpenBLAS's threads spin after each matrix product
while a Numba kernel or another process wants the core (seen on 2 cores: ``cvae train``
186 s against 32 s, a benchmark step 466 against 237 ms). So every command runs NumPy's
matrix products on ``--threads`` BLAS threads (default 1, the fastest for this package's
models on 2 cores), and the fused Numba kernels on the calling thread (their
``parallel=True`` variants are only used by ``minivae bench kernels``, which says so).
"""

from __future__ import annotations

import os
from contextlib import contextmanager

DEFAULT_THREADS = 1


def default_threads() -> int:
    """$MINIVAE_THREADS, or 1."""
    value = os.environ.get("MINIVAE_THREADS", "")
    return int(value) if value.isdigit() and int(value) > 0 else DEFAULT_THREADS


@contextmanager
def thread_policy(threads: int | None = None):
    """Run the body with BLAS (and OpenMP) limited to ``threads`` threads."""
    from threadpoolctl import threadpool_limits

    threads = threads or default_threads()
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    with threadpool_limits(limits=threads):
        yield threads
