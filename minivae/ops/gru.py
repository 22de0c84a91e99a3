"""The GRU cell and its unrolled sequence, with PyTorch's equations and gate layout.

Gate order along the 3H axis is reset, update, new:

    r = sigma(x Wx_r + bx_r + h Wh_r + bh_r),   u = sigma(x Wx_u + bx_u + h Wh_u + bh_u)
    n = tanh(x Wx_n + bx_n + r * (h Wh_n + bh_n)),   h' = (1 - u) * n + u * h
"""

from __future__ import annotations

from minivae.backend import get_array_module
from minivae.ops.activations import sigmoid
from minivae.ops.validate import (
    check_float,
    check_mask,
    check_ndim,
    check_rnn_weights,
    check_shape,
)


def _gru_pointwise_forward(ax, ah, prev_h):
    """ax = x Wx + bx, ah = h Wh + bh: (N, 3H)  ->  next_h (N, H), (r, u, n)"""
    H = prev_h.shape[1]
    r = sigmoid(ax[:, :H] + ah[:, :H])
    u = sigmoid(ax[:, H : 2 * H] + ah[:, H : 2 * H])
    xp = get_array_module(ax)
    n = xp.tanh(ax[:, 2 * H :] + r * ah[:, 2 * H :])
    return (1.0 - u) * n + u * prev_h, (r, u, n)


def _gru_pointwise_backward(dnext_h, prev_h, ah, gates):
    """-> dax (N, 3H) (gradient of x Wx + bx), dah (N, 3H) (of h Wh + bh), dprev_h direct part"""
    xp = get_array_module(dnext_h)
    r, u, n = gates
    H = prev_h.shape[1]
    dan = dnext_h * (1.0 - u) * (1.0 - n * n)
    dau = dnext_h * (prev_h - n) * u * (1.0 - u)
    dar = dan * ah[:, 2 * H :] * r * (1.0 - r)
    dax = xp.concatenate([dar, dau, dan], axis=1)
    dah = xp.concatenate([dar, dau, dan * r], axis=1)
    return dax, dah, dnext_h * u


def _check_gru(D, Wx, Wh, bx, bh):
    H = check_rnn_weights(D, Wx, Wh, bx, gates=3)
    check_shape("bh", bh, (3 * H,), "(3H,)")
    return H


def gru_step_forward(x, prev_h, Wx, Wh, bx, bh):
    """One GRU step.

    x: (N, D), prev_h: (N, H), Wx: (D, 3H), Wh: (H, 3H), bx: (3H,), bh: (3H,)
    -> next_h: (N, H), cache
    """
    check_ndim("x", x, 2, "(N, D)")
    check_float("x", x)
    N, D = x.shape
    H = _check_gru(D, Wx, Wh, bx, bh)
    check_shape("prev_h", prev_h, (N, H), "(N, H)")
    ah = prev_h @ Wh + bh
    next_h, gates = _gru_pointwise_forward(x @ Wx + bx, ah, prev_h)
    return next_h, (x, prev_h, Wx, Wh, ah, gates)


def gru_step_backward(dnext_h, cache):
    """dnext_h: (N, H)  ->  dx, dprev_h, dWx, dWh, dbx, dbh"""
    x, prev_h, Wx, Wh, ah, gates = cache
    dax, dah, dprev_h = _gru_pointwise_backward(dnext_h, prev_h, ah, gates)
    dprev_h = dprev_h + dah @ Wh.T
    return dax @ Wx.T, dprev_h, x.T @ dax, prev_h.T @ dah, dax.sum(axis=0), dah.sum(axis=0)


def gru_forward(x, h0, Wx, Wh, bx, bh, mask=None):
    """Run a GRU over a whole sequence.

    x: (N, T, D), h0: (N, H), mask: (N, T) bool or None  ->  h: (N, T, H), cache
    At a padded step the state is carried over unchanged.
    """
    check_ndim("x", x, 3, "(N, T, D)")
    check_float("x", x)
    N, T, D = x.shape
    H = _check_gru(D, Wx, Wh, bx, bh)
    check_shape("h0", h0, (N, H), "(N, H)")
    mask = check_mask("mask", mask, (N, T))
    xp = get_array_module(x)
    # The input projection of every step in one matrix product; only h Wh stays in the loop.
    ax_all = (x.reshape(N * T, D) @ Wx).reshape(N, T, 3 * H) + bx
    h_all = xp.empty((N, T, H), dtype=x.dtype)
    ah_all = xp.empty((N, T, 3 * H), dtype=x.dtype)
    gates_all = []
    h = h0
    for t in range(T):
        ah_all[:, t] = h @ Wh + bh
        next_h, gates = _gru_pointwise_forward(ax_all[:, t], ah_all[:, t], h)
        gates_all.append(gates)
        if mask is not None:
            next_h = xp.where(mask[:, t, None], next_h, h)
        h = next_h
        h_all[:, t] = h
    return h_all, (x, Wx, Wh, mask, h0, h_all, ah_all, gates_all)


def gru_backward(dh, cache):
    """dh: (N, T, H)  ->  dx (N, T, D), dh0 (N, H), dWx, dWh, dbx, dbh"""
    x, Wx, Wh, mask, h0, h_all, ah_all, gates_all = cache
    xp = get_array_module(dh)
    N, T, D = x.shape
    H = Wh.shape[0]
    check_shape("dh", dh, (N, T, H), "(N, T, H)")
    prev_h_all = xp.concatenate([h0[:, None, :], h_all[:, :-1]], axis=1)
    dax_all = xp.empty((N, T, 3 * H), dtype=dh.dtype)
    dah_all = xp.empty((N, T, 3 * H), dtype=dh.dtype)
    dnext_h = xp.zeros((N, H), dtype=dh.dtype)
    for t in reversed(range(T)):
        dnext_h = dnext_h + dh[:, t]
        dax, dah, dprev_h = _gru_pointwise_backward(
            dnext_h, prev_h_all[:, t], ah_all[:, t], gates_all[t]
        )
        if mask is not None:
            # A padded step passed the state through: its gradient flows straight back.
            m = mask[:, t, None]
            dax, dah = dax * m, dah * m
            dprev_h = xp.where(m, dprev_h, dnext_h)
        dax_all[:, t], dah_all[:, t] = dax, dah
        dnext_h = dprev_h + dah @ Wh.T
    # Weight gradients summed over all steps at once: one large product beats T small ones.
    dax_flat = dax_all.reshape(N * T, 3 * H)
    dah_flat = dah_all.reshape(N * T, 3 * H)
    dx = (dax_flat @ Wx.T).reshape(N, T, D)
    dWx = x.reshape(N * T, D).T @ dax_flat
    dWh = prev_h_all.reshape(N * T, H).T @ dah_flat
    return dx, dnext_h, dWx, dWh, dax_flat.sum(axis=0), dah_flat.sum(axis=0)
