"""Affine layer: out = x W + b, applied over the last axis."""

from minivae.backend import get_array_module
from minivae.ops.validate import check_float, check_shape


def affine_forward(x, W, b):
    """x: (..., D), W: (D, M), b: (M,)  ->  out: (..., M), cache"""
    check_float("x", x)
    if W.ndim != 2 or x.shape[-1:] != W.shape[:1]:
        raise ValueError(f"affine: x (..., D) and W (D, M) disagree: x {x.shape}, W {W.shape}")
    check_shape("b", b, (W.shape[1],), "(M,)")
    # One 2-D product: NumPy's stacked (3-D @ 2-D) matmul can miss BLAS and be 100x slower.
    D, M = W.shape
    out = x.reshape(-1, D) @ W
    out += b  # in place: out can be tens of MB (the logits), a second copy costs a sweep
    return out.reshape(*x.shape[:-1], M), (x, W)


def affine_backward(dout, cache):
    """dout: (..., M)  ->  dx: (..., D), dW: (D, M), db: (M,)"""
    x, W = cache
    D, M = W.shape
    dout2 = dout.reshape(-1, M)
    dx = (dout2 @ W.T).reshape(x.shape)
    dW = x.reshape(-1, D).T @ dout2
    # The column sums as a product with ones: BLAS's matrix-vector kernel reads (R, M) once
    # on every core, about 3x faster than sum(axis=0) for the (N*T, V) logits' gradient.
    db = get_array_module(dout).ones(dout2.shape[0], dtype=dout.dtype) @ dout2
    return dx, dW, db
