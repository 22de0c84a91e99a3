"""The LSTM cell's pointwise work fused into one pass per direction, for NumPy arrays (Numba).

Same signatures and results as ``minivae.ops.lstm.lstm_pointwise_forward/backward``, which
stay the readable reference. The matrix products stay outside, in BLAS.

    i, f, o = sigma(a_i, a_f, a_o),  g = tanh(a_g),  c' = f c + i g,  h' = o tanh(c')
"""

import numpy as np
from numba import njit, prange

from kernels.vector_math import FASTMATH, sigmoid, tanh


@njit(parallel=True, cache=True, fastmath=FASTMATH, error_model="numpy")
def _forward(a, prev_c, next_h, next_c, gates, tanh_c):
    N, H = prev_c.shape
    for n in prange(N):
        for j in range(H):
            i = sigmoid(a[n, j])
            f = sigmoid(a[n, H + j])
            g = tanh(a[n, 2 * H + j])
            o = sigmoid(a[n, 3 * H + j])
            c = f * prev_c[n, j] + i * g
            t = tanh(c)
            gates[n, j] = i
            gates[n, H + j] = f
            gates[n, 2 * H + j] = g
            gates[n, 3 * H + j] = o
            next_c[n, j] = c
            tanh_c[n, j] = t
            next_h[n, j] = o * t


@njit(parallel=True, cache=True, fastmath=FASTMATH, error_model="numpy")
def _backward(dnext_h, dnext_c, prev_c, gates, tanh_c, da, dprev_c):
    N, H = prev_c.shape
    for n in prange(N):
        for j in range(H):
            i = gates[n, j]
            f = gates[n, H + j]
            g = gates[n, 2 * H + j]
            o = gates[n, 3 * H + j]
            t = tanh_c[n, j]
            dh = dnext_h[n, j]
            dc = dnext_c[n, j] + dh * o * (1.0 - t * t)
            da[n, j] = dc * g * i * (1.0 - i)
            da[n, H + j] = dc * prev_c[n, j] * f * (1.0 - f)
            da[n, 2 * H + j] = dc * i * (1.0 - g * g)
            da[n, 3 * H + j] = dh * t * o * (1.0 - o)
            dprev_c[n, j] = dc * f


def lstm_pointwise_forward_cpu(a, prev_c):
    """a: (N, 4H), prev_c: (N, H)  ->  next_h, next_c, gates (N, 4H), tanh_c"""
    a, prev_c = np.ascontiguousarray(a), np.ascontiguousarray(prev_c)
    N, H = prev_c.shape
    next_h, next_c, tanh_c = (np.empty((N, H), dtype=a.dtype) for _ in range(3))
    gates = np.empty_like(a)
    _forward(a, prev_c, next_h, next_c, gates, tanh_c)
    return next_h, next_c, gates, tanh_c


def lstm_pointwise_backward_cpu(dnext_h, dnext_c, prev_c, gates, tanh_c):
    """-> da (N, 4H), dprev_c (N, H)"""
    args = [np.ascontiguousarray(x) for x in (dnext_h, dnext_c, prev_c, gates, tanh_c)]
    da = np.empty_like(args[3])
    dprev_c = np.empty_like(args[2])
    _backward(*args, da, dprev_c)
    return da, dprev_c
