"""Tasks of the ``vae_pieces`` assignment: reparameterization, Gaussian KL, cross-entropy."""

from __future__ import annotations

import numpy as np

from . import Task, forward_cache, named, prefix_mask, randn, without, zero_where_padded

N, T, V, Z = 3, 4, 5, 3


def _op(module: str):
    """minivae.ops.<module>, where the functions under test are defined."""
    import importlib

    return importlib.import_module(f"minivae.ops.{module}")


# --- reparameterization ---------------------------------------------------------------------


def _reparam_inputs(rng):
    return {
        "mu": randn(rng, N, Z),
        "logvar": randn(rng, N, Z),
        "eps": randn(rng, N, Z),
        "dz": randn(rng, N, Z),
    }


def _reparam(inputs):
    out = _op("reparameterize").reparameterize_forward(**without(inputs, "dz"))
    (z,), cache = forward_cache("reparameterize_forward", out, 1)
    return {"z": z}, cache


def _reparam_forward(inputs):
    return _reparam(inputs)[0]


def _reparam_backward(inputs):
    _, cache = _reparam(inputs)
    out = _op("reparameterize").reparameterize_backward(inputs["dz"], cache)
    return named("reparameterize_backward", ("dmu", "dlogvar"), out)


reparameterize_forward = Task(_reparam_inputs, _reparam_forward)
reparameterize_backward = Task(
    _reparam_inputs, _reparam_backward, _reparam_forward, wrt=("mu", "logvar")
)


# --- Gaussian KL ----------------------------------------------------------------------------


def _kl_inputs(prior: bool):
    def inputs(rng):
        args = {"mu": randn(rng, N, Z), "logvar": randn(rng, N, Z)}
        if prior:
            args["prior_mu"] = randn(rng, N, Z)
            args["prior_logvar"] = randn(rng, N, Z)
        return {**args, "dkl": randn(rng, N)}

    return inputs


def _kl(inputs):
    out = _op("gaussian_kl").gaussian_kl_forward(**without(inputs, "dkl"))
    (kl,), cache = forward_cache("gaussian_kl_forward", out, 1)
    return {"kl": kl}, cache


def _kl_forward(inputs):
    return _kl(inputs)[0]


def _kl_backward(inputs):
    _, cache = _kl(inputs)
    names = ("dmu", "dlogvar") + (("dprior_mu", "dprior_logvar") if "prior_mu" in inputs else ())
    out = _op("gaussian_kl").gaussian_kl_backward(inputs["dkl"], cache)
    return named("gaussian_kl_backward", names, out)


_PRIOR = ("mu", "logvar", "prior_mu", "prior_logvar")
kl_forward = Task(_kl_inputs(False), _kl_forward)
kl_forward_prior = Task(_kl_inputs(True), _kl_forward)
kl_backward = Task(_kl_inputs(False), _kl_backward, _kl_forward, wrt=("mu", "logvar"))
kl_backward_prior = Task(_kl_inputs(True), _kl_backward, _kl_forward, wrt=_PRIOR)


# --- softmax cross-entropy ------------------------------------------------------------------


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


def _ce(inputs):
    out = _op("softmax_cross_entropy").softmax_cross_entropy_forward(**without(inputs, "dloss"))
    (loss,), cache = forward_cache("softmax_cross_entropy_forward", out, 1)
    return {"loss": loss}, cache


def _ce_forward(inputs):
    return _ce(inputs)[0]


def _ce_backward(inputs):
    outputs, cache = _ce(inputs)
    ce = _op("softmax_cross_entropy")
    return {**outputs, "dlogits": ce.softmax_cross_entropy_backward(float(inputs["dloss"]), cache)}


def _ce_masked(inputs):
    """Also the loss with the padded positions' logits and targets changed: the same."""
    outputs = _ce_backward(inputs)
    changed = dict(inputs, logits=inputs["logits"].copy(), targets=inputs["targets"].copy())
    pad = ~inputs["mask"]
    changed["logits"][pad] += 3.0
    changed["targets"][pad] = 0
    return {**outputs, "loss_padding_changed": _ce_forward(changed)["loss"]}


def _ce_ignores_padding(inputs, outputs):
    if outputs["loss_padding_changed"] != outputs["loss"]:
        return "the loss changes when only padded positions (mask False) change"
    return zero_where_padded("dlogits", outputs["dlogits"], inputs["mask"])


ce_forward = Task(_ce_inputs(False), _ce_forward)
ce_backward = Task(_ce_inputs(False), _ce_backward, _ce_forward, wrt=("logits",))
ce_masked = Task(
    _ce_inputs(True), _ce_masked, _ce_forward, wrt=("logits",), explain=_ce_ignores_padding
)
