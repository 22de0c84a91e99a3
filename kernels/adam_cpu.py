"""Adam's update fused into one pass (Numba), for NumPy parameters.

The array version in ``minivae.training.optim`` reads and writes each model-sized array
about a dozen times per step; this loop touches p, g, m and v once each. Measured on a
2-core CPU for a PTB-sized model (6.2M parameters): 5.6 ms serial, 3.1 ms on two threads,
13 ms for the array update. Inside a training step the serial loop is the one to use:
BLAS's threads busy-wait between products, and a second thread pool fights them for the
cores (see kernels/lstm_cpu.py).
"""

import math

from numba import njit, prange

# Fused multiply-add and the sign of zero only: no reassociation, so the result is the
# array update's up to rounding. error_model="numpy": no zero test before the division,
# which would keep LLVM from vectorizing the loop.
KERNEL_OPTIONS = dict(fastmath={"nsz", "contract"}, error_model="numpy")


@njit(inline="always", **KERNEL_OPTIONS)
def _update(p, g, m, v, i, lr_t, beta1, beta2, eps):
    gi = g[i]
    mi = beta1 * m[i] + (1 - beta1) * gi
    vi = beta2 * v[i] + (1 - beta2) * gi * gi
    m[i] = mi
    v[i] = vi
    p[i] -= lr_t * mi / (math.sqrt(vi) + eps)


@njit(cache=True, **KERNEL_OPTIONS)
def _adam_serial(p, g, m, v, lr_t, beta1, beta2, eps):
    for i in range(p.size):
        _update(p, g, m, v, i, lr_t, beta1, beta2, eps)


@njit(parallel=True, cache=True, **KERNEL_OPTIONS)
def _adam_parallel(p, g, m, v, lr_t, beta1, beta2, eps):
    for i in prange(p.size):
        _update(p, g, m, v, i, lr_t, beta1, beta2, eps)


def adam_update(p, g, m, v, lr_t, beta1, beta2, eps, parallel=False):
    """In place, on flat contiguous arrays of one dtype (scalars of that dtype too):
    m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2;  p <- p - lr_t m / (sqrt(v) + eps)
    """
    (_adam_parallel if parallel else _adam_serial)(p, g, m, v, lr_t, beta1, beta2, eps)
