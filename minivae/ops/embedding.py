"""Word embedding: a table lookup, out[n, t] = W[tokens[n, t]]."""

import numpy

from minivae.backend import get_array_module
from minivae.ops.fused import fused_scatter_add_rows, has_fused_kernel
from minivae.ops.validate import (
    check_float,
    check_int,
    check_kernel,
    check_ndim,
)


def embedding_forward(tokens, W, kernel="auto"):
    """Look up one row of ``W`` per token.

    tokens: (N, T) int in [0, V);  W: (V, D)  ->  out: (N, T, D), cache
    kernel: how the backward adds rows up on the CPU: "fused" (a Numba loop,
    kernels/embedding_cpu.py), "array" (sorting, below) or "auto" (fused for NumPy).
    """
    check_kernel(kernel)
    check_ndim("tokens", tokens, 2, "(N, T)")
    check_int("tokens", tokens)
    check_ndim("W", W, 2, "(V, D)")
    check_float("W", W)
    V = W.shape[0]
    if tokens.size and (int(tokens.min()) < 0 or int(tokens.max()) >= V):
        raise ValueError(
            f"tokens must lie in [0, V={V}), got values in "
            f"[{int(tokens.min())}, {int(tokens.max())}]"
        )
    return W[tokens], (tokens, W.shape, kernel)


def embedding_backward(dout, cache, dW=None):
    """dW[v] = sum of dout[n, t] over the positions where tokens[n, t] == v.

    dout: (N, T, D)  ->  dW: (V, D).  Given ``dW`` (a table shared with another lookup),
    the gradient is added into it instead of into a new zero array.
    """
    tokens, W_shape, kernel = cache
    xp = get_array_module(dout)
    if dW is None:
        dW = xp.zeros(W_shape, dtype=dout.dtype)
    ids, rows = tokens.reshape(-1), dout.reshape(-1, W_shape[1])
    if xp is not numpy:
        import cupyx  # noqa: PLC0415  (only reached with CuPy arrays)

        cupyx.scatter_add(dW, ids, rows)  # an atomic scatter-add on the GPU
        return dW
    fused = fused_scatter_add_rows(xp) if kernel != "array" else None
    if fused and dW.flags.c_contiguous and dW.dtype == rows.dtype and has_fused_kernel(dW.dtype):
        fused(dW, ids, rows)
        return dW
    # Repeated tokens must add up (plain dW[ids] = rows would keep one). NumPy's add.at does
    # that row by row, slowly; sorting the ids and summing each run of equal ids is ~10x faster.
    order = numpy.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    starts = numpy.flatnonzero(numpy.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
    dW[sorted_ids[starts]] += numpy.add.reduceat(rows[order], starts, axis=0)
    return dW
