"""A hidden layer h = tanh(u W + b): the affine op then the tanh op, as a forward/backward pair
(the prior network's hidden layer, z -> the decoder's first state, Zhao et al.'s heads:
attribute_fc1, meta_fc1, bow_fc1)."""

from __future__ import annotations

from minivae import ops


def tanh_layer_forward(u, W, b):
    """tanh(u W + b).  u: (N, D) or (N, T, D), W: (D, D'), b: (D',) -> h (N, D') or (N, T, D'),
    cache"""
    a, c_aff = ops.affine_forward(u, W, b)
    h, c_tanh = ops.tanh_forward(a)
    return h, (c_aff, c_tanh)


def tanh_layer_backward(dh, cache):
    """dh: (N, D') or (N, T, D') -> du (like u), dW, db"""
    c_aff, c_tanh = cache
    return ops.affine_backward(ops.tanh_backward(dh, c_tanh), c_aff)
