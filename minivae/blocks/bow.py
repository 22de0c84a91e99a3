"""The bag-of-words loss (Zhao et al. 2017): every word of x predicted from the code at once,
which makes the code carry the words and keeps the KL from collapsing."""

from __future__ import annotations

from minivae import ops
from minivae.backend import get_array_module
from minivae.blocks.tanh_layer import tanh_layer_backward, tanh_layer_forward


def bow_forward(params, u, tokens, mask, kernel: str = "auto"):
    """-(1/N) sum_n sum_t log softmax(h_n W + b)[x_nt]: every word of x from the code at once;
    h = tanh(u bow_fc_W + bow_fc_b) when the head has that hidden layer (Zhao et al.'s
    released code: bow_fc1, 400 units), else h = u.

    Written as the sequence cross-entropy op with the same logits at every position.
    u: (N, Z + C), tokens, mask: (N, T)  ->  loss (scalar), cache
    """
    xp = get_array_module(u)
    c_fc = None
    if "bow_fc_W" in params:
        u, c_fc = tanh_layer_forward(u, params["bow_fc_W"], params["bow_fc_b"])
    logits, c_aff = ops.affine_forward(u, params["bow_W"], params["bow_b"])
    N, T = tokens.shape
    tiled = xp.broadcast_to(logits[:, None, :], (N, T, logits.shape[1]))
    loss, c_ce = ops.softmax_cross_entropy_forward(tiled, tokens, mask, kernel)
    return loss, (c_fc, c_aff, c_ce)


def bow_backward(dloss, cache, grads: dict):
    """-> du (N, Z + C); the head's gradients (bow_W, bow_b, bow_fc_*) go into ``grads``."""
    c_fc, c_aff, c_ce = cache
    dlogits = ops.softmax_cross_entropy_backward(dloss, c_ce).sum(axis=1)  # tiled: add up
    du, grads["bow_W"], grads["bow_b"] = ops.affine_backward(dlogits, c_aff)
    if c_fc is not None:
        du, grads["bow_fc_W"], grads["bow_fc_b"] = tanh_layer_backward(du, c_fc)
    return du
