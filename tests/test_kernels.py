"""The fused LSTM cell agrees with the readable array version, and trains the same model."""

import numpy as np
import pytest

from kernels.lstm_cpu import lstm_pointwise_backward as lstm_pointwise_backward_cpu
from kernels.lstm_cpu import lstm_pointwise_forward as lstm_pointwise_forward_cpu
from kernels.lstm_cpu import sigmoid, tanh
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
    from minivae.model import ModelConfig
    from minivae.model.gradcheck import check_model

    rows = check_model(
        ModelConfig(vocab_size=11, embed_dim=4, hidden_dim=5, latent_dim=3), kernel="fused"
    )
    assert all(r.passed for r in rows), [r for r in rows if not r.passed]


def test_kernel_switch():
    assert select_pointwise("array", np)[2] == "array"
    assert select_pointwise("auto", np)[2].startswith("fused-cpu")
    assert select_pointwise("fused", np)[2].startswith("fused-cpu")
    with pytest.raises(ValueError, match="kernel must be one of"):
        select_pointwise("fast", np)
