"""The LSTM cell and its unrolled sequence, forward and backward by hand.

Gate order along the 4H axis is input, forget, cell candidate (g), output: the
layout of PyTorch and cuDNN, so weights can be compared and exchanged.

    a = x Wx + h Wh + b,   i, f, o = sigma(a_i, a_f, a_o),   g = tanh(a_g)
    c' = f * c + i * g,    h' = o * tanh(c')
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from minivae.backend import get_array_module
from minivae.ops.activations import sigmoid
from minivae.ops.fused import fused_lstm_pointwise, has_fused_kernel
from minivae.ops.validate import (
    check_float,
    check_kernel,
    check_mask,
    check_ndim,
    check_rnn_weights,
    check_shape,
)


def lstm_pointwise_forward(a, prev_c):
    """The cell's pointwise work, given the gate pre-activations.

    a: (N, 4H), prev_c: (N, H)  ->  next_h (N, H), next_c (N, H),
    gates (N, 4H) = [i, f, g, o] after their nonlinearities, tanh_c (N, H)
    """
    xp = get_array_module(a)
    H = prev_c.shape[1]
    gates = xp.empty_like(a)
    gates[:, : 2 * H] = sigmoid(a[:, : 2 * H])
    gates[:, 2 * H : 3 * H] = xp.tanh(a[:, 2 * H : 3 * H])
    gates[:, 3 * H :] = sigmoid(a[:, 3 * H :])
    i, f, g, o = (gates[:, k * H : (k + 1) * H] for k in range(4))
    next_c = f * prev_c + i * g
    tanh_c = xp.tanh(next_c)
    return o * tanh_c, next_c, gates, tanh_c


def lstm_pointwise_backward(dnext_h, dnext_c, prev_c, gates, tanh_c):
    """Gradients of the pointwise work: -> da (N, 4H), dprev_c (N, H)."""
    xp = get_array_module(gates)
    H = prev_c.shape[1]
    i, f, g, o = (gates[:, k * H : (k + 1) * H] for k in range(4))
    # next_c reaches the loss directly (dnext_c) and through next_h = o * tanh(next_c).
    dc = dnext_c + dnext_h * o * (1.0 - tanh_c * tanh_c)
    da = xp.empty_like(gates)
    da[:, :H] = dc * g * i * (1.0 - i)
    da[:, H : 2 * H] = dc * prev_c * f * (1.0 - f)
    da[:, 2 * H : 3 * H] = dc * i * (1.0 - g * g)
    da[:, 3 * H :] = dnext_h * tanh_c * o * (1.0 - o)
    return da, dc * f


class Pointwise(NamedTuple):
    """The cell's pointwise work as a forward/backward pair, and which implementation."""

    forward: Callable  # (a, prev_c) -> next_h, next_c, gates, tanh_c
    backward: Callable  # (dnext_h, dnext_c, prev_c, gates, tanh_c) -> da, dprev_c
    name: str  # "array", or the fused kernel's name


def select_pointwise(kernel, xp, dtype=None) -> Pointwise:
    """The pointwise pair an LSTM runs with.

    kernel: "array" (the readable functions above), "fused" (one Numba kernel per direction:
    CPU for NumPy, CUDA for CuPy; float32 and float64; an error where unavailable) or "auto"
    (the fused kernel where one can run for arrays of ``dtype``, else the array version).
    """
    check_kernel(kernel)
    if kernel == "fused" or (kernel == "auto" and (dtype is None or has_fused_kernel(dtype))):
        fused = fused_lstm_pointwise(xp)
        if fused is not None:
            return Pointwise(*fused)
        if kernel == "fused":
            raise RuntimeError(f"no fused LSTM kernel can run on {xp.__name__} arrays here")
    return Pointwise(lstm_pointwise_forward, lstm_pointwise_backward, "array")


class LSTMStepCache(NamedTuple):
    x: object  # (N, D)
    prev_h: object  # (N, H)
    prev_c: object  # (N, H)
    Wx: object  # (D, 4H)
    Wh: object  # (H, 4H)
    gates: object  # (N, 4H) i, f, g, o after their nonlinearities
    tanh_c: object  # (N, H)
    cell: Pointwise  # the pointwise pair the forward pass ran with


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b, kernel="auto"):
    """One LSTM step.

    x: (N, D), prev_h: (N, H), prev_c: (N, H), Wx: (D, 4H), Wh: (H, 4H), b: (4H,)
    -> next_h: (N, H), next_c: (N, H), cache
    """
    check_ndim("x", x, 2, "(N, D)")
    check_float("x", x)
    N, D = x.shape
    H = check_rnn_weights(D, Wx, Wh, b, gates=4)
    check_shape("prev_h", prev_h, (N, H), "(N, H)")
    check_shape("prev_c", prev_c, (N, H), "(N, H)")
    cell = select_pointwise(kernel, get_array_module(x), x.dtype)
    a = x @ Wx + prev_h @ Wh + b
    next_h, next_c, gates, tanh_c = cell.forward(a, prev_c)
    return next_h, next_c, LSTMStepCache(x, prev_h, prev_c, Wx, Wh, gates, tanh_c, cell)


def lstm_step_backward(dnext_h, dnext_c, cache):
    """dnext_h, dnext_c: (N, H)  ->  dx, dprev_h, dprev_c, dWx, dWh, db"""
    x, prev_h, prev_c, Wx, Wh, gates, tanh_c, cell = cache
    da, dprev_c = cell.backward(dnext_h, dnext_c, prev_c, gates, tanh_c)
    return da @ Wx.T, da @ Wh.T, dprev_c, x.T @ da, prev_h.T @ da, da.sum(axis=0)


class LSTMCache(NamedTuple):
    """What the backward pass of ``lstm_forward`` needs. Time-major: step t is row t."""

    x: object  # (T * N, D) the inputs, step by step
    Wx: object  # (D, 4H)
    Wh: object  # (H, 4H)
    mask: object  # (N, T) bool, or None when every step is real
    h: object  # (T + 1, N, H) hidden states, the initial one first
    c: object  # (T + 1, N, H) cell states, the initial one first
    gates: object  # (T, N, 4H) i, f, g, o after their nonlinearities
    tanh_c: object  # (T, N, H)
    has_c0: bool  # whether c0 was given (then its gradient is returned)
    cell: Pointwise  # the pointwise pair the forward pass ran with


def lstm_forward(x, h0, Wx, Wh, b, mask=None, c0=None, kernel="auto"):
    """Run an LSTM over a whole sequence.

    x: (N, T, D), h0: (N, H), mask: (N, T) bool or None (True = real token),
    c0: (N, H) or None (zeros), kernel: see ``select_pointwise``  ->  h: (N, T, H), cache

    At a padded step the state is carried over unchanged, so h[:, -1] is each
    sequence's state after its last real token.
    """
    check_ndim("x", x, 3, "(N, T, D)")
    check_float("x", x)
    N, T, D = x.shape
    H = check_rnn_weights(D, Wx, Wh, b, gates=4)
    check_shape("h0", h0, (N, H), "(N, H)")
    mask = check_mask("mask", mask, (N, T))
    xp = get_array_module(x)
    if c0 is not None:
        check_shape("c0", c0, (N, H), "(N, H)")
    cell = select_pointwise(kernel, xp, x.dtype)
    if mask is not None and bool(mask.all()):
        mask = None  # nothing to carry over: skip the per-step selects
    # Inside, arrays are time-major (T, N, .), as in cuDNN: each step reads and writes
    # contiguous (N, .) blocks, the layout BLAS and the fused kernels are fastest on.
    x_tm = x.transpose(1, 0, 2).reshape(T * N, D)
    # The input projection of every step in one matrix product; only h Wh stays in the loop.
    a_all = (x_tm @ Wx).reshape(T, N, 4 * H)
    a_all += b
    # States with the initial one first: step t reads h[t], c[t] and writes h[t + 1], c[t + 1].
    h = xp.empty((T + 1, N, H), dtype=x.dtype)
    c = xp.empty((T + 1, N, H), dtype=x.dtype)
    h[0] = h0
    c[0] = 0.0 if c0 is None else c0
    gates = xp.empty((T, N, 4 * H), dtype=x.dtype)
    tanh_c = xp.empty((T, N, H), dtype=x.dtype)
    for t in range(T):
        a = a_all[t]
        a += h[t] @ Wh
        h[t + 1], c[t + 1], gates[t], tanh_c[t] = cell.forward(a, c[t])
        if mask is not None:
            m = mask[:, t, None]
            h[t + 1] = xp.where(m, h[t + 1], h[t])
            c[t + 1] = xp.where(m, c[t + 1], c[t])
    cache = LSTMCache(x_tm, Wx, Wh, mask, h, c, gates, tanh_c, c0 is not None, cell)
    return h[1:].transpose(1, 0, 2), cache  # (N, T, H), a view of the time-major states


def lstm_backward(dh, cache):
    """Backpropagation through time.

    dh: (N, T, H) upstream gradient of every hidden state
    -> dx (N, T, D), dh0 (N, H), dWx, dWh, db (and dc0 (N, H) when c0 was given)
    """
    xp = get_array_module(dh)
    T, N, H = cache.tanh_c.shape
    D = cache.Wx.shape[0]
    check_shape("dh", dh, (N, T, H), "(N, T, H)")
    Wh, mask = cache.Wh, cache.mask
    da = xp.empty((T, N, 4 * H), dtype=dh.dtype)  # every step's gate gradients, kept for dW
    dnext_h = xp.zeros((N, H), dtype=dh.dtype)
    dnext_c = xp.zeros((N, H), dtype=dh.dtype)
    for t in reversed(range(T)):
        dnext_h = dnext_h + dh[:, t]
        da[t], dprev_c = cache.cell.backward(
            dnext_h, dnext_c, cache.c[t], cache.gates[t], cache.tanh_c[t]
        )
        if mask is not None:
            # A padded step passed the state through: its gradient flows straight back,
            # and the step's own gates get nothing.
            m = mask[:, t, None]
            da[t] *= m
            dprev_c = xp.where(m, dprev_c, dnext_c)
            dprev_h = xp.where(m, (Wh @ da[t].T).T, dnext_h)
        else:
            # dprev_h = da Wh^T, computed as (Wh da^T)^T: BLAS runs this small product
            # 1.6x faster with the long 4H axis as the inner dimension of both operands.
            dprev_h = (Wh @ da[t].T).T
        dnext_h, dnext_c = dprev_h, dprev_c
    # Weight gradients summed over all steps at once: one large product beats T small ones.
    da_flat = da.reshape(T * N, 4 * H)
    dx = xp.ascontiguousarray((da_flat @ cache.Wx.T).reshape(T, N, D).transpose(1, 0, 2))
    dWx = cache.x.T @ da_flat
    dWh = cache.h[:-1].reshape(T * N, H).T @ da_flat  # the state each step read
    db = da_flat.sum(axis=0)
    grads = (dx, dnext_h, dWx, dWh, db)
    return grads + (dnext_c,) if cache.has_c0 else grads
