"""Checks of the ``vae_pieces`` assignment: reparameterization, Gaussian KL, cross-entropy."""

from __future__ import annotations

import numpy as np

from minivae.assignments.checks import (
    Check,
    CheckFailed,
    forward_cache,
    gradcheck,
    named,
    prefix_mask,
    randn,
)

N, T, V, Z = 3, 4, 5, 3


def _ops():
    from minivae import ops

    return ops


# --- reparameterization ---------------------------------------------------------------


def _reparam_inputs(rng):
    return {
        "mu": randn(rng, N, Z),
        "logvar": randn(rng, N, Z),
        "eps": randn(rng, N, Z),
        "dz": randn(rng, N, Z),
    }


def _reparam_args(inputs):
    return {k: inputs[k] for k in ("mu", "logvar", "eps")}


def _reparam_forward(inputs):
    out = _ops().reparameterize_forward(**_reparam_args(inputs))
    (z,), _ = forward_cache("reparameterize_forward", out, 1)
    return {"z": z}


def _reparam_backward(inputs):
    ops = _ops()
    _, cache = forward_cache(
        "reparameterize_forward", ops.reparameterize_forward(**_reparam_args(inputs)), 1
    )
    out = ops.reparameterize_backward(inputs["dz"], cache)
    return named("reparameterize_backward", ("dmu", "dlogvar"), out)


def _reparam_gradcheck(inputs):
    ops = _ops()
    gradcheck(
        ops.reparameterize_forward,
        ops.reparameterize_backward,
        _reparam_args(inputs),
        wrt=["mu", "logvar"],
        name="reparameterize",
    )


reparameterize_forward = Check(_reparam_inputs, _reparam_forward)
reparameterize_backward = Check(_reparam_inputs, _reparam_backward, _reparam_gradcheck)


# --- Gaussian KL ----------------------------------------------------------------------


def _kl_inputs(prior: bool):
    def inputs(rng):
        args = {"mu": randn(rng, N, Z), "logvar": randn(rng, N, Z)}
        if prior:
            args["prior_mu"] = randn(rng, N, Z)
            args["prior_logvar"] = randn(rng, N, Z)
        return {**args, "dkl": randn(rng, N)}

    return inputs


def _kl_args(inputs):
    return {k: v for k, v in inputs.items() if k != "dkl"}


def _kl_forward(inputs):
    (kl,), _ = forward_cache(
        "gaussian_kl_forward", _ops().gaussian_kl_forward(**_kl_args(inputs)), 1
    )
    return {"kl": kl}


def _kl_backward(inputs):
    ops = _ops()
    args = _kl_args(inputs)
    _, cache = forward_cache("gaussian_kl_forward", ops.gaussian_kl_forward(**args), 1)
    names = ("dmu", "dlogvar") + (("dprior_mu", "dprior_logvar") if "prior_mu" in args else ())
    return named("gaussian_kl_backward", names, ops.gaussian_kl_backward(inputs["dkl"], cache))


def _kl_gradcheck(inputs):
    ops = _ops()
    gradcheck(ops.gaussian_kl_forward, ops.gaussian_kl_backward, _kl_args(inputs), name="kl")


kl_forward = Check(_kl_inputs(False), _kl_forward)
kl_forward_prior = Check(_kl_inputs(True), _kl_forward)
kl_backward = Check(_kl_inputs(False), _kl_backward, _kl_gradcheck)
kl_backward_prior = Check(_kl_inputs(True), _kl_backward, _kl_gradcheck)


# --- softmax cross-entropy ------------------------------------------------------------


def _ce_inputs(masked: bool):
    def inputs(rng):
        args = {
            "logits": randn(rng, N, T, V, scale=2.0),
            "targets": rng.integers(0, V, size=(N, T)),
        }
        if masked:
            args["mask"] = prefix_mask(rng, N, T)
        return {**args, "dloss": np.array(1.7)}

    return inputs


def _ce_args(inputs):
    return {k: v for k, v in inputs.items() if k != "dloss"}


def _ce_forward(inputs):
    out = _ops().softmax_cross_entropy_forward(**_ce_args(inputs))
    (loss,), _ = forward_cache("softmax_cross_entropy_forward", out, 1)
    return {"loss": loss}


def _ce_backward(inputs):
    ops = _ops()
    out = ops.softmax_cross_entropy_forward(**_ce_args(inputs))
    (loss,), cache = forward_cache("softmax_cross_entropy_forward", out, 1)
    dlogits = ops.softmax_cross_entropy_backward(float(inputs["dloss"]), cache)
    return {"loss": loss, "dlogits": dlogits}


def _ce_gradcheck(inputs):
    ops = _ops()
    gradcheck(
        ops.softmax_cross_entropy_forward,
        ops.softmax_cross_entropy_backward,
        _ce_args(inputs),
        name="softmax_cross_entropy",
    )


def _ce_ignores_padding(inputs):
    """Padded positions: no gradient, and their logits and targets do not change the loss."""
    _ce_gradcheck(inputs)
    grads = _ce_backward(inputs)
    pad = ~inputs["mask"]
    if np.abs(np.asarray(grads["dlogits"])[pad]).max() != 0:
        raise CheckFailed("dlogits is nonzero at padded positions (mask False)")
    changed = {k: np.array(v) for k, v in _ce_args(inputs).items()}
    changed["logits"][pad] += 3.0
    changed["targets"][pad] = 0
    loss = _ce_forward(changed)["loss"]
    if abs(float(loss) - float(grads["loss"])) > 1e-9 * max(1.0, abs(float(loss))):
        raise CheckFailed("the loss changes when only padded positions change")


ce_forward = Check(_ce_inputs(False), _ce_forward)
ce_backward = Check(_ce_inputs(False), _ce_backward, _ce_gradcheck)
ce_masked = Check(_ce_inputs(True), _ce_backward, _ce_ignores_padding)
