"""Behaviour of the ops beyond their gradients: loops, masks, closed forms, dtypes, bad input."""

import numpy as np
import pytest

from minivae import ops

rng = np.random.default_rng(0)
N, T, D, H, V, Z = 3, 5, 4, 6, 9, 2


def randn(*shape):
    return rng.standard_normal(shape)


def lstm_params():
    return randn(D, 4 * H) * 0.5, randn(H, 4 * H) * 0.5, randn(4 * H)


def gru_params():
    return randn(D, 3 * H) * 0.5, randn(H, 3 * H) * 0.5, randn(3 * H), randn(3 * H)


def test_lstm_sequence_equals_a_loop_of_steps():
    x, h0, c0 = randn(N, T, D), randn(N, H), randn(N, H)
    Wx, Wh, b = lstm_params()
    h_seq, _ = ops.lstm_forward(x, h0, Wx, Wh, b, c0=c0)
    h, c = h0, c0
    for t in range(T):
        h, c, _ = ops.lstm_step_forward(x[:, t], h, c, Wx, Wh, b)
        np.testing.assert_allclose(h_seq[:, t], h, rtol=1e-12, atol=1e-12)


def test_lstm_backward_equals_a_loop_of_step_backwards():
    x, h0 = randn(N, T, D), randn(N, H)
    Wx, Wh, b = lstm_params()
    dh = randn(N, T, H)
    h_seq, cache = ops.lstm_forward(x, h0, Wx, Wh, b)
    dx, dh0, dWx, dWh, db = ops.lstm_backward(dh, cache)
    caches, h, c = [], h0, np.zeros((N, H))
    for t in range(T):
        h, c, step_cache = ops.lstm_step_forward(x[:, t], h, c, Wx, Wh, b)
        caches.append(step_cache)
    dnh, dnc = np.zeros((N, H)), np.zeros((N, H))
    sums = [np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)]
    for t in reversed(range(T)):
        dxt, dnh, dnc, *dw = ops.lstm_step_backward(dnh + dh[:, t], dnc, caches[t])
        np.testing.assert_allclose(dx[:, t], dxt, rtol=1e-10, atol=1e-12)
        sums = [s + d for s, d in zip(sums, dw)]
    np.testing.assert_allclose(dh0, dnh, rtol=1e-10, atol=1e-12)
    for got, want in zip((dWx, dWh, db), sums):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_gru_sequence_equals_a_loop_of_steps():
    x, h0 = randn(N, T, D), randn(N, H)
    params = gru_params()
    h_seq, _ = ops.gru_forward(x, h0, *params)
    h = h0
    for t in range(T):
        h, _ = ops.gru_step_forward(x[:, t], h, *params)
        np.testing.assert_allclose(h_seq[:, t], h, rtol=1e-12, atol=1e-12)


def test_gru_matches_pytorch_equations_written_out():
    x, h = randn(N, D), randn(N, H)
    Wx, Wh, bx, bh = gru_params()
    sig = lambda a: 1 / (1 + np.exp(-a))
    gx, gh = x @ Wx + bx, h @ Wh + bh
    r = sig(gx[:, :H] + gh[:, :H])
    u = sig(gx[:, H : 2 * H] + gh[:, H : 2 * H])
    n = np.tanh(gx[:, 2 * H :] + r * gh[:, 2 * H :])
    want = (1 - u) * n + u * h
    got, _ = ops.gru_step_forward(x, h, Wx, Wh, bx, bh)
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_lstm_gate_order_is_input_forget_cell_output():
    x, h, c = randn(N, D), randn(N, H), randn(N, H)
    Wx, Wh, b = lstm_params()
    sig = lambda a: 1 / (1 + np.exp(-a))
    a = x @ Wx + h @ Wh + b
    i, f, g, o = (
        sig(a[:, :H]),
        sig(a[:, H : 2 * H]),
        np.tanh(a[:, 2 * H : 3 * H]),
        sig(a[:, 3 * H :]),
    )
    next_c = f * c + i * g
    got_h, got_c, _ = ops.lstm_step_forward(x, h, c, Wx, Wh, b)
    np.testing.assert_allclose(got_c, next_c, rtol=1e-12)
    np.testing.assert_allclose(got_h, o * np.tanh(next_c), rtol=1e-12)


def _padded_pair():
    """A batch, and the same batch with different junk in the padding."""
    lengths = np.array([T, 2, 4])
    mask = np.arange(T)[None, :] < lengths[:, None]
    x = randn(N, T, D)
    x2 = np.where(mask[..., None], x, randn(N, T, D) * 10)
    return x, x2, mask, lengths


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_padding_changes_no_output_and_no_gradient(cell):
    x, x2, mask, lengths = _padded_pair()
    h0 = randn(N, H)
    fwd, bwd = (
        (ops.lstm_forward, ops.lstm_backward)
        if cell == "lstm"
        else (ops.gru_forward, ops.gru_backward)
    )
    params = lstm_params() if cell == "lstm" else gru_params()
    dh = randn(N, T, H) * mask[..., None]
    h1, c1 = fwd(x, h0, *params, mask=mask)
    h2, c2 = fwd(x2, h0, *params, mask=mask)
    np.testing.assert_allclose(h1, h2, rtol=0, atol=0)
    g1, g2 = bwd(dh, c1), bwd(dh, c2)
    for a, b in zip(g1, g2):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    assert np.all(g1[0][~mask] == 0), "padded steps must get zero dx"
    # The last column is each sequence's state after its last real token.
    h_unpadded = [
        fwd(x[n : n + 1, : lengths[n]], h0[n : n + 1], *params)[0][0, -1] for n in range(N)
    ]
    np.testing.assert_allclose(h1[:, -1], np.stack(h_unpadded), rtol=1e-12)


def test_softmax_cross_entropy_is_minus_log_softmax_and_its_gradient_softmax_minus_onehot():
    logits, targets = randn(N, T, V), rng.integers(0, V, size=(N, T))
    mask = np.arange(T)[None, :] < np.array([[T], [2], [3]])
    loss, cache = ops.softmax_cross_entropy_forward(logits, targets, mask)
    p = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    onehot = np.eye(V)[targets]
    want = -(np.log((p * onehot).sum(-1)) * mask).sum() / N
    assert loss == pytest.approx(want, rel=1e-12)
    dlogits = ops.softmax_cross_entropy_backward(1.0, cache)
    np.testing.assert_allclose(dlogits, (p - onehot) * mask[..., None] / N, atol=1e-14)


def test_softmax_cross_entropy_is_finite_for_huge_logits():
    logits = np.zeros((1, 2, 3))
    logits[0, 0] = [1e4, -1e4, 0.0]
    logits[0, 1] = [-1e4, 1e4, 1e4]
    loss, cache = ops.softmax_cross_entropy_forward(logits, np.array([[1, 2]]), None)
    assert np.isfinite(loss) and loss == pytest.approx(2e4 + np.log(2), rel=1e-12)
    assert np.all(np.isfinite(ops.softmax_cross_entropy_backward(1.0, cache)))


def test_gaussian_kl_matches_the_per_dimension_closed_form():
    mu, logvar, pm, plv = randn(N, Z), randn(N, Z), randn(N, Z), randn(N, Z)
    s1, s2 = np.exp(0.5 * logvar), np.exp(0.5 * plv)
    want = (np.log(s2 / s1) + (s1**2 + (mu - pm) ** 2) / (2 * s2**2) - 0.5).sum(1)
    kl, _ = ops.gaussian_kl_forward(mu, logvar, pm, plv)
    np.testing.assert_allclose(kl, want, rtol=1e-12)
    kl0, _ = ops.gaussian_kl_forward(mu, logvar)
    np.testing.assert_allclose(kl0, 0.5 * (mu**2 + np.exp(logvar) - logvar - 1).sum(1))
    assert np.all(kl0 >= 0)
    zero, _ = ops.gaussian_kl_forward(np.zeros((1, Z)), np.zeros((1, Z)))
    assert zero[0] == 0.0


def test_gaussian_kl_agrees_with_a_monte_carlo_estimate():
    mu, logvar = np.array([[0.5, -1.0]]), np.array([[-0.3, 0.4]])
    eps = np.random.default_rng(5).standard_normal((200_000, 2))
    z = mu + np.exp(0.5 * logvar) * eps
    logq = (-0.5 * (eps**2 + logvar + np.log(2 * np.pi))).sum(1)
    logp = (-0.5 * (z**2 + np.log(2 * np.pi))).sum(1)
    kl, _ = ops.gaussian_kl_forward(mu, logvar)
    assert kl[0] == pytest.approx((logq - logp).mean(), abs=0.01)


def test_reparameterize_samples_have_the_right_moments():
    mu, logvar = np.full((100_000, 1), 2.0), np.full((100_000, 1), np.log(0.25))
    z, _ = ops.reparameterize_forward(
        mu, logvar, np.random.default_rng(0).standard_normal(mu.shape)
    )
    assert z.mean() == pytest.approx(2.0, abs=0.01) and z.std() == pytest.approx(0.5, abs=0.01)


def test_embedding_accumulates_repeated_tokens():
    W = randn(V, D)
    tokens = np.array([[1, 1, 2]])
    out, cache = ops.embedding_forward(tokens, W)
    np.testing.assert_array_equal(out[0, 0], W[1])
    dW = ops.embedding_backward(np.ones((1, 3, D)), cache)
    np.testing.assert_array_equal(dW[1], 2 * np.ones(D))
    assert np.all(dW[0] == 0)


def test_word_dropout_rate_and_protection():
    tokens = np.full((200, 50), 7)
    mask = np.ones((200, 50), dtype=bool)
    mask[:, 0] = False  # <bos> is never dropped
    out = ops.word_dropout(tokens, 0.3, np.random.default_rng(0), mask=mask, unk_id=1)
    assert np.all(out[:, 0] == 7)
    assert (out[:, 1:] == 1).mean() == pytest.approx(0.3, abs=0.02)
    assert np.all((out == 7) | (out == 1))
    assert np.array_equal(ops.word_dropout(tokens, 0.0, None, 1), tokens)
    with pytest.raises(ValueError, match="rate"):
        ops.word_dropout(tokens, 1.5, np.random.default_rng(0), 1)


def test_ops_run_in_float32():
    x = randn(N, T, D).astype(np.float32)
    Wx, Wh, b = (p.astype(np.float32) for p in lstm_params())
    h, cache = ops.lstm_forward(x, np.zeros((N, H), np.float32), Wx, Wh, b)
    grads = ops.lstm_backward(np.ones_like(h), cache)
    assert h.dtype == np.float32 and all(g.dtype == np.float32 for g in grads)
    gx, gxc = ops.gru_forward(
        x, np.zeros((N, H), np.float32), *(p.astype(np.float32) for p in gru_params())
    )
    assert gx.dtype == np.float32
    assert all(g.dtype == np.float32 for g in ops.gru_backward(np.ones_like(gx), gxc))
    logits = randn(N, T, V).astype(np.float32)
    loss, c = ops.softmax_cross_entropy_forward(logits, np.zeros((N, T), np.int64), None)
    assert ops.softmax_cross_entropy_backward(np.float32(1.0), c).dtype == np.float32
    mu = randn(N, Z).astype(np.float32)
    kl, c = ops.gaussian_kl_forward(mu, mu)
    assert kl.dtype == np.float32


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: ops.affine_forward(randn(2, 3), randn(4, 5), randn(5)), "x .*W"),
        (lambda: ops.affine_forward(randn(2, 3), randn(3, 5), randn(4)), "b must have shape"),
        (lambda: ops.embedding_forward(np.array([[0, 9]]), randn(9, 2)), r"tokens must lie"),
        (lambda: ops.embedding_forward(randn(2, 2), randn(9, 2)), "tokens must be an integer"),
        (lambda: ops.lstm_forward(randn(2, 3), randn(2, H), *lstm_params()), r"x must have shape"),
        (lambda: ops.lstm_forward(randn(2, 3, D), randn(3, H), *lstm_params()), "h0"),
        (
            lambda: ops.lstm_forward(
                randn(2, 3, D), randn(2, H), randn(D, 4 * H), randn(H, 3 * H), randn(4 * H)
            ),
            "Wh",
        ),
        (
            lambda: ops.lstm_forward(
                randn(2, 3, D), randn(2, H), *lstm_params(), mask=np.ones((2, 4), bool)
            ),
            "mask",
        ),
        (lambda: ops.gru_forward(randn(2, 3, D), randn(2, H), *gru_params()[:3], randn(2)), "bh"),
        (
            lambda: ops.softmax_cross_entropy_forward(randn(2, 3, 4), np.zeros((2, 2), int), None),
            "targets",
        ),
        (lambda: ops.reparameterize_forward(randn(2, 3), randn(2, 3), randn(3, 2)), "eps"),
        (lambda: ops.gaussian_kl_forward(randn(2, 3), randn(2, 3), randn(2, 3)), "prior"),
    ],
)
def test_bad_input_is_a_clear_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("kernel", ["auto", "array"])
def test_label_smoothing_is_the_cross_entropy_against_the_smoothed_target(kernel):
    """-(1/N) sum q log p with q = (1 - eps) onehot + eps / V, its gradient p - q; eps 0 is
    the plain cross-entropy to the bit."""
    logits, targets = randn(N, T, V), rng.integers(0, V, size=(N, T))
    mask = np.arange(T)[None, :] < np.array([[T], [2], [3]])
    p = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    eps = 0.2
    q = (1 - eps) * np.eye(V)[targets] + eps / V
    loss, cache = ops.softmax_cross_entropy_forward(logits, targets, mask, kernel, smoothing=eps)
    assert loss == pytest.approx(-((q * np.log(p)).sum(-1) * mask).sum() / N, rel=1e-12)
    dlogits = ops.softmax_cross_entropy_backward(0.5, cache)
    np.testing.assert_allclose(dlogits, 0.5 * (p - q) * mask[..., None] / N, atol=1e-14)
    plain, plain_cache = ops.softmax_cross_entropy_forward(logits, targets, mask, kernel)
    zero, zero_cache = ops.softmax_cross_entropy_forward(logits, targets, mask, kernel, 0.0)
    assert zero == plain and loss != plain
    np.testing.assert_array_equal(
        ops.softmax_cross_entropy_backward(1.0, zero_cache),
        ops.softmax_cross_entropy_backward(1.0, plain_cache),
    )


@pytest.mark.parametrize("eps", [1.0, -0.1, 1.5, float("nan")])
def test_label_smoothing_outside_zero_to_one_is_refused(eps):
    logits, targets = randn(N, T, V), rng.integers(0, V, size=(N, T))
    with pytest.raises(ValueError, match=r"label smoothing must be in \[0, 1\)"):
        ops.softmax_cross_entropy_forward(logits, targets, None, smoothing=eps)


def test_affine_target_log_probs_scores_block_by_block(monkeypatch):
    """Rows scored a block at a time (here 5 rows a block, the last one short) give the
    full log-softmax's picks; wrong shapes are named."""
    from minivae.ops import softmax_cross_entropy

    rng = np.random.default_rng(0)
    h, W, b = rng.standard_normal((13, 4)), rng.standard_normal((4, 7)), rng.standard_normal(7)
    targets = rng.integers(0, 7, 13)
    expected = ops.log_softmax(h @ W + b)[np.arange(13), targets]
    monkeypatch.setattr(softmax_cross_entropy, "SCORE_BLOCK_BYTES", 5 * 7 * 8)
    for kernel in ("array", "auto"):
        got = ops.affine_target_log_probs(h, W, b, targets, kernel)
        np.testing.assert_allclose(got, expected, rtol=1e-12)
    with pytest.raises(ValueError, match="W"):
        ops.affine_target_log_probs(h, W[:3], b, targets)
    with pytest.raises(ValueError, match="targets"):
        ops.affine_target_log_probs(h, W, b, targets[:5])
    with pytest.raises(ValueError, match=r"targets must lie in \[0, V=7\)"):
        ops.affine_target_log_probs(h, W, b, targets + 7)
