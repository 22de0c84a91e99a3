"""Attention over a masked set of encoder states: additive (Bahdanau) and bilinear (Luong).

    e_s = v . tanh(q Wq + k_s Wk),   w = softmax of e over the real positions,   c = sum_s w_s k_s

A decoder attends at every step to the same keys, so the additive op also comes split in two:
``attention_keys_forward`` projects the keys once per sentence (k_s Wk), and
``additive_attention_step_forward`` scores one query against them. ``additive_attention_*``
is the two composed. Padded positions (mask False) get exactly zero weight, so nothing flows
back to their keys; every row needs at least one real position.
"""

from __future__ import annotations

from minivae.backend import get_array_module
from minivae.ops.validate import check_float, check_mask, check_ndim, check_shape


def check_query_keys(query, keys) -> None:
    """Validate query (N, H) and keys (N, S, K)."""
    check_ndim("query", query, 2, "(N, H)")
    check_float("query", query)
    check_ndim("keys", keys, 3, "(N, S, K)")
    check_float("keys", keys)
    if query.shape[0] != keys.shape[0]:
        raise ValueError(f"query must have shape (N={keys.shape[0]}, H), got {query.shape}")


def check_attention_mask(mask, shape: tuple):
    """Validate a (N, S) mask of real positions, each row with at least one; return it as bool."""
    mask = check_mask("mask", mask, shape, "(N, S)")
    if mask is not None:
        empty = ~mask.any(axis=1)
        if bool(empty.any()):
            row = int(get_array_module(mask).argmax(empty))
            raise ValueError(f"mask: row {row} has no real position (True); attention needs one")
    return mask


def attend_forward(scores, keys, mask):
    """Weights from scores over the real positions, and the weighted sum of the keys.

    scores: (N, S), keys: (N, S, K), mask: (N, S) bool or None (all real)
    -> context (N, K), weights (N, S) (exactly 0 where mask is False), cache
    """
    check_ndim("keys", keys, 3, "(N, S, K)")
    check_shape("scores", scores, keys.shape[:2], "(N, S)")
    mask = check_attention_mask(mask, keys.shape[:2])
    xp = get_array_module(scores)
    if mask is not None:
        scores = xp.where(mask, scores, -xp.inf)  # exp(-inf) = 0: padding gets no weight
    weights = xp.exp(scores - scores.max(axis=1, keepdims=True))
    weights /= weights.sum(axis=1, keepdims=True)
    context = (weights[:, None, :] @ keys)[:, 0]
    return context, weights, (weights, keys)


def attend_backward(dcontext, dweights, cache):
    """dcontext: (N, K), dweights: (N, S) or None  ->  dscores (N, S), dkeys (N, S, K)"""
    weights, keys = cache
    N, S, K = keys.shape
    check_shape("dcontext", dcontext, (N, K), "(N, K)")
    dkeys = weights[:, :, None] * dcontext[:, None, :]
    dw = (keys @ dcontext[:, :, None])[:, :, 0]
    if dweights is not None:
        check_shape("dweights", dweights, (N, S), "(N, S)")
        dw = dw + dweights
    # Softmax: dscores_s = w_s (dw_s - sum_u w_u dw_u); zero wherever w is zero.
    dscores = weights * (dw - (weights * dw).sum(axis=1, keepdims=True))
    return dscores, dkeys


def attention_keys_forward(keys, Wk):
    """The keys' projection, once per sentence.

    keys: (N, S, K), Wk: (K, A)  ->  keys_proj (N, S, A) = keys Wk, cache
    """
    check_ndim("keys", keys, 3, "(N, S, K)")
    check_float("keys", keys)
    N, S, K = keys.shape
    check_ndim("Wk", Wk, 2, "(K, A)")
    if Wk.shape[0] != K:
        raise ValueError(f"Wk must have shape (K={K}, A), got {Wk.shape}")
    keys_proj = (keys.reshape(N * S, K) @ Wk).reshape(N, S, Wk.shape[1])
    return keys_proj, (keys, Wk)


def attention_keys_backward(dkeys_proj, cache):
    """dkeys_proj: (N, S, A)  ->  dkeys (N, S, K), dWk (K, A)"""
    keys, Wk = cache
    N, S, K = keys.shape
    A = Wk.shape[1]
    check_shape("dkeys_proj", dkeys_proj, (N, S, A), "(N, S, A)")
    d2 = dkeys_proj.reshape(N * S, A)
    return (d2 @ Wk.T).reshape(N, S, K), keys.reshape(N * S, K).T @ d2


def additive_attention_step_forward(query, keys, keys_proj, mask, Wq, v):
    """One query against keys projected beforehand (a decoder step).

    query: (N, H), keys: (N, S, K), keys_proj: (N, S, A) = keys Wk, mask: (N, S) bool or None,
    Wq: (H, A), v: (A,)  ->  context (N, K), weights (N, S), cache
    """
    check_query_keys(query, keys)
    N, S, _ = keys.shape
    check_ndim("keys_proj", keys_proj, 3, "(N, S, A)")
    A = keys_proj.shape[2]
    check_shape("keys_proj", keys_proj, (N, S, A), "(N, S, A)")
    check_shape("Wq", Wq, (query.shape[1], A), "(H, A)")
    check_shape("v", v, (A,), "(A,)")
    hidden = get_array_module(query).tanh(keys_proj + (query @ Wq)[:, None, :])  # (N, S, A)
    context, weights, attend_cache = attend_forward(hidden @ v, keys, mask)
    return context, weights, (query, Wq, v, hidden, attend_cache)


def additive_attention_step_backward(dcontext, dweights, cache):
    """dcontext: (N, K), dweights: (N, S) or None
    -> dquery (N, H), dkeys (N, S, K) (through the context only), dkeys_proj (N, S, A),
    dWq (H, A), dv (A,)
    """
    query, Wq, v, hidden, attend_cache = cache
    dscores, dkeys = attend_backward(dcontext, dweights, attend_cache)
    A = v.shape[0]
    dv = hidden.reshape(-1, A).T @ dscores.reshape(-1)
    dkeys_proj = dscores[:, :, None] * v * (1.0 - hidden * hidden)  # through tanh
    dquery_proj = dkeys_proj.sum(axis=1)  # the query's projection was added at every s
    return dquery_proj @ Wq.T, dkeys, dkeys_proj, query.T @ dquery_proj, dv


def additive_attention_forward(query, keys, mask, Wq, Wk, v):
    """Additive attention: the keys' projection and one step, composed.

    query: (N, H), keys: (N, S, K), mask: (N, S) bool or None, Wq: (H, A), Wk: (K, A), v: (A,)
    -> context (N, K), weights (N, S), cache
    """
    keys_proj, keys_cache = attention_keys_forward(keys, Wk)
    context, weights, step_cache = additive_attention_step_forward(
        query, keys, keys_proj, mask, Wq, v
    )
    return context, weights, (keys_cache, step_cache)


def additive_attention_backward(dcontext, dweights, cache):
    """dcontext: (N, K), dweights: (N, S) or None  ->  dquery, dkeys, dWq, dWk, dv"""
    keys_cache, step_cache = cache
    dquery, dkeys, dkeys_proj, dWq, dv = additive_attention_step_backward(
        dcontext, dweights, step_cache
    )
    dkeys_from_proj, dWk = attention_keys_backward(dkeys_proj, keys_cache)
    return dquery, dkeys + dkeys_from_proj, dWq, dWk, dv


def bilinear_attention_forward(query, keys, mask, W):
    """Multiplicative (Luong "general") attention: e_s = q W k_s.

    query: (N, H), keys: (N, S, K), mask: (N, S) bool or None, W: (H, K)
    -> context (N, K), weights (N, S), cache
    """
    check_query_keys(query, keys)
    check_shape("W", W, (query.shape[1], keys.shape[2]), "(H, K)")
    query_proj = query @ W  # (N, K)
    scores = (keys @ query_proj[:, :, None])[:, :, 0]
    context, weights, attend_cache = attend_forward(scores, keys, mask)
    return context, weights, (query, keys, W, query_proj, attend_cache)


def bilinear_attention_backward(dcontext, dweights, cache):
    """dcontext: (N, K), dweights: (N, S) or None  ->  dquery (N, H), dkeys (N, S, K), dW (H, K)"""
    query, keys, W, query_proj, attend_cache = cache
    dscores, dkeys = attend_backward(dcontext, dweights, attend_cache)
    dkeys = dkeys + dscores[:, :, None] * query_proj[:, None, :]
    dquery_proj = (dscores[:, None, :] @ keys)[:, 0]
    return dquery_proj @ W.T, dkeys, query.T @ dquery_proj
