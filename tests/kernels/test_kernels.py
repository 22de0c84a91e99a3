"""The fused LSTM cell agrees with the readable array version, and trains the same model."""

import numpy as np
import pytest
from minivae_kernels.lstm_cpu import lstm_pointwise_backward as lstm_pointwise_backward_cpu
from minivae_kernels.lstm_cpu import lstm_pointwise_forward as lstm_pointwise_forward_cpu
from minivae_kernels.lstm_cpu import sigmoid, tanh

from minivae import ops
from minivae.gradcheck import DEFAULT_TOL, check_op
from minivae.ops.lstm import select_pointwise

TOL = {np.float32: dict(rtol=2e-6, atol=2e-7), np.float64: dict(rtol=1e-13, atol=1e-15)}


def test_vector_math_matches_numpy_over_the_whole_range():
    from numba import njit

    @njit
    def apply(x):
        out = np.empty((2, x.size))
        for k in range(x.size):
            out[0, k] = sigmoid(x[k])
            out[1, k] = tanh(x[k])
        return out

    x = np.concatenate(
        [
            np.linspace(-30, 30, 20001),
            [-800.0, -1e-12, 0.0, 1e-12, 800.0],
            np.geomspace(1e-10, 1, 200),
        ]
    )
    got = apply(x)
    np.testing.assert_allclose(got[0], np.exp(-np.logaddexp(0.0, -x)), rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(got[1], np.tanh(x), rtol=1e-14, atol=1e-300)
    assert np.all(np.isfinite(got))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("N, H", [(1, 1), (3, 5), (16, 33), (64, 128)])
def test_fused_cpu_cell_agrees_with_the_array_cell(dtype, N, H):
    rng = np.random.default_rng(N * 100 + H)
    a = (4 * rng.standard_normal((N, 4 * H))).astype(dtype)
    a[0, 0], a[-1, -1] = 60.0, -60.0  # saturated gates
    c = rng.standard_normal((N, H)).astype(dtype)
    want = ops.lstm_pointwise_forward(a, c)
    got = lstm_pointwise_forward_cpu(a, c)
    for w, g in zip(want, got):
        assert g.dtype == dtype
        np.testing.assert_allclose(g, w, **TOL[dtype])
    dh, dc = (rng.standard_normal((N, H)).astype(dtype) for _ in range(2))
    for w, g in zip(
        ops.lstm_pointwise_backward(dh, dc, c, want[2], want[3]),
        lstm_pointwise_backward_cpu(dh, dc, c, want[2], want[3]),
    ):
        np.testing.assert_allclose(g, w, **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_masked_sequence_is_the_same_with_either_kernel(dtype):
    rng = np.random.default_rng(0)
    N, T, D, H = 4, 6, 3, 7
    x = rng.standard_normal((N, T, D)).astype(dtype)
    h0 = rng.standard_normal((N, H)).astype(dtype)
    Wx, Wh = (0.5 * rng.standard_normal(s).astype(dtype) for s in ((D, 4 * H), (H, 4 * H)))
    b = rng.standard_normal(4 * H).astype(dtype)
    mask = np.arange(T)[None, :] < np.array([[6], [2], [4], [1]])
    dh = rng.standard_normal((N, T, H)).astype(dtype)
    results = {}
    for kernel in ("array", "fused"):
        h, cache = ops.lstm_forward(x, h0, Wx, Wh, b, mask=mask, kernel=kernel)
        results[kernel] = (h, *ops.lstm_backward(dh, cache))
    for a, f in zip(results["array"], results["fused"]):
        np.testing.assert_allclose(f, a, rtol=10 * TOL[dtype]["rtol"], atol=10 * TOL[dtype]["atol"])


def test_fused_sequence_gradient_checks():
    rng = np.random.default_rng(1)
    N, T, D, H = 3, 4, 5, 6
    inputs = {
        "x": rng.standard_normal((N, T, D)),
        "h0": rng.standard_normal((N, H)),
        "Wx": 0.5 * rng.standard_normal((D, 4 * H)),
        "Wh": 0.5 * rng.standard_normal((H, 4 * H)),
        "b": rng.standard_normal(4 * H),
        "mask": np.arange(T)[None, :] < np.array([[4], [2], [3]]),
        "c0": rng.standard_normal((N, H)),
    }

    def forward(*args):
        return ops.lstm_forward(*args, kernel="fused")

    rows = check_op(forward, ops.lstm_backward, inputs, name="lstm fused")
    assert len(rows) == 6 and all(r.error < DEFAULT_TOL for r in rows), rows


def test_whole_model_gradient_checks_with_the_fused_kernel():
    from minivae.gradcheck.models import check_model
    from minivae.model import ModelConfig, TextVAE

    config = ModelConfig(vocab_size=11, embed_dim=4, hidden_dim=5, latent_dim=3)
    rows = check_model(TextVAE(config), kernel="fused")
    assert all(r.passed for r in rows), [r for r in rows if not r.passed]


def test_kernel_switch():
    assert select_pointwise("array", np)[2] == "array"
    assert select_pointwise("auto", np)[2].startswith("fused-cpu")
    assert select_pointwise("fused", np)[2].startswith("fused-cpu")
    with pytest.raises(ValueError, match="kernel must be one of"):
        select_pointwise("fast", np)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_serial_and_parallel_cpu_cells_agree(dtype):
    rng = np.random.default_rng(5)
    a = (3 * rng.standard_normal((9, 4 * 17))).astype(dtype)
    c, dh, dc = (rng.standard_normal((9, 17)).astype(dtype) for _ in range(3))
    serial = lstm_pointwise_forward_cpu(a, c)
    parallel = lstm_pointwise_forward_cpu(a, c, parallel=True)
    for s, p in zip(serial, parallel):
        np.testing.assert_array_equal(s, p)
    gates, tanh_c = serial[2], serial[3]
    back = [lstm_pointwise_backward_cpu(dh, dc, c, gates, tanh_c, parallel=p) for p in (0, 1)]
    for s, p in zip(*back):
        np.testing.assert_array_equal(s, p)


# --- softmax cross-entropy's exponentials --------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_softmax_exponentials_agree_with_numpy(dtype):
    from minivae_kernels.softmax_cpu import exp_shifted_sum

    rng = np.random.default_rng(2)
    logits = (5 * rng.standard_normal((13, 257))).astype(dtype)
    logits[0, :3] = [1e4, -1e4, 0.0]  # far apart: exp underflows to exactly 0
    logits[1, 5] = -np.inf
    row_max = logits.max(axis=1)
    exps, total = exp_shifted_sum(logits, row_max)
    want = np.exp(logits - row_max[:, None])
    np.testing.assert_allclose(exps, want, **TOL[dtype])
    np.testing.assert_allclose(total, want.sum(axis=1), rtol=10 * TOL[dtype]["rtol"])
    assert exps[1, 5] == 0.0 and exps[0, 1] == 0.0 and exps[0, 0] == 1.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_sums_only_pass_gives_the_same_sums_and_scores(dtype):
    from minivae_kernels.softmax_cpu import exp_shifted_sum, exp_shifted_total

    rng = np.random.default_rng(4)
    logits = (5 * rng.standard_normal((11, 301))).astype(dtype)
    logits[0, :3] = [1e4, -1e4, 0.0]
    logits[1, 5] = -np.inf
    row_max = logits.max(axis=1)
    # Summed in a different lane order than the pass that keeps them: equal to rounding.
    np.testing.assert_allclose(
        exp_shifted_total(logits, row_max), exp_shifted_sum(logits, row_max)[1], **TOL[dtype]
    )
    with pytest.raises(ValueError, match="disagree"):
        exp_shifted_total(logits, row_max[:3])
    with pytest.raises(TypeError, match="float32 or float64"):
        exp_shifted_total(logits.astype(np.float16), row_max.astype(np.float16))
    # Scoring (which takes the sums-only pass) agrees with the array code and the log softmax.
    targets = rng.integers(0, 301, (1, 11))
    fused = ops.target_log_probs(logits[None], targets, "fused")
    array = ops.target_log_probs(logits[None], targets, "array")
    np.testing.assert_allclose(fused, array, **TOL[dtype])
    want = np.take_along_axis(ops.log_softmax(logits[None]), targets[..., None], axis=2)[..., 0]
    np.testing.assert_allclose(fused, want, **TOL[dtype])


def test_fused_softmax_lets_nan_through():
    from minivae_kernels.softmax_cpu import exp_shifted_sum

    logits = np.zeros((2, 40))
    logits[1, 7] = np.nan
    _, total = exp_shifted_sum(logits, np.nanmax(logits, axis=1))
    assert total[0] == 40.0 and np.isnan(total[1])
    loss, _ = ops.softmax_cross_entropy_forward(logits.reshape(1, 2, 40), np.zeros((1, 2), int))
    assert np.isnan(loss)  # so the trainer's divergence check sees it


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_is_the_same_with_either_kernel(dtype):
    rng = np.random.default_rng(3)
    logits = (3 * rng.standard_normal((4, 6, 50))).astype(dtype)
    targets = rng.integers(0, 50, (4, 6))
    mask = np.arange(6)[None, :] < np.array([[6], [2], [4], [1]])
    results = {}
    for kernel in ("array", "fused"):
        loss, cache = ops.softmax_cross_entropy_forward(logits, targets, mask, kernel=kernel)
        results[kernel] = (loss, ops.softmax_cross_entropy_backward(1.0, cache))
    for a, f in zip(results["array"], results["fused"]):
        np.testing.assert_allclose(f, a, rtol=10 * TOL[dtype]["rtol"], atol=TOL[dtype]["atol"])
    with pytest.raises(RuntimeError, match="no fused softmax kernel"):
        ops.softmax_cross_entropy_forward(logits.astype(np.float16), targets, kernel="fused")
    with pytest.raises(ValueError, match="kernel must be one of"):
        ops.softmax_cross_entropy_forward(logits, targets, kernel="numba")


# --- the embedding's gradient ----------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_embedding_gradient_is_the_same_with_either_kernel(dtype):
    rng = np.random.default_rng(4)
    W = rng.standard_normal((9, 5)).astype(dtype)
    tokens = rng.integers(0, 9, (6, 7))
    tokens[0, :4] = 3  # repeats must add up
    dout = rng.standard_normal((6, 7, 5)).astype(dtype)
    grads = {}
    for kernel in ("array", "fused"):
        _, cache = ops.embedding_forward(tokens, W, kernel=kernel)
        shared = np.ones_like(W)  # a table shared with another lookup: added into
        grads[kernel] = ops.embedding_backward(dout, cache, dW=shared)
    want = np.ones_like(W)
    np.add.at(want, tokens.reshape(-1), dout.reshape(-1, 5))
    for kernel, got in grads.items():
        np.testing.assert_allclose(got, want, rtol=1e-6, err_msg=kernel)
    _, cache = ops.embedding_forward(tokens, W.astype(np.float16))  # no kernel: the array code
    half = ops.embedding_backward(dout.astype(np.float16), cache)
    np.testing.assert_allclose(half, want - 1, rtol=1e-2, atol=1e-2)


def test_scatter_kernel_refuses_what_it_cannot_do():
    from minivae_kernels.embedding_cpu import scatter_add_rows

    dW, rows = np.zeros((4, 3)), np.ones((2, 3))
    with pytest.raises(ValueError, match=r"ids must lie in \[0, V=4\)"):
        scatter_add_rows(dW, np.array([1, 4]), rows)
    with pytest.raises(ValueError, match="disagree"):
        scatter_add_rows(dW, np.array([1, 2]), np.ones((2, 5)))
    with pytest.raises(ValueError, match="C-contiguous float64"):
        scatter_add_rows(np.zeros((4, 3), dtype=np.float32), np.array([1, 2]), rows)


def test_auto_takes_the_array_cell_for_dtypes_the_kernels_lack():
    assert select_pointwise("auto", np, np.float16)[2] == "array"
    assert select_pointwise("auto", np, np.float32)[2].startswith("fused-cpu")
    rng = np.random.default_rng(0)
    x, h0 = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5))
    Wx, Wh, b = rng.standard_normal((4, 20)), rng.standard_normal((5, 20)), np.zeros(20)
    half = [a.astype(np.float16) for a in (x, h0, Wx, Wh, b)]
    h16, _ = ops.lstm_forward(*half)
    h64, _ = ops.lstm_forward(*(a.astype(np.float64) for a in half))
    assert h16.dtype == np.float16
    np.testing.assert_allclose(h16, h64, atol=1e-2)
