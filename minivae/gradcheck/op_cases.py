"""Small float64 inputs for every op: the cases ``minivae gradcheck`` and the tests check."""

from __future__ import annotations

from functools import partial

import numpy as np

from minivae import ops
from minivae.gradcheck.core import DEFAULT_TOL, check_op, not_implemented_row


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
    step_inputs = {
        "x": randn(N, D),
        "prev_h": randn(N, H),
        "prev_c": randn(N, H),
        "Wx": randn(D, 4 * H, scale=0.5),
        "Wh": randn(H, 4 * H, scale=0.5),
        "b": randn(4 * H),
    }
    # "auto" runs the fused Numba cell where this package has it; the array cell (the
    # readable lstm_pointwise_*, what a student writes) gets its own rows.
    yield "lstm_step", ops.lstm_step_forward, ops.lstm_step_backward, step_inputs, None
    array_step = partial(ops.lstm_step_forward, kernel="array")
    yield "lstm_step (array cell)", array_step, ops.lstm_step_backward, step_inputs, None
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
    for label, kernel, eps in (
        ("", "auto", 0.0),
        (" (array exp)", "array", 0.0),
        (" (label smoothing 0.1)", "auto", 0.1),
    ):
        yield (
            "softmax_cross_entropy" + label,
            partial(ops.softmax_cross_entropy_forward, kernel=kernel, smoothing=eps),
            ops.softmax_cross_entropy_backward,
            ce_inputs,
            None,
        )
    yield from attention_cases(randn, mask, N, H)
    yield from translation_cases(randn, rng, xp)
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
    # Batch means on both sides of the floor 0.5, away from the kink at the floor itself.
    kl = xp.asarray(np.array([[0.05, 0.9, 2.0], [0.1, 1.2, 3.1], [0.2, 0.7, 2.5]]))
    yield (
        "free_bits",
        partial(ops.free_bits_forward, free_bits=0.5),
        ops.free_bits_backward,
        {"kl": kl},
        None,
    )
    # The same values per sentence on both sides of the threshold 0.5 (Li et al.), away
    # from the kink at the threshold itself.
    yield (
        "kl_threshold",
        partial(ops.kl_threshold_forward, threshold=0.5),
        ops.kl_threshold_backward,
        {"kl": kl},
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
    C, P = 4, 5
    yield (
        "prior_kl",
        prior_kl_forward,
        prior_kl_backward,
        {
            "c": randn(N, C),
            "W": randn(C, P, scale=0.5),
            "b": randn(P, scale=0.1),
            "W_mu": randn(P, Z, scale=0.5),
            "b_mu": randn(Z, scale=0.1),
            "W_lv": randn(P, Z, scale=0.5),
            "b_lv": randn(Z, scale=0.1),
            "mu": randn(N, Z),
            "logvar": randn(N, Z, scale=0.5),
        },
        None,
    )
    # Dropout with a fixed keep-mask (a drawn one would change between the evaluations of
    # the finite differences): one unit per entry, and one shared over time (N, 1, D).
    for label, keep_shape in (("", (N, T, D)), (" (mask shared over T)", (N, 1, D))):
        keep = xp.asarray(rng.random(keep_shape) >= 0.3)
        yield (
            "dropout" + label,
            ops.dropout_forward,
            ops.dropout_backward,
            {"x": randn(N, T, D), "p": 0.3, "rng": None, "mask": keep},
            None,
        )
    decay_params = {"W": randn(D, H), "b": randn(H), "embed": randn(V, D)}
    yield (
        "l2_penalty",
        *l2_penalty_on_arrays(list(decay_params), lam=0.7),
        decay_params,
        None,
    )


def prior_kl_forward(c, W, b, W_mu, b_mu, W_lv, b_lv, mu, logvar):
    """KL(N(mu, e^logvar) || p(z|c)) with p(z|c) from the conditional VAE's prior network:
    the KL's gradient with respect to the prior, carried back through the network.
    -> kl (N,), cache"""
    from minivae.blocks.latent import prior_net_forward

    prior_mu, prior_logvar, c_prior = prior_net_forward(c, W, b, W_mu, b_mu, W_lv, b_lv)
    kl, c_kl = ops.gaussian_kl_forward(mu, logvar, prior_mu, prior_logvar)
    return kl, (c_prior, c_kl)


def prior_kl_backward(dkl, cache):
    """-> dc, dW, db, dW_mu, db_mu, dW_lv, db_lv, dmu, dlogvar"""
    from minivae.blocks.latent import prior_net_backward

    c_prior, c_kl = cache
    dmu, dlogvar, dprior_mu, dprior_logvar = ops.gaussian_kl_backward(dkl, c_kl)
    return (*prior_net_backward(dprior_mu, dprior_logvar, c_prior), dmu, dlogvar)


def l2_penalty_on_arrays(names: list, lam: float, decay=None):
    """``l2_penalty`` with its parameters as positional arrays, as ``check_op`` calls ops.

    -> forward(*arrays) -> (penalty, cache), backward(dpenalty, cache) -> one gradient per
    name, zero for the names not decayed (so the check also sees that they get none).
    """

    def forward(*arrays):
        params = dict(zip(names, arrays))
        penalty, cache = ops.l2_penalty_forward(params, lam, decay)
        return penalty, (cache, params)

    def backward(dpenalty, cache):
        cache, params = cache
        grads = ops.l2_penalty_backward(dpenalty, cache)
        return tuple(grads.get(n, 0 * params[n]) for n in names)

    return forward, backward


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


def translation_cases(randn, rng, xp):
    """The translation model's two unrolled pieces on well-scaled inputs (in the whole model's
    check, tiny random weights leave the attention nearly uniform and its weights' gradients
    near the rounding noise): the bidirectional encoder over a padded batch (the reversal
    within length), and the attention decoder's recurrence, additive and bilinear."""
    from minivae.translation.decoder import recurrence_backward, recurrence_forward
    from minivae.translation.encoder import (
        bidirectional_encoder_backward,
        bidirectional_encoder_forward,
    )

    N, S, T, E, Hs, H, A, Z, V = 3, 5, 4, 3, 2, 4, 3, 2, 6
    K = 2 * Hs
    lengths = xp.asarray([S, 2, 1])
    src = xp.asarray(rng.integers(0, V, size=(N, S)))
    enc_names = ["src_embed"] + [f"src_{d}_{w}" for d in ("fwd", "bwd") for w in ("Wx", "Wh", "b")]

    def encoder_forward(src, lengths, *arrays):
        params = dict(zip(enc_names, arrays))
        keys, summary, _, cache = bidirectional_encoder_forward(params, src, lengths)
        return keys, summary, cache

    def encoder_backward(dkeys, dsummary, cache):
        grads: dict = {}
        bidirectional_encoder_backward(dkeys, dsummary, cache, grads)
        return tuple(grads[n] for n in enc_names)

    shapes = [(V, E)] + [(E, 4 * Hs), (Hs, 4 * Hs), (4 * Hs,)] * 2
    arrays = {n: randn(*shape, scale=0.7) for n, shape in zip(enc_names, shapes)}
    yield (
        "bidirectional_encoder (padded)",
        encoder_forward,
        encoder_backward,
        {"src": src, "lengths": lengths, **arrays},
        enc_names,
    )
    keys_mask = xp.arange(S)[None, :] < lengths[:, None]
    for kind, att in (
        ("additive", {"att_Wq": randn(H, A), "att_v": randn(A)}),
        ("bilinear", {"att_W": randn(H, K, scale=0.7)}),
    ):
        names = ["dec_Wx", "dec_Wh", "dec_b", *att]

        def decoder_forward(emb, z, h0, keys, keys_proj, mask, *arrays, _kind=kind, _n=names):
            params = dict(zip(_n, arrays))
            h, contexts, _, cache = recurrence_forward(
                params, _kind, (emb, z, h0), (keys, keys_proj, mask)
            )
            return h, contexts, cache

        def decoder_backward(dh, dcontexts, cache, _n=names):
            grads: dict = {}
            demb, dz, dh0, dkeys, dkeys_proj = recurrence_backward(dh, dcontexts, cache, grads)
            proj = (dkeys_proj,) if dkeys_proj.shape[2] else ()  # bilinear: no projection
            return (demb, dz, dh0, dkeys, *proj, *(grads[n] for n in _n))

        inputs = {
            "emb": randn(N, T, E),
            "z": randn(N, Z),
            "h0": randn(N, H, scale=0.5),
            "keys": randn(N, S, K),
            "keys_proj": randn(N, S, A if kind == "additive" else 0),
            "mask": keys_mask,
            "dec_Wx": randn(E + K + Z, 4 * H, scale=0.5),
            "dec_Wh": randn(H, 4 * H, scale=0.5),
            "dec_b": randn(4 * H),
            **att,
        }
        wrt = ["emb", "z", "h0", "keys", *(["keys_proj"] if kind == "additive" else []), *names]
        yield f"attention_decoder ({kind}, masked)", decoder_forward, decoder_backward, inputs, wrt


def check_all_ops(seed: int = 0, xp=np, tol: float | None = None):
    """Run ``check_op`` on every case; return the rows of the table. An op whose code
    raises NotImplementedError (a student's copy) gets a "not implemented" row."""
    rows = []
    for name, fwd, bwd, inputs, wrt in op_cases(seed, xp):
        try:
            rows += check_op(fwd, bwd, inputs, wrt=wrt, name=name, tol=tol or DEFAULT_TOL)
        except NotImplementedError as e:
            rows.append(not_implemented_row(name, e))
    return rows
