"""Dropout and the L2 penalty beyond their gradient checks: statistics, modes, dtypes, bad input."""

import numpy as np
import pytest

from minivae import ops
from minivae.gradcheck import check_op
from minivae.gradcheck.op_cases import l2_penalty_on_arrays
from minivae.model import ModelConfig, init_params

rng = np.random.default_rng(0)


def test_dropout_keeps_the_mean_and_drops_a_fraction_p():
    x = rng.standard_normal((400, 500)) + 3.0
    for p in (0.1, 0.5, 0.8):
        out, _ = ops.dropout_forward(x, p, np.random.default_rng(1))
        dropped = out == 0
        # 200,000 Bernoulli(p) draws: the standard error of the fraction is below 0.0012.
        assert dropped.mean() == pytest.approx(p, abs=0.006)
        assert out.mean() == pytest.approx(x.mean(), rel=0.02)
        np.testing.assert_allclose(out[~dropped], x[~dropped] / (1 - p), rtol=1e-15)


def test_dropout_backward_passes_the_kept_units_scaled():
    x, dout = rng.standard_normal((3, 4, 5)), rng.standard_normal((3, 4, 5))
    keep = rng.random((3, 4, 5)) >= 0.25
    out, cache = ops.dropout_forward(x, 0.25, mask=keep)
    np.testing.assert_allclose(out, np.where(keep, x / 0.75, 0.0), rtol=1e-15)
    dx = ops.dropout_backward(dout, cache)
    np.testing.assert_allclose(dx, np.where(keep, dout / 0.75, 0.0), rtol=1e-15)


def test_a_mask_shared_over_time_drops_the_same_units_at_every_step():
    x = rng.standard_normal((2, 6, 4)) + 5.0  # no exact zeros of its own
    keep = np.array([[[True, False, True, False]], [[False, False, True, True]]])  # (N, 1, D)
    out, cache = ops.dropout_forward(x, 0.5, mask=keep)
    np.testing.assert_array_equal(out != 0, np.broadcast_to(keep, x.shape))
    dx = ops.dropout_backward(np.ones_like(x), cache)
    np.testing.assert_array_equal(dx, np.broadcast_to(keep * 2.0, x.shape))


@pytest.mark.parametrize("kwargs", [{"p": 0.0, "rng": None}, {"p": 0.5, "training": False}])
def test_dropout_is_the_identity_at_p0_and_in_evaluation(kwargs):
    x, dout = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    out, cache = ops.dropout_forward(x, **kwargs)
    np.testing.assert_array_equal(out, x)
    assert out is not x  # a new array: the caller may write into it
    np.testing.assert_array_equal(ops.dropout_backward(dout, cache), dout)


def test_dropout_is_reproducible_from_the_rng_and_keeps_float32():
    x = rng.standard_normal((5, 7)).astype(np.float32)
    a, ca = ops.dropout_forward(x, 0.4, np.random.default_rng(3))
    b, _ = ops.dropout_forward(x, 0.4, np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32 and ops.dropout_backward(np.ones_like(x), ca).dtype == np.float32


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"p": 1.0, "rng": np.random.default_rng(0)}, r"rate p must be in \[0, 1\), got 1.0"),
        ({"p": -0.1, "rng": np.random.default_rng(0)}, "rate p.*got -0.1"),
        ({"p": float("nan"), "rng": np.random.default_rng(0)}, "rate p"),
        ({"p": 0.5}, "needs an rng or a keep-mask"),
        ({"p": 0.5, "mask": np.ones((3, 5), bool)}, r"\(3, 5\) does not broadcast.*\(3, 4\)"),
        ({"p": 0.5, "mask": np.ones((3, 4))}, "bool array, got dtype float64"),
    ],
)
def test_dropout_bad_input_is_a_clear_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ops.dropout_forward(rng.standard_normal((3, 4)), **kwargs)


def test_a_wrong_dropout_backward_fails_the_gradient_check():
    def unscaled_backward(dout, scale):
        return dout * (scale != 0)  # forgets the 1 / (1 - p)

    keep = rng.random((3, 4)) > 0.5
    inputs = {"x": rng.standard_normal((3, 4)), "p": 0.5, "rng": None, "mask": keep}
    (row,) = check_op(ops.dropout_forward, unscaled_backward, inputs)
    assert not row.passed and row.error > 0.3


def _model_params():
    config = ModelConfig(vocab_size=9, embed_dim=3, hidden_dim=4, latent_dim=2, cell="gru")
    params = init_params(config, dtype=np.float64)
    return {k: v + rng.standard_normal(v.shape) for k, v in params.items()}  # no zero biases


def test_l2_penalty_decays_the_matrices_by_default_and_matches_its_formula():
    params = _model_params()
    penalty, cache = ops.l2_penalty_forward(params, 0.3)
    matrices = [n for n, p in params.items() if p.ndim == 2]
    assert {"embed", "enc_Wx", "enc_Wh", "mu_W", "out_W"} <= set(matrices)
    want = 0.15 * sum(float((params[n] ** 2).sum()) for n in matrices)
    assert float(penalty) == pytest.approx(want, rel=1e-12)
    grads = ops.l2_penalty_backward(2.0, cache)
    assert sorted(grads) == sorted(matrices)  # no bias: enc_bx, mu_b, out_b, ...
    for n in matrices:
        np.testing.assert_allclose(grads[n], 0.6 * params[n], rtol=1e-15)


def test_l2_penalty_chosen_names_and_adding_into_the_loss_gradients():
    params = _model_params()
    penalty, cache = ops.l2_penalty_forward(params, 0.5, names=["out_b", "mu_W"])
    want = 0.25 * ((params["out_b"] ** 2).sum() + (params["mu_W"] ** 2).sum())
    assert float(penalty) == pytest.approx(want, rel=1e-12)
    loss_grads = {"mu_W": np.ones_like(params["mu_W"])}
    out = ops.l2_penalty_backward(1.0, cache, grads=loss_grads)
    assert out is loss_grads and sorted(out) == ["mu_W", "out_b"]
    np.testing.assert_allclose(out["mu_W"], 1.0 + 0.5 * params["mu_W"], rtol=1e-15)
    np.testing.assert_allclose(out["out_b"], 0.5 * params["out_b"], rtol=1e-15)
    zero, cache = ops.l2_penalty_forward(params, 0.5, names=[])
    assert zero == 0.0 and ops.l2_penalty_backward(1.0, cache) == {}


def test_l2_penalty_keeps_float32():
    params = {k: v.astype(np.float32) for k, v in _model_params().items()}
    penalty, cache = ops.l2_penalty_forward(params, 1e-3)
    assert penalty.dtype == np.float32
    grads = ops.l2_penalty_backward(np.float64(1.0), cache)
    assert all(g.dtype == np.float32 for g in grads.values())


def test_a_wrong_l2_backward_fails_the_gradient_check():
    forward, backward = l2_penalty_on_arrays(["W", "b"], lam=0.7, decay=None)

    def double_backward(dpenalty, cache):
        return tuple(2 * g for g in backward(dpenalty, cache))  # forgets the 1/2

    rows = check_op(forward, double_backward, {"W": rng.standard_normal((3, 4)), "b": np.ones(4)})
    assert not rows[0].passed and rows[1].passed  # b is not decayed: 2 * 0 is still right


@pytest.mark.parametrize(
    "args, message",
    [
        ((-1.0,), "lam must be >= 0, got -1.0"),
        ((float("nan"),), "lam must be >= 0"),
        ((0.1, ["out_W", "nope"]), r"\['nope'\] are not parameters"),
    ],
)
def test_l2_penalty_bad_input_is_a_clear_value_error(args, message):
    with pytest.raises(ValueError, match=message):
        ops.l2_penalty_forward(_model_params(), *args)
