"""Test-session setup, run before any test module imports NumPy."""

import os

# The suite's arrays are small: BLAS threads only add contention on a shared 2-core machine
# (seen: a test 10x slower with two threads spinning against another process).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
