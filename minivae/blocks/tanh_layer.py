"""A hidden layer h = tanh(u W + b): the affine op then the tanh op, as a forward/backward pair
(Zhao et al.'s heads use it: attribute_fc1, meta_fc1, bow_fc1)."""

from __future__ import annotations

from minivae import ops


def tanh_layer_forward(u, W, b):
    """tanh(u W + b).  u: (N, D), W: (D, D'), b: (D',) -> h (N, D'), cache"""
    a, c_aff = ops.affine_forward(u, W, b)
    h, c_tanh = ops.tanh_forward(a)
    return h, (c_aff, c_tanh)


def tanh_layer_backward(dh, cache):
    """dh: (N, D') -> du (N, D), dW, db"""
    c_aff, c_tanh = cache
    return ops.affine_backward(ops.tanh_backward(dh, c_tanh), c_aff)
