"""Decoupled weight decay (AdamW): PyTorch's numbers, the SGD equivalence, what it decays."""

import numpy as np
import pytest

from minivae import ops
from minivae.training.optim import SGD, Adam
from minivae.training.weight_decay import decoupled_weight_decay

rng = np.random.default_rng(0)


def _params():
    return {
        "W": rng.standard_normal((4, 3)),
        "embed": rng.standard_normal((6, 4)),
        "b": rng.standard_normal(3),
    }


def _grads(params):
    return {k: rng.standard_normal(v.shape) for k, v in params.items()}


def test_decay_then_adam_is_pytorch_adamw():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed (pip install torch)")
    params = _params()
    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    # eps = 0: minivae's Adam adds eps after folding the bias corrections into the step
    # size, PyTorch before; with eps = 0 the two updates are the same numbers.
    lr, wd = 1e-2, 0.1
    adam = Adam(lr=lr, eps=0.0)
    adamw = torch.optim.AdamW(tensors.values(), lr=lr, eps=0.0, weight_decay=wd)
    for _ in range(5):
        grads = _grads(params)
        decoupled_weight_decay(params, lr, wd, names=list(params))  # AdamW decays biases too
        adam.step(params, grads)
        for k, t in tensors.items():
            t.grad = torch.tensor(grads[k])
        adamw.step()
    for k, t in tensors.items():
        np.testing.assert_allclose(params[k], t.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_with_plain_sgd_decoupled_decay_is_the_l2_penalty():
    params, lr, lam = _params(), 0.05, 0.2
    l2 = {k: v.copy() for k, v in params.items()}
    grads = _grads(params)
    decoupled_weight_decay(params, lr, lam)
    SGD(lr=lr).step(params, {k: g.copy() for k, g in grads.items()})
    _, cache = ops.l2_penalty_forward(l2, lam)
    SGD(lr=lr).step(l2, ops.l2_penalty_backward(1.0, cache, grads=grads))
    for k in params:
        np.testing.assert_allclose(params[k], l2[k], rtol=1e-14)


def test_with_adam_decoupled_decay_is_not_the_l2_penalty():
    # A weight the loss does not touch: L2 through Adam moves it by about lr whatever lam
    # is (Adam normalizes lam * W to +-1); decoupled decay moves it by lr * lam * W.
    params = {"W": np.full((2, 2), 3.0)}
    lr, lam = 1e-2, 1e-3
    _, cache = ops.l2_penalty_forward(params, lam)
    l2_params = {"W": params["W"].copy()}
    Adam(lr=lr).step(l2_params, ops.l2_penalty_backward(1.0, cache))
    decoupled_weight_decay(params, lr, lam)
    np.testing.assert_allclose(3.0 - l2_params["W"], lr, rtol=1e-3)  # eps: 1e-4
    np.testing.assert_allclose(params["W"], 3.0 * (1 - lr * lam), rtol=1e-15)


def test_default_decays_the_matrices_not_the_biases():
    params = _params()
    before = {k: v.copy() for k, v in params.items()}
    decoupled_weight_decay(params, 0.1, 0.5)
    np.testing.assert_allclose(params["W"], 0.95 * before["W"], rtol=1e-15)
    np.testing.assert_allclose(params["embed"], 0.95 * before["embed"], rtol=1e-15)
    np.testing.assert_array_equal(params["b"], before["b"])


@pytest.mark.parametrize(
    "lr, wd, names, message",
    [
        (0.1, -1.0, None, "weight_decay must be >= 0, got -1.0"),
        (2.0, 0.5, None, r"lr \* weight_decay must lie in \[0, 1\).*= 1.0"),
        (-0.1, 0.5, None, "lr=-0.1"),
        (0.1, 0.5, ["W", "gone"], r"\['gone'\] are not parameters"),
    ],
)
def test_bad_settings_are_clear_value_errors(lr, wd, names, message):
    with pytest.raises(ValueError, match=message):
        decoupled_weight_decay(_params(), lr, wd, names)
