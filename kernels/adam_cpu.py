"""Adam's update fused into one parallel pass (Numba), for NumPy parameters.

The array version in ``minivae.training.optim`` reads and writes each model-sized array
about a dozen times per step; this loop touches p, g, m and v once each, on every core.
Measured on a 2-core CPU for a PTB-sized model (5.6M parameters): 3 ms against 13 ms alone,
but no faster inside a whole training step, where its threads meet BLAS's (a serial
version was slower still). So ``Adam(fused=True)`` opts in; the default is the array update.
"""

import math

from numba import njit, prange


@njit(parallel=True, fastmath=True, cache=True)
def adam_update(p, g, m, v, lr_t, beta1, beta2, eps):
    """In place, on flat contiguous arrays of one dtype:
    m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2;  p <- p - lr_t m / (sqrt(v) + eps)
    """
    one_minus_b1 = 1.0 - beta1
    one_minus_b2 = 1.0 - beta2
    for i in prange(p.size):
        gi = g[i]
        mi = beta1 * m[i] + one_minus_b1 * gi
        vi = beta2 * v[i] + one_minus_b2 * gi * gi
        m[i] = mi
        v[i] = vi
        p[i] -= lr_t * mi / (math.sqrt(vi) + eps)
