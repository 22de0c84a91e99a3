"""Small float64 inputs for every op: the cases ``minivae gradcheck`` and the tests check."""

from __future__ import annotations

from functools import partial

import numpy as np

from minivae import ops


def op_cases(seed: int = 0, xp=np):
    """Yield (name, forward, backward, inputs, wrt) for every op, with small random inputs."""
    rng = np.random.default_rng(seed)

    def randn(*shape, scale=1.0):
        return xp.asarray(scale * rng.standard_normal(shape))

    def mask(N, T):
        lengths = rng.integers(1, T + 1, size=N)
        lengths[0] = T  # at least one full row
        return xp.asarray(np.arange(T)[None, :] < lengths[:, None])

    N, T, D, H, V, Z = 3, 4, 5, 6, 7, 3
    tokens = xp.asarray(rng.integers(0, V, size=(N, T)))
    tokens[0, :2] = 2  # a repeated token, so accumulation is exercised
    embedding_inputs = {"tokens": tokens, "W": randn(V, D)}
    for label, kernel in (("", "auto"), (" (array)", "array")):
        forward = partial(ops.embedding_forward, kernel=kernel)
        yield "embedding" + label, forward, ops.embedding_backward, embedding_inputs, ["W"]
    yield (
        "affine",
        ops.affine_forward,
        ops.affine_backward,
        {"x": randn(N, T, D), "W": randn(D, H), "b": randn(H)},
        None,
    )
    yield "tanh", ops.tanh_forward, ops.tanh_backward, {"x": randn(N, D)}, None
    yield (
        "lstm_step",
        ops.lstm_step_forward,
        ops.lstm_step_backward,
        {
            "x": randn(N, D),
            "prev_h": randn(N, H),
            "prev_c": randn(N, H),
            "Wx": randn(D, 4 * H, scale=0.5),
            "Wh": randn(H, 4 * H, scale=0.5),
            "b": randn(4 * H),
        },
        None,
    )
    lstm_inputs = {
        "x": randn(N, T, D),
        "h0": randn(N, H),
        "Wx": randn(D, 4 * H, scale=0.5),
        "Wh": randn(H, 4 * H, scale=0.5),
        "b": randn(4 * H),
        "mask": mask(N, T),
        "c0": randn(N, H),
    }
    # "auto" runs the fused Numba cell on the CPU; the array cell is checked on its own.
    yield "lstm (masked, c0)", ops.lstm_forward, ops.lstm_backward, lstm_inputs, None
    array_lstm = partial(ops.lstm_forward, kernel="array")
    yield "lstm (masked, c0; array cell)", array_lstm, ops.lstm_backward, lstm_inputs, None
    gru_weights = {
        "Wx": randn(D, 3 * H, scale=0.5),
        "Wh": randn(H, 3 * H, scale=0.5),
        "bx": randn(3 * H),
        "bh": randn(3 * H),
    }
    yield (
        "gru_step",
        ops.gru_step_forward,
        ops.gru_step_backward,
        {"x": randn(N, D), "prev_h": randn(N, H), **gru_weights},
        None,
    )
    yield (
        "gru (masked)",
        ops.gru_forward,
        ops.gru_backward,
        {"x": randn(N, T, D), "h0": randn(N, H), **gru_weights, "mask": mask(N, T)},
        None,
    )
    ce_inputs = {"logits": randn(N, T, V, scale=2.0), "targets": tokens, "mask": mask(N, T)}
    for label, kernel in (("", "auto"), (" (array exp)", "array")):
        yield (
            "softmax_cross_entropy" + label,
            partial(ops.softmax_cross_entropy_forward, kernel=kernel),
            ops.softmax_cross_entropy_backward,
            ce_inputs,
            None,
        )
    yield from attention_cases(randn, mask, N, H)
    yield (
        "reparameterize",
        ops.reparameterize_forward,
        ops.reparameterize_backward,
        {"mu": randn(N, Z), "logvar": randn(N, Z), "eps": randn(N, Z)},
        ["mu", "logvar"],
    )
    yield (
        "gaussian_kl",
        ops.gaussian_kl_forward,
        ops.gaussian_kl_backward,
        {"mu": randn(N, Z), "logvar": randn(N, Z)},
        None,
    )
    yield (
        "gaussian_kl (prior)",
        ops.gaussian_kl_forward,
        ops.gaussian_kl_backward,
        {
            "mu": randn(N, Z),
            "logvar": randn(N, Z),
            "prior_mu": randn(N, Z),
            "prior_logvar": randn(N, Z),
        },
        None,
    )


def attention_cases(randn, mask, N: int, H: int):
    """The attention ops, over S = 5 keys of size K = 4 with padding (some rows have one key)."""
    S, K, A = 5, 4, 3
    query, keys, keys_mask = randn(N, H), randn(N, S, K), mask(N, S)
    additive = {"Wq": randn(H, A, scale=0.5), "Wk": randn(K, A, scale=0.5), "v": randn(A)}
    yield (
        "attend (masked)",
        ops.attend_forward,
        ops.attend_backward,
        {"scores": randn(N, S, scale=2.0), "keys": keys, "mask": keys_mask},
        None,
    )
    yield (
        "attention_keys",
        ops.attention_keys_forward,
        ops.attention_keys_backward,
        {"keys": keys, "Wk": additive["Wk"]},
        None,
    )
    yield (
        "additive_attention (masked)",
        ops.additive_attention_forward,
        ops.additive_attention_backward,
        {"query": query, "keys": keys, "mask": keys_mask, **additive},
        None,
    )
    yield (
        "additive_attention_step (masked)",
        ops.additive_attention_step_forward,
        ops.additive_attention_step_backward,
        {
            "query": query,
            "keys": keys,
            "keys_proj": randn(N, S, A),
            "mask": keys_mask,
            "Wq": additive["Wq"],
            "v": additive["v"],
        },
        None,
    )
    yield (
        "bilinear_attention (masked)",
        ops.bilinear_attention_forward,
        ops.bilinear_attention_backward,
        {"query": query, "keys": keys, "mask": keys_mask, "W": randn(H, K, scale=0.5)},
        None,
    )


def check_all_ops(seed: int = 0, xp=np, tol: float | None = None):
    """Run ``check_op`` on every case; return the rows of the table. An op that raises
    NotImplementedError (a blank in a student's copy) is one "not implemented" row."""
    from minivae.gradcheck import DEFAULT_TOL, check_op, not_implemented

    rows = []
    for name, fwd, bwd, inputs, wrt in op_cases(seed, xp):
        try:
            rows += check_op(fwd, bwd, inputs, wrt=wrt, name=name, tol=tol or DEFAULT_TOL)
        except NotImplementedError:
            rows.append(not_implemented(name))
    return rows
