"""Softmax cross-entropy over a vocabulary, summed over real tokens, per sentence.

loss = -(1/N) sum_{n,t: mask} log softmax(logits[n, t])[targets[n, t]]
dloss/dlogits = (softmax - onehot) * mask / N
"""

from minivae.backend import get_array_module
from minivae.ops.checks import check_float, check_int, check_mask, check_ndim, check_shape


def log_softmax(logits):
    """log softmax over the last axis, through log-sum-exp so +-1e4 logits stay finite.

    log p_v = (l_v - m) - log sum_u exp(l_u - m),  m = max_u l_u
    """
    xp = get_array_module(logits)
    logp = logits - logits.max(axis=-1, keepdims=True)
    logp -= xp.log(xp.exp(logp).sum(axis=-1, keepdims=True))
    return logp


def softmax_cross_entropy_forward(logits, targets, mask=None):
    """logits: (N, T, V), targets: (N, T) int, mask: (N, T) bool or None (all real)
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
    # log p[target] = (l[target] - m) - log sum exp(l - m), and the cache keeps softmax(l).
    probs = logits - logits.max(axis=-1, keepdims=True)
    rows = xp.arange(N * T)
    picked = probs.reshape(N * T, V)[rows, targets.reshape(-1)].reshape(N, T)
    xp.exp(probs, out=probs)
    total = probs.sum(axis=-1, keepdims=True)
    picked = picked - xp.log(total[..., 0])
    probs /= total
    weight = xp.ones((N, T), dtype=logits.dtype) if mask is None else mask.astype(logits.dtype)
    loss = -(picked * weight).sum() / N
    return loss, (probs, targets, weight)


def softmax_cross_entropy_backward(dloss, cache):
    """dloss: scalar  ->  dlogits: (N, T, V)"""
    probs, targets, weight = cache
    xp = get_array_module(probs)
    N, T, V = probs.shape
    scale = weight * (dloss / N)  # (N, T): padding gets no gradient
    dlogits = probs * scale[..., None]  # softmax ...
    dlogits.reshape(N * T, V)[xp.arange(N * T), targets.reshape(-1)] -= scale.reshape(-1)
    return dlogits  # ... minus onehot, both scaled
