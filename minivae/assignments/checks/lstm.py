"""Checks of the ``lstm`` assignment: the cell's pointwise work, one step, the sequence."""

from __future__ import annotations

from functools import partial

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


def _lstm():
    from minivae.ops import lstm

    return lstm


def _step_forward_fn():
    """The step with the array cell, so it runs the student's ``lstm_pointwise_*``
    (kernel="auto" would take the fused Numba cell on the CPU)."""
    return partial(_lstm().lstm_step_forward, kernel="array")


def _sequence_forward_fn():
    """The sequence with the array cell (see ``_step_forward_fn``)."""
    return partial(_lstm().lstm_forward, kernel="array")


def _weights(rng):
    return {
        "Wx": randn(rng, D, 4 * H, scale=0.5),
        "Wh": randn(rng, H, 4 * H, scale=0.5),
        "b": randn(rng, 4 * H),
    }


# --- pointwise ------------------------------------------------------------------------


def _pointwise_inputs(rng):
    return {
        "a": randn(rng, N, 4 * H, scale=1.5),
        "prev_c": randn(rng, N, H),
        "dnext_h": randn(rng, N, H),
        "dnext_c": randn(rng, N, H),
    }


def _pointwise_forward(inputs):
    out = _lstm().lstm_pointwise_forward(inputs["a"], inputs["prev_c"])
    return named("lstm_pointwise_forward", ("next_h", "next_c", "gates", "tanh_c"), out)


def _pointwise_backward(inputs):
    L = _lstm()
    fwd = _pointwise_forward(inputs)
    out = L.lstm_pointwise_backward(
        inputs["dnext_h"], inputs["dnext_c"], inputs["prev_c"], fwd["gates"], fwd["tanh_c"]
    )
    return named("lstm_pointwise_backward", ("da", "dprev_c"), out)


def _pointwise_gradcheck(inputs):
    L = _lstm()

    def forward(a, prev_c):
        next_h, next_c, gates, tanh_c = L.lstm_pointwise_forward(a, prev_c)
        return next_h, next_c, (prev_c, gates, tanh_c)

    def backward(dnext_h, dnext_c, cache):
        return L.lstm_pointwise_backward(dnext_h, dnext_c, *cache)

    args = {"a": inputs["a"], "prev_c": inputs["prev_c"]}
    gradcheck(forward, backward, args, name="lstm_pointwise")


pointwise_forward = Check(_pointwise_inputs, _pointwise_forward)
pointwise_backward = Check(_pointwise_inputs, _pointwise_backward, _pointwise_gradcheck)


# --- one step -------------------------------------------------------------------------


def _step_inputs(rng):
    args = {"x": randn(rng, N, D), "prev_h": randn(rng, N, H), "prev_c": randn(rng, N, H)}
    return {**args, **_weights(rng), "dnext_h": randn(rng, N, H), "dnext_c": randn(rng, N, H)}


_STEP_ARGS = ("x", "prev_h", "prev_c", "Wx", "Wh", "b")


def _step_forward(inputs):
    out = _step_forward_fn()(*(inputs[k] for k in _STEP_ARGS))
    (next_h, next_c), _ = forward_cache("lstm_step_forward", out, 2)
    return {"next_h": next_h, "next_c": next_c}


def _step_backward(inputs):
    L = _lstm()
    _, cache = forward_cache(
        "lstm_step_forward", _step_forward_fn()(*(inputs[k] for k in _STEP_ARGS)), 2
    )
    out = L.lstm_step_backward(inputs["dnext_h"], inputs["dnext_c"], cache)
    return named("lstm_step_backward", ("dx", "dprev_h", "dprev_c", "dWx", "dWh", "db"), out)


def _step_gradcheck(inputs):
    L = _lstm()
    args = {k: inputs[k] for k in _STEP_ARGS}
    gradcheck(_step_forward_fn(), L.lstm_step_backward, args, name="lstm_step")


step_forward = Check(_step_inputs, _step_forward)
step_backward = Check(_step_inputs, _step_backward, _step_gradcheck)


# --- the sequence ---------------------------------------------------------------------


def _sequence_inputs(masked: bool):
    def inputs(rng):
        args = {"x": randn(rng, N, T, D), "h0": randn(rng, N, H), **_weights(rng)}
        if masked:
            args["mask"] = prefix_mask(rng, N, T)
            args["c0"] = randn(rng, N, H)
        return {**args, "dh": randn(rng, N, T, H)}

    return inputs


def _forward(inputs):
    (h,), _ = forward_cache("lstm_forward", _sequence_forward_fn()(**sequence_args(inputs)), 1)
    return {"h": h}


def _padding_carries_state(inputs):
    check_padding_carries_state(_forward(inputs)["h"], inputs["mask"])


def _backward(inputs):
    L = _lstm()
    args = sequence_args(inputs)
    _, cache = forward_cache("lstm_forward", _sequence_forward_fn()(**args), 1)
    names = ("dx", "dh0", "dWx", "dWh", "db") + (("dc0",) if "c0" in args else ())
    return named("lstm_backward", names, L.lstm_backward(inputs["dh"], cache))


def _backward_gradcheck(inputs):
    L = _lstm()
    gradcheck(_sequence_forward_fn(), L.lstm_backward, sequence_args(inputs), name="lstm")


forward = Check(_sequence_inputs(False), _forward)
forward_masked = Check(_sequence_inputs(True), _forward, _padding_carries_state)
backward = Check(_sequence_inputs(False), _backward, _backward_gradcheck)
backward_masked = Check(_sequence_inputs(True), _backward, _backward_gradcheck)
