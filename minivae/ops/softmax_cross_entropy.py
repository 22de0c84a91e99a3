"""Softmax cross-entropy over a vocabulary, summed over real tokens, per sentence.

loss = -(1/N) sum_{n,t: mask} log softmax(logits[n, t])[targets[n, t]]
dloss/dlogits = (softmax - onehot) * mask / N
"""

from minivae.backend import get_array_module
from minivae.ops.checks import (
    check_float,
    check_int,
    check_kernel,
    check_mask,
    check_ndim,
    check_shape,
    has_fused_kernel,
)


def log_softmax(logits):
    """log softmax over the last axis, through log-sum-exp so +-1e4 logits stay finite.

    log p_v = (l_v - m) - log sum_u exp(l_u - m),  m = max_u l_u
    """
    xp = get_array_module(logits)
    logp = logits - logits.max(axis=-1, keepdims=True)
    logp -= xp.log(xp.exp(logp).sum(axis=-1, keepdims=True))
    return logp


def exp_shifted_sum(logits, row_max, kernel="auto"):
    """logits: (R, V), row_max: (R,)  ->  exps = exp(logits - row_max) (R, V), their sum (R,)

    kernel: "array" (below), "fused" (one Numba pass, kernels/softmax_cpu.py; NumPy only)
    or "auto" (fused for NumPy float32/float64, else array).
    """
    check_kernel(kernel)
    xp = get_array_module(logits)
    fused_ok = xp.__name__ == "numpy" and has_fused_kernel(logits.dtype)
    if kernel == "fused" and not fused_ok:
        raise RuntimeError(f"no fused softmax kernel for {xp.__name__} {logits.dtype} arrays")
    if kernel != "array" and fused_ok:
        from kernels.softmax_cpu import exp_shifted_sum as fused

        return fused(logits, row_max)
    exps = logits - row_max[:, None]
    xp.exp(exps, out=exps)
    return exps, exps.sum(axis=-1)


def softmax_cross_entropy_forward(logits, targets, mask=None, kernel="auto"):
    """logits: (N, T, V), targets: (N, T) int, mask: (N, T) bool or None (all real),
    kernel: how the exponentials are computed (see ``exp_shifted_sum``)
    -> loss (a scalar: nats per sentence), cache
    """
    check_ndim("logits", logits, 3, "(N, T, V)")
    check_float("logits", logits)
    N, T, V = logits.shape
    check_shape("targets", targets, (N, T), "(N, T)")
    check_int("targets", targets)
    mask = check_mask("mask", mask, (N, T))
    xp = get_array_module(logits)
    if targets.size and (int(targets.min()) < 0 or int(targets.max()) >= V):
        raise ValueError(
            f"targets must lie in [0, V={V}), got values in "
            f"[{int(targets.min())}, {int(targets.max())}]"
        )
    # Only the targets' log-probabilities are needed, so the full log softmax is never built:
    # log p[target] = (l[target] - m) - log sum exp(l - m). The cache keeps exp(l - m) and
    # its sum: the backward divides as it scales, which saves a sweep over (N, T, V).
    flat = logits.reshape(N * T, V)
    row_max = flat.max(axis=-1)
    exps, total = exp_shifted_sum(flat, row_max, kernel)
    picked = flat[xp.arange(N * T), targets.reshape(-1)] - row_max - xp.log(total)
    exps, total, picked = exps.reshape(N, T, V), total.reshape(N, T), picked.reshape(N, T)
    weight = xp.ones((N, T), dtype=logits.dtype) if mask is None else mask.astype(logits.dtype)
    loss = -(picked * weight).sum() / N
    return loss, (exps, total, targets, weight)


def softmax_cross_entropy_backward(dloss, cache):
    """dloss: scalar  ->  dlogits: (N, T, V)"""
    exps, total, targets, weight = cache
    xp = get_array_module(exps)
    N, T, V = exps.shape
    scale = weight * (dloss / N)  # (N, T): padding gets no gradient
    dlogits = exps * (scale / total)[..., None]  # softmax = exps / total ...
    dlogits.reshape(N * T, V)[xp.arange(N * T), targets.reshape(-1)] -= scale.reshape(-1)
    return dlogits  # ... minus onehot, both scaled
