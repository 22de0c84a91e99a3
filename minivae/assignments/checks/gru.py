"""Checks of the ``gru`` assignment: one step and the sequence."""

from __future__ import annotations

from minivae.assignments.checks import (
    Check,
    check_padding_carries_state,
    forward_cache,
    gradcheck,
    named,
    prefix_mask,
    randn,
    sequence_args,
)

N, T, D, H = 3, 4, 3, 2


def _gru():
    from minivae.ops import gru

    return gru


def _weights(rng):
    return {
        "Wx": randn(rng, D, 3 * H, scale=0.5),
        "Wh": randn(rng, H, 3 * H, scale=0.5),
        "bx": randn(rng, 3 * H),
        "bh": randn(rng, 3 * H),
    }


# --- one step -------------------------------------------------------------------------

_STEP_ARGS = ("x", "prev_h", "Wx", "Wh", "bx", "bh")


def _step_inputs(rng):
    args = {"x": randn(rng, N, D), "prev_h": randn(rng, N, H), **_weights(rng)}
    return {**args, "dnext_h": randn(rng, N, H)}


def _step_forward(inputs):
    out = _gru().gru_step_forward(*(inputs[k] for k in _STEP_ARGS))
    (next_h,), _ = forward_cache("gru_step_forward", out, 1)
    return {"next_h": next_h}


def _step_backward(inputs):
    G = _gru()
    out = G.gru_step_forward(*(inputs[k] for k in _STEP_ARGS))
    _, cache = forward_cache("gru_step_forward", out, 1)
    names = ("dx", "dprev_h", "dWx", "dWh", "dbx", "dbh")
    return named("gru_step_backward", names, G.gru_step_backward(inputs["dnext_h"], cache))


def _step_gradcheck(inputs):
    G = _gru()
    args = {k: inputs[k] for k in _STEP_ARGS}
    gradcheck(G.gru_step_forward, G.gru_step_backward, args, name="gru_step")


step_forward = Check(_step_inputs, _step_forward)
step_backward = Check(_step_inputs, _step_backward, _step_gradcheck)


# --- the sequence ---------------------------------------------------------------------


def _sequence_inputs(masked: bool):
    def inputs(rng):
        args = {"x": randn(rng, N, T, D), "h0": randn(rng, N, H), **_weights(rng)}
        if masked:
            args["mask"] = prefix_mask(rng, N, T)
        return {**args, "dh": randn(rng, N, T, H)}

    return inputs


def _forward(inputs):
    (h,), _ = forward_cache("gru_forward", _gru().gru_forward(**sequence_args(inputs)), 1)
    return {"h": h}


def _padding_carries_state(inputs):
    check_padding_carries_state(_forward(inputs)["h"], inputs["mask"])


def _backward(inputs):
    G = _gru()
    _, cache = forward_cache("gru_forward", G.gru_forward(**sequence_args(inputs)), 1)
    names = ("dx", "dh0", "dWx", "dWh", "dbx", "dbh")
    return named("gru_backward", names, G.gru_backward(inputs["dh"], cache))


def _backward_gradcheck(inputs):
    G = _gru()
    gradcheck(G.gru_forward, G.gru_backward, sequence_args(inputs), name="gru")


forward = Check(_sequence_inputs(False), _forward)
forward_masked = Check(_sequence_inputs(True), _forward, _padding_carries_state)
backward = Check(_sequence_inputs(False), _backward, _backward_gradcheck)
backward_masked = Check(_sequence_inputs(True), _backward, _backward_gradcheck)
