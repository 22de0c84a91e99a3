"""The attention ops beyond their gradients: the equations, masking, the split form, bad input."""

import numpy as np
import pytest

from minivae import ops

rng = np.random.default_rng(0)
N, S, H, K, A = 3, 5, 4, 6, 3


def randn(*shape):
    return rng.standard_normal(shape)


def padded_mask():
    """Row 0 full, row 1 a single real position, row 2 the first three."""
    return np.arange(S)[None, :] < np.array([S, 1, 3])[:, None]


def additive_params():
    return randn(H, A), randn(K, A), randn(A)


def test_additive_attention_is_the_equation_written_out():
    query, keys, mask = randn(N, H), randn(N, S, K), padded_mask()
    Wq, Wk, v = additive_params()
    context, weights, _ = ops.additive_attention_forward(query, keys, mask, Wq, Wk, v)
    for n in range(N):
        real = np.flatnonzero(mask[n])
        scores = np.array([v @ np.tanh(query[n] @ Wq + keys[n, s] @ Wk) for s in real])
        w = np.exp(scores - scores.max())
        w /= w.sum()
        np.testing.assert_allclose(weights[n, real], w, rtol=1e-12)
        np.testing.assert_allclose(context[n], w @ keys[n, real], rtol=1e-12, atol=1e-14)
    assert np.all(weights[~mask] == 0.0), "padded positions must get exactly zero weight"


def test_bilinear_scores_are_q_W_k():
    query, keys, W = randn(N, H), randn(N, S, K), randn(H, K)
    context, weights, _ = ops.bilinear_attention_forward(query, keys, None, W)
    scores = np.einsum("nh,hk,nsk->ns", query, W, keys)
    expected = np.exp(scores - scores.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(weights, expected, rtol=1e-12)
    np.testing.assert_allclose(context, np.einsum("ns,nsk->nk", expected, keys), rtol=1e-12)


@pytest.mark.parametrize("op", ["additive", "bilinear"])
def test_padded_keys_change_nothing_and_get_no_gradient(op):
    query, keys, mask = randn(N, H), randn(N, S, K), padded_mask()
    params = additive_params() if op == "additive" else (randn(H, K),)
    forward = getattr(ops, f"{op}_attention_forward")
    backward = getattr(ops, f"{op}_attention_backward")
    context, weights, cache = forward(query, keys, mask, *params)
    changed = keys.copy()
    changed[~mask] = 1e3 * randn(int((~mask).sum()), K)
    context2, weights2, _ = forward(query, changed, mask, *params)
    np.testing.assert_array_equal(weights2, weights)
    np.testing.assert_allclose(context2, context, rtol=1e-13)
    dkeys = backward(randn(N, K), randn(N, S), cache)[1]
    assert np.all(dkeys[~mask] == 0.0), "padded keys must get exactly zero gradient"
    assert np.all(np.abs(dkeys[mask]).sum(axis=-1) > 0)


def test_the_split_form_composes_to_the_whole_op_and_accumulates_over_steps():
    """A decoder projects the keys once and attends twice: the gradients add up."""
    keys, mask = randn(N, S, K), padded_mask()
    Wq, Wk, v = additive_params()
    queries, dcontexts = randn(2, N, H), randn(2, N, K)
    keys_proj, keys_cache = ops.attention_keys_forward(keys, Wk)
    dkeys, dkeys_proj, dWq, dv = 0, 0, 0, 0
    for query, dcontext in zip(queries, dcontexts):
        context, weights, cache = ops.additive_attention_step_forward(
            query, keys, keys_proj, mask, Wq, v
        )
        whole_context, whole_weights, whole_cache = ops.additive_attention_forward(
            query, keys, mask, Wq, Wk, v
        )
        np.testing.assert_array_equal(context, whole_context)
        np.testing.assert_array_equal(weights, whole_weights)
        _, dk, dkp, dwq, dvv = ops.additive_attention_step_backward(dcontext, None, cache)
        dkeys, dkeys_proj, dWq, dv = dkeys + dk, dkeys_proj + dkp, dWq + dwq, dv + dvv
    dkeys_from_proj, dWk = ops.attention_keys_backward(dkeys_proj, keys_cache)
    # The same gradients from the whole op, once per query.
    whole = [0] * 5
    for query, dcontext in zip(queries, dcontexts):
        _, _, cache = ops.additive_attention_forward(query, keys, mask, Wq, Wk, v)
        grads = ops.additive_attention_backward(dcontext, None, cache)
        whole = [w + g for w, g in zip(whole, grads)]
    np.testing.assert_allclose(whole[1], dkeys + dkeys_from_proj, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(whole[2], dWq, rtol=1e-12)
    np.testing.assert_allclose(whole[3], dWk, rtol=1e-12)
    np.testing.assert_allclose(whole[4], dv, rtol=1e-12)


def test_no_dweights_is_a_zero_dweights():
    query, keys, mask = randn(N, H), randn(N, S, K), padded_mask()
    _, _, cache = ops.additive_attention_forward(query, keys, mask, *additive_params())
    dcontext = randn(N, K)
    without = ops.additive_attention_backward(dcontext, None, cache)
    with_zeros = ops.additive_attention_backward(dcontext, np.zeros((N, S)), cache)
    for a, b in zip(without, with_zeros):
        np.testing.assert_array_equal(a, b)


def test_huge_scores_stay_finite_and_float32_stays_float32():
    scores = np.array([[1e4, -1e4, 3.0], [5e3, 5e3, -7e3]])
    context, weights, _ = ops.attend_forward(scores, randn(2, 3, K), None)
    assert np.all(np.isfinite(weights)) and np.all(np.isfinite(context))
    np.testing.assert_allclose(weights.sum(axis=1), 1.0)
    f32 = [p.astype(np.float32) for p in (randn(N, H), randn(N, S, K), *additive_params())]
    query, keys, Wq, Wk, v = f32
    context, weights, cache = ops.additive_attention_forward(query, keys, padded_mask(), Wq, Wk, v)
    grads = ops.additive_attention_backward(np.ones_like(context), None, cache)
    assert context.dtype == weights.dtype == np.float32
    assert all(g.dtype == np.float32 for g in grads)


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: ops.additive_attention_forward(
                randn(N, H), randn(N, S, K), np.zeros((N, S), bool), *additive_params()
            ),
            "mask: row 0 has no real position",
        ),
        (
            lambda: ops.additive_attention_forward(
                randn(N, H), randn(N, S, K), np.ones((N, S + 1), bool), *additive_params()
            ),
            r"mask must have shape \(N, S\)",
        ),
        (
            lambda: ops.additive_attention_forward(
                randn(N + 1, H), randn(N, S, K), None, *additive_params()
            ),
            "query must have shape",
        ),
        (
            lambda: ops.additive_attention_forward(
                randn(N, H), randn(N, K), None, *additive_params()
            ),
            r"keys must have shape \(N, S, K\)",
        ),
        (
            lambda: ops.additive_attention_forward(
                randn(N, H), randn(N, S, K), None, randn(H, A), randn(K + 1, A), randn(A)
            ),
            "Wk must have shape",
        ),
        (
            lambda: ops.additive_attention_forward(
                randn(N, H), randn(N, S, K), None, randn(H, A + 1), randn(K, A), randn(A)
            ),
            "Wq must have shape",
        ),
        (
            lambda: ops.additive_attention_forward(
                randn(N, H), randn(N, S, K), None, randn(H, A), randn(K, A), randn(A + 1)
            ),
            "v must have shape",
        ),
        (
            lambda: ops.additive_attention_step_forward(
                randn(N, H), randn(N, S, K), randn(N, S + 1, A), None, randn(H, A), randn(A)
            ),
            "keys_proj must have shape",
        ),
        (
            lambda: ops.bilinear_attention_forward(randn(N, H), randn(N, S, K), None, randn(K, H)),
            "W must have shape",
        ),
        (
            lambda: ops.attend_forward(randn(N, S - 1), randn(N, S, K), None),
            "scores must have shape",
        ),
        (
            lambda: ops.additive_attention_forward(
                np.ones((N, H), int), randn(N, S, K), None, *additive_params()
            ),
            "query must be a floating-point array",
        ),
    ],
)
def test_bad_input_is_a_clear_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()
