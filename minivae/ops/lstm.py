"""The LSTM cell and its unrolled sequence, forward and backward by hand.

Gate order along the 4H axis is input, forget, cell candidate (g), output: the
layout of PyTorch and cuDNN, so weights can be compared and exchanged.

    a = x Wx + h Wh + b,   i, f, o = sigma(a_i, a_f, a_o),   g = tanh(a_g)
    c' = f * c + i * g,    h' = o * tanh(c')
"""

from __future__ import annotations

from minivae.backend import get_array_module
from minivae.ops.activations import sigmoid
from minivae.ops.checks import (
    check_float,
    check_kernel,
    check_mask,
    check_ndim,
    check_rnn_weights,
    check_shape,
    fused_kernels_installed,
    has_fused_kernel,
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


def select_pointwise(kernel, xp, dtype=None):
    """The pointwise pair an LSTM runs with -> (forward, backward, name).

    kernel: "array" (the readable functions above), "fused" (one Numba kernel per direction:
    CPU for NumPy, CUDA for CuPy; float32 and float64; an error where unavailable) or "auto"
    (the fused kernel where one can run for arrays of ``dtype``, else the array version).
    """
    check_kernel(kernel)
    auto = kernel == "auto" and fused_kernels_installed()
    if kernel == "fused" or (auto and (dtype is None or has_fused_kernel(dtype))):
        from kernels import fused_lstm_pointwise

        fused = fused_lstm_pointwise(xp)
        if fused is not None:
            return fused
        if kernel == "fused":
            raise RuntimeError(f"no fused LSTM kernel can run on {xp.__name__} arrays here")
    return lstm_pointwise_forward, lstm_pointwise_backward, "array"


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
    forward, backward, _ = select_pointwise(kernel, get_array_module(x), x.dtype)
    a = x @ Wx + prev_h @ Wh + b
    next_h, next_c, gates, tanh_c = forward(a, prev_c)
    return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, backward, gates, tanh_c)


def lstm_step_backward(dnext_h, dnext_c, cache):
    """dnext_h, dnext_c: (N, H)  ->  dx, dprev_h, dprev_c, dWx, dWh, db"""
    x, prev_h, prev_c, Wx, Wh, backward, gates, tanh_c = cache
    da, dprev_c = backward(dnext_h, dnext_c, prev_c, gates, tanh_c)
    return da @ Wx.T, da @ Wh.T, dprev_c, x.T @ da, prev_h.T @ da, da.sum(axis=0)


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
    forward, backward, name = select_pointwise(kernel, xp, x.dtype)
    fused = name != "array"  # the fused kernels write into given buffers (out=)
    if mask is not None and bool(mask.all()):
        mask = None  # nothing to carry over: skip the per-step selects
    # Inside, arrays are time-major (T, N, .), as in cuDNN: each step reads and writes
    # contiguous (N, .) blocks, the layout BLAS and the fused kernels are fastest on.
    x_tm = x.transpose(1, 0, 2).reshape(T * N, D)
    # The input projection of every step in one matrix product; only h Wh stays in the loop.
    a_all = (x_tm @ Wx).reshape(T, N, 4 * H)
    a_all += b
    # States with the initial one first: step t reads h_all[t], c_all[t], writes [t + 1].
    h_all = xp.empty((T + 1, N, H), dtype=x.dtype)
    c_all = xp.empty((T + 1, N, H), dtype=x.dtype)
    h_all[0] = h0
    c_all[0] = 0.0 if c0 is None else c0
    gates_all = xp.empty((T, N, 4 * H), dtype=x.dtype)
    tanh_c_all = xp.empty((T, N, H), dtype=x.dtype)
    for t in range(T):
        a = a_all[t]
        a += h_all[t] @ Wh
        if fused:  # the kernel writes into this step's slots of the buffers
            forward(a, c_all[t], out=(h_all[t + 1], c_all[t + 1], gates_all[t], tanh_c_all[t]))
        else:
            h_all[t + 1], c_all[t + 1], gates_all[t], tanh_c_all[t] = forward(a, c_all[t])
        if mask is not None:
            m = mask[:, t, None]
            h_all[t + 1] = xp.where(m, h_all[t + 1], h_all[t])
            c_all[t + 1] = xp.where(m, c_all[t + 1], c_all[t])
    cache = (
        x_tm,
        Wx,
        Wh,
        mask,
        h_all,
        c_all,
        gates_all,
        tanh_c_all,
        c0 is not None,
        backward,
        fused,
    )
    return h_all[1:].transpose(1, 0, 2), cache  # (N, T, H), a view of the time-major states


def lstm_backward(dh, cache):
    """Backpropagation through time.

    dh: (N, T, H) upstream gradient of every hidden state
    -> dx (N, T, D), dh0 (N, H), dWx, dWh, db (and dc0 (N, H) when c0 was given)
    """
    x_tm, Wx, Wh, mask, h_all, c_all, gates_all, tanh_c_all, has_c0, backward, fused = cache
    xp = get_array_module(dh)
    T, N, H = tanh_c_all.shape
    D = Wx.shape[0]
    check_shape("dh", dh, (N, T, H), "(N, T, H)")
    da_all = xp.empty((T, N, 4 * H), dtype=dh.dtype)
    dnext_h = xp.zeros((N, H), dtype=dh.dtype)
    dnext_c = xp.zeros((N, H), dtype=dh.dtype)
    for t in reversed(range(T)):
        dnext_h = dnext_h + dh[:, t]
        saved = (dnext_h, dnext_c, c_all[t], gates_all[t], tanh_c_all[t])
        da = da_all[t]  # this step's gate gradients, kept for the weight gradients below
        if fused:  # the kernel writes da in place
            _, dprev_c = backward(*saved, out=(da, xp.empty_like(dnext_c)))
        else:
            da[...], dprev_c = backward(*saved)
        if mask is not None:
            # A padded step passed the state through: its gradient flows straight back,
            # and the step's own gates get nothing.
            m = mask[:, t, None]
            da *= m
            dprev_c = xp.where(m, dprev_c, dnext_c)
            dprev_h = xp.where(m, (Wh @ da.T).T, dnext_h)
        else:
            # dprev_h = da Wh^T, computed as (Wh da^T)^T: BLAS runs this small product
            # 1.6x faster with the long 4H axis as the inner dimension of both operands.
            dprev_h = (Wh @ da.T).T
        dnext_h, dnext_c = dprev_h, dprev_c
    # Weight gradients summed over all steps at once: one large product beats T small ones.
    da_flat = da_all.reshape(T * N, 4 * H)
    dx = xp.ascontiguousarray((da_flat @ Wx.T).reshape(T, N, D).transpose(1, 0, 2))
    dWx = x_tm.T @ da_flat
    dWh = h_all[:-1].reshape(T * N, H).T @ da_flat  # the state each step read
    db = da_flat.sum(axis=0)
    grads = (dx, dnext_h, dWx, dWh, db)
    return grads + (dnext_c,) if has_c0 else grads
