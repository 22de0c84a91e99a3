"""Tasks of the ``gru`` assignment: one step and the sequence."""

from __future__ import annotations

from . import (
    Task,
    forward_cache,
    named,
    padding_carries_state,
    randn,
    rnn_weights,
    sequence_inputs,
    without,
)

N, T, D, H = 3, 4, 3, 2


def _gru():
    from minivae.ops import gru

    return gru


def _weights(rng):
    return rnn_weights(rng, D, H, gates=3, biases=("bx", "bh"))


# --- one step -------------------------------------------------------------------------------

_STEP_ARGS = ("x", "prev_h", "Wx", "Wh", "bx", "bh")


def _step_inputs(rng):
    args = {"x": randn(rng, N, D), "prev_h": randn(rng, N, H), **_weights(rng)}
    return {**args, "dnext_h": randn(rng, N, H)}


def _step(inputs):
    out = _gru().gru_step_forward(*(inputs[k] for k in _STEP_ARGS))
    (next_h,), cache = forward_cache("gru_step_forward", out, 1)
    return {"next_h": next_h}, cache


def _step_forward(inputs):
    return _step(inputs)[0]


def _step_backward(inputs):
    _, cache = _step(inputs)
    names = ("dx", "dprev_h", "dWx", "dWh", "dbx", "dbh")
    return named("gru_step_backward", names, _gru().gru_step_backward(inputs["dnext_h"], cache))


step_forward = Task(_step_inputs, _step_forward)
step_backward = Task(_step_inputs, _step_backward, _step_forward, wrt=_STEP_ARGS)


# --- the sequence ---------------------------------------------------------------------------


def _sequence_inputs(masked: bool):
    return sequence_inputs((N, T, D, H), _weights, masked)


def _sequence(inputs):
    (h,), cache = forward_cache("gru_forward", _gru().gru_forward(**without(inputs, "dh")), 1)
    return {"h": h}, cache


def _forward(inputs):
    return _sequence(inputs)[0]


def _backward(inputs):
    _, cache = _sequence(inputs)
    names = ("dx", "dh0", "dWx", "dWh", "dbx", "dbh")
    return named("gru_backward", names, _gru().gru_backward(inputs["dh"], cache))


_WRT = ("x", "h0", "Wx", "Wh", "bx", "bh")
forward = Task(_sequence_inputs(False), _forward)
forward_masked = Task(_sequence_inputs(True), _forward, explain=padding_carries_state)
backward = Task(_sequence_inputs(False), _backward, _forward, wrt=_WRT)
backward_masked = Task(_sequence_inputs(True), _backward, _forward, wrt=_WRT)
