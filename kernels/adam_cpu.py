"""Adam's update fused into one parallel pass (Numba), for NumPy parameters.

The array version in ``minivae.training.optim`` reads and writes each model-sized array
about a dozen times per step; this loop touches p, g, m and v once each. It runs on one
thread on purpose: right after the matrix products, BLAS threads still spin on the cores,
and a parallel loop fighting them was slower than this one.
"""

import math

from numba import njit


@njit(fastmath=True, cache=True)
def adam_update(p, g, m, v, lr_t, beta1, beta2, eps):
    """In place, on flat contiguous arrays of one dtype:
    m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2;  p <- p - lr_t m / (sqrt(v) + eps)
    """
    one_minus_b1 = 1.0 - beta1
    one_minus_b2 = 1.0 - beta2
    for i in range(p.size):
        gi = g[i]
        mi = beta1 * m[i] + one_minus_b1 * gi
        vi = beta2 * v[i] + one_minus_b2 * gi * gi
        m[i] = mi
        v[i] = vi
        p[i] -= lr_t * mi / (math.sqrt(vi) + eps)
