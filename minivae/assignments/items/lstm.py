"""Tasks of the ``lstm`` assignment: the cell's pointwise work, one step, the sequence.

The step and the sequence run with ``kernel="array"``: the array cell, which calls the
student's ``lstm_pointwise_*`` (a student copy has no fused kernels anyway).
"""

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


def _lstm():
    from minivae.ops import lstm

    return lstm


def _weights(rng):
    return rnn_weights(rng, D, H, gates=4, biases=("b",))


# --- pointwise ------------------------------------------------------------------------------


def _pointwise_inputs(rng):
    return {
        "a": randn(rng, N, 4 * H, scale=1.5),
        "prev_c": randn(rng, N, H),
        "dnext_h": randn(rng, N, H),
        "dnext_c": randn(rng, N, H),
    }


def _pointwise_all(inputs):
    out = _lstm().lstm_pointwise_forward(inputs["a"], inputs["prev_c"])
    return named("lstm_pointwise_forward", ("next_h", "next_c", "gates", "tanh_c"), out)


def _pointwise_state(inputs):
    out = _pointwise_all(inputs)
    return {"next_h": out["next_h"], "next_c": out["next_c"]}


def _pointwise_backward(inputs):
    fwd = _pointwise_all(inputs)
    out = _lstm().lstm_pointwise_backward(
        inputs["dnext_h"], inputs["dnext_c"], inputs["prev_c"], fwd["gates"], fwd["tanh_c"]
    )
    return named("lstm_pointwise_backward", ("da", "dprev_c"), out)


pointwise_forward = Task(_pointwise_inputs, _pointwise_all)
pointwise_backward = Task(
    _pointwise_inputs, _pointwise_backward, _pointwise_state, wrt=("a", "prev_c")
)


# --- one step -------------------------------------------------------------------------------

_STEP_ARGS = ("x", "prev_h", "prev_c", "Wx", "Wh", "b")


def _step_inputs(rng):
    args = {"x": randn(rng, N, D), "prev_h": randn(rng, N, H), "prev_c": randn(rng, N, H)}
    return {**args, **_weights(rng), "dnext_h": randn(rng, N, H), "dnext_c": randn(rng, N, H)}


def _step(inputs):
    out = _lstm().lstm_step_forward(*(inputs[k] for k in _STEP_ARGS), kernel="array")
    (next_h, next_c), cache = forward_cache("lstm_step_forward", out, 2)
    return {"next_h": next_h, "next_c": next_c}, cache


def _step_forward(inputs):
    return _step(inputs)[0]


def _step_backward(inputs):
    _, cache = _step(inputs)
    out = _lstm().lstm_step_backward(inputs["dnext_h"], inputs["dnext_c"], cache)
    return named("lstm_step_backward", ("dx", "dprev_h", "dprev_c", "dWx", "dWh", "db"), out)


step_forward = Task(_step_inputs, _step_forward)
step_backward = Task(_step_inputs, _step_backward, _step_forward, wrt=_STEP_ARGS)


# --- the sequence ---------------------------------------------------------------------------


def _sequence_inputs(masked: bool):
    return sequence_inputs((N, T, D, H), _weights, masked, c0=True)


def _sequence(inputs):
    out = _lstm().lstm_forward(**without(inputs, "dh"), kernel="array")
    (h,), cache = forward_cache("lstm_forward", out, 1)
    return {"h": h}, cache


def _forward(inputs):
    return _sequence(inputs)[0]


def _backward(inputs):
    _, cache = _sequence(inputs)
    names = ("dx", "dh0", "dWx", "dWh", "db") + (("dc0",) if "c0" in inputs else ())
    return named("lstm_backward", names, _lstm().lstm_backward(inputs["dh"], cache))


_WEIGHTS = ("x", "h0", "Wx", "Wh", "b")
forward = Task(_sequence_inputs(False), _forward)
forward_masked = Task(_sequence_inputs(True), _forward, explain=padding_carries_state)
backward = Task(_sequence_inputs(False), _backward, _forward, wrt=_WEIGHTS)
backward_masked = Task(_sequence_inputs(True), _backward, _forward, wrt=(*_WEIGHTS, "c0"))
