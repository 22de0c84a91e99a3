"""Affine layer: out = x W + b, applied over the last axis."""

from minivae.ops.checks import check_float, check_shape


def affine_forward(x, W, b):
    """x: (..., D), W: (D, M), b: (M,)  ->  out: (..., M), cache"""
    check_float("x", x)
    if W.ndim != 2 or x.shape[-1:] != W.shape[:1]:
        raise ValueError(f"affine: x (..., D) and W (D, M) disagree: x {x.shape}, W {W.shape}")
    check_shape("b", b, (W.shape[1],), "(M,)")
    return x @ W + b, (x, W)


def affine_backward(dout, cache):
    """dout: (..., M)  ->  dx: (..., D), dW: (D, M), db: (M,)"""
    x, W = cache
    D, M = W.shape
    dx = dout @ W.T
    dW = x.reshape(-1, D).T @ dout.reshape(-1, M)
    db = dout.reshape(-1, M).sum(axis=0)
    return dx, dW, db
