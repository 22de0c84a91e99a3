"""Softmax cross-entropy over a vocabulary, summed over real tokens, per sentence.

loss = -(1/N) sum_{n,t: mask} log softmax(logits[n, t])[targets[n, t]]
dloss/dlogits = (softmax - onehot) * mask / N

With label smoothing eps (Szegedy et al. 2016) the target is (1 - eps) onehot + eps / V:
loss = -(1/N) sum_{n,t: mask} [(1 - eps) log p[target] + eps mean_v log p_v],
dloss/dlogits = (softmax - (1 - eps) onehot - eps / V) * mask / N
"""

from minivae.backend import get_array_module
from minivae.ops.fused import fused_exp_shifted_sum, fused_exp_shifted_total, has_fused_kernel
from minivae.ops.validate import (
    check_float,
    check_int,
    check_kernel,
    check_mask,
    check_ndim,
    check_shape,
)


def _shift_by_max(a, axis):
    """-> a - m, m  with m = max along ``axis`` (kept as an axis): exp(a - m) <= 1 never
    overflows. An all -inf (or inf) row is not shifted: its sum says what it is."""
    xp = get_array_module(a)
    m = a.max(axis=axis, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0.0)
    return a - m, m


def logsumexp(a, axis=-1):
    """log sum_i exp(a_i) = m + log sum_i exp(a_i - m),  m = max_i a_i  (+-1e4 stays finite)"""
    xp = get_array_module(a)
    shifted, m = _shift_by_max(a, axis)
    return (m + xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))).squeeze(axis)


def log_softmax(logits):
    """log softmax over the last axis: log p_v = (l_v - m) - log sum_u exp(l_u - m).

    Subtracting the shifted values (rather than l_v - logsumexp(l)) keeps log p of the
    largest logit exact: 0 - log sum, with no large m added and taken away.
    """
    xp = get_array_module(logits)
    shifted, _ = _shift_by_max(logits, -1)
    return shifted - xp.log(xp.exp(shifted).sum(axis=-1, keepdims=True))


def exp_shifted_sum(logits, row_max, kernel="auto", keep=True):
    """logits: (R, V), row_max: (R,)  ->  exps = exp(logits - row_max) (R, V), their sum (R,)

    kernel: "array" (below), "fused" (one Numba pass, kernels/softmax_cpu.py; NumPy only)
    or "auto" (fused for NumPy float32/float64, else array).
    keep: False when only the sums are wanted (scoring): exps is then None, and the fused
    pass writes no exponentials.
    """
    check_kernel(kernel)
    xp = get_array_module(logits)
    getter = fused_exp_shifted_sum if keep else fused_exp_shifted_total
    fused = getter(xp) if has_fused_kernel(logits.dtype) else None
    if kernel == "fused" and fused is None:
        raise RuntimeError(f"no fused softmax kernel for {xp.__name__} {logits.dtype} arrays")
    if kernel != "array" and fused is not None:
        return fused(logits, row_max) if keep else (None, fused(logits, row_max))
    exps = logits - row_max[:, None]
    xp.exp(exps, out=exps)
    return (exps if keep else None), exps.sum(axis=-1)


def _check_logits_targets(logits, targets):
    check_ndim("logits", logits, 3, "(N, T, V)")
    check_float("logits", logits)
    N, T, V = logits.shape
    check_shape("targets", targets, (N, T), "(N, T)")
    check_int("targets", targets)
    if targets.size and (int(targets.min()) < 0 or int(targets.max()) >= V):
        raise ValueError(
            f"targets must lie in [0, V={V}), got values in "
            f"[{int(targets.min())}, {int(targets.max())}]"
        )


def _target_log_probs(logits, targets, kernel, keep=True):
    """-> log softmax(logits)[targets] (N, T), with exp(l - m) (N, T, V; None unless
    ``keep``), its sums (N, T) and the log normalizer m + log sum (N, T).

    Only the targets' log-probabilities are needed, so the full log softmax is never built:
    log p[target] = (l[target] - m) - log sum exp(l - m),  m = max l.
    """
    xp = get_array_module(logits)
    N, T, V = logits.shape
    flat = logits.reshape(N * T, V)
    row_max = flat.max(axis=-1)
    exps, total = exp_shifted_sum(flat, row_max, kernel, keep)
    log_total = xp.log(total)
    picked = flat[xp.arange(N * T), targets.reshape(-1)] - row_max - log_total
    return (
        picked.reshape(N, T),
        exps if exps is None else exps.reshape(N, T, V),
        total.reshape(N, T),
        (row_max + log_total).reshape(N, T),
    )


def target_log_probs(logits, targets, kernel="auto"):
    """log p(target) under softmax(logits), for scoring (no backward).
    logits: (N, T, V), targets: (N, T) int  ->  (N, T)"""
    _check_logits_targets(logits, targets)
    return _target_log_probs(logits, targets, kernel, keep=False)[0]


# Scoring forms the logits this many bytes at a time: a block stays in the last-level cache
# (32 MB here) between the product that writes it and the passes that read it. Measured
# (V=10000, one thread): 100 GFLOP/s for blocks of 256-1024 rows, 68 for 7,040 rows at once.
SCORE_BLOCK_BYTES = 16 * 2**20


def affine_target_log_probs(h, W, b, targets, kernel="auto"):
    """log softmax(h W + b)[target] of each row, for scoring (no backward).

    h: (R, H), W: (H, V), b: (V,), targets: (R,) int  ->  (R,)

    The (R, V) logits are never whole: they are formed a block of rows at a time
    (``SCORE_BLOCK_BYTES``), each scored by ``target_log_probs``.
    """
    check_ndim("h", h, 2, "(R, H)")
    check_float("h", h)
    if W.ndim != 2 or W.shape[0] != h.shape[1]:
        raise ValueError(f"h (R, H) and W (H, V) disagree: h {h.shape}, W {W.shape}")
    check_shape("b", b, W.shape[1:], "(V,)")
    check_shape("targets", targets, h.shape[:1], "(R,)")
    xp = get_array_module(h)
    (R, H), V = h.shape, W.shape[1]
    block = min(R, max(1, SCORE_BLOCK_BYTES // (V * h.dtype.itemsize)))
    # The bias rides in the product, as a last row of W under a column of ones: a sweep over
    # the block fewer, and a product with H + 1 columns costs what one with H did (measured).
    Wb = xp.concatenate([W, b[None]]).astype(h.dtype, copy=False)
    hb = xp.ones((block, H + 1), dtype=h.dtype)
    logits = xp.empty((block, V), dtype=h.dtype)
    out = xp.empty(R, dtype=h.dtype)
    for start in range(0, R, block):
        n = min(block, R - start)
        hb[:n, :H] = h[start : start + n]
        xp.matmul(hb[:n], Wb, out=logits[:n])
        out[start : start + n] = target_log_probs(
            logits[None, :n], targets[None, start : start + n], kernel
        )[0]
    return out


def softmax_cross_entropy_forward(logits, targets, mask=None, kernel="auto", smoothing=0.0):
    """logits: (N, T, V), targets: (N, T) int, mask: (N, T) bool or None (all real),
    kernel: how the exponentials are computed (see ``exp_shifted_sum``),
    smoothing: label smoothing eps in [0, 1) (0: the plain cross-entropy)
    -> loss (a scalar: nats per sentence), cache
    """
    _check_logits_targets(logits, targets)
    if not 0 <= smoothing < 1:
        raise ValueError(f"label smoothing must be in [0, 1), got {smoothing}")
    N, T, V = logits.shape
    mask = check_mask("mask", mask, (N, T))
    xp = get_array_module(logits)
    # The cache keeps exp(l - m) and its sum: the backward divides as it scales, which saves
    # a sweep over (N, T, V).
    picked, exps, total, log_norm = _target_log_probs(logits, targets, kernel)
    log_q = picked  # sum_v q_v log p_v for the target distribution q
    if smoothing:  # mean_v log p_v = mean_v l_v - (m + log sum)
        mean_log_p = logits.mean(axis=-1) - log_norm
        log_q = (1 - smoothing) * picked + smoothing * mean_log_p
    weight = xp.ones((N, T), dtype=logits.dtype) if mask is None else mask.astype(logits.dtype)
    loss = -(log_q * weight).sum() / N
    return loss, (exps, total, targets, weight, smoothing)


def softmax_cross_entropy_backward(dloss, cache):
    """dloss: scalar  ->  dlogits: (N, T, V)"""
    exps, total, targets, weight, smoothing = cache
    xp = get_array_module(exps)
    N, T, V = exps.shape
    scale = weight * (dloss / N)  # (N, T): padding gets no gradient
    dlogits = exps * (scale / total)[..., None]  # softmax = exps / total ...
    at_target = (1 - smoothing) * scale.reshape(-1)
    dlogits.reshape(N * T, V)[xp.arange(N * T), targets.reshape(-1)] -= at_target
    if smoothing:
        dlogits -= (smoothing / V) * scale[..., None]
    return dlogits  # ... minus the target distribution, both scaled
