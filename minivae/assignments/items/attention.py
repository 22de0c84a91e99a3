"""Tasks of the ``attention`` assignment: attend (masked softmax and context), additive
attention whole and in its split form, as a decoder uses it over two steps."""

from __future__ import annotations

import numpy as np

from . import Task, forward_cache, named, prefix_mask, randn, without, zero_where_padded

N, S, H, K, A = 3, 4, 2, 3, 2


def _att():
    from minivae.ops import attention

    return attention


def _keys(rng, masked: bool):
    mask = prefix_mask(rng, N, S) if masked else np.ones((N, S), dtype=bool)
    return {"keys": randn(rng, N, S, K), "mask": mask}


def _upstream(rng):
    return {"dcontext": randn(rng, N, K), "dweights": randn(rng, N, S)}


def _outputs(function: str, result) -> tuple[dict, object]:
    (context, weights), cache = forward_cache(function, result, 2)
    return {"context": context, "weights": weights}, cache


def _no_weight_at_padding(inputs, outputs):
    return zero_where_padded("weights", outputs["weights"], inputs["mask"])


# --- attend: weights over the real positions, and the context --------------------------------


def _attend_inputs(rng):
    return {"scores": randn(rng, N, S, scale=2.0), **_keys(rng, True), **_upstream(rng)}


def _attend(inputs):
    args = without(inputs, "dcontext", "dweights")
    return _outputs("attend_forward", _att().attend_forward(**args))


def _attend_forward(inputs):
    return _attend(inputs)[0]


def _attend_backward(inputs):
    _, cache = _attend(inputs)
    out = _att().attend_backward(inputs["dcontext"], inputs["dweights"], cache)
    return named("attend_backward", ("dscores", "dkeys"), out)


def _no_gradient_to_padding(inputs, outputs):
    return zero_where_padded("dkeys", outputs["dkeys"], inputs["mask"])


attend_forward = Task(_attend_inputs, _attend_forward, explain=_no_weight_at_padding)
attend_backward = Task(
    _attend_inputs,
    _attend_backward,
    _attend_forward,
    wrt=("scores", "keys"),
    explain=_no_gradient_to_padding,
)


# --- additive attention ---------------------------------------------------------------------


def _weights(rng):
    return {"Wq": randn(rng, H, A), "Wk": randn(rng, K, A), "v": randn(rng, A)}


def _additive_inputs(masked: bool):
    def inputs(rng):
        return {"query": randn(rng, N, H), **_keys(rng, masked), **_weights(rng), **_upstream(rng)}

    return inputs


def _additive(inputs):
    args = without(inputs, "dcontext", "dweights")
    return _outputs("additive_attention_forward", _att().additive_attention_forward(**args))


def _additive_forward(inputs):
    return _additive(inputs)[0]


def _additive_masked(inputs):
    """Also the context with the padded keys changed: the same."""
    keys = inputs["keys"].copy()
    keys[~inputs["mask"]] = 10.0
    changed = _additive_forward(dict(inputs, keys=keys))
    return {**_additive_forward(inputs), "context_padding_changed": changed["context"]}


def _additive_ignores_padding(inputs, outputs):
    if not np.array_equal(outputs["context_padding_changed"], outputs["context"]):
        return "the context changes when only padded keys (mask False) change"
    return _no_weight_at_padding(inputs, outputs)


def _additive_backward(inputs):
    _, cache = _additive(inputs)
    out = _att().additive_attention_backward(inputs["dcontext"], inputs["dweights"], cache)
    return named("additive_attention_backward", ("dquery", "dkeys", "dWq", "dWk", "dv"), out)


additive_forward = Task(_additive_inputs(False), _additive_forward)
additive_masked = Task(_additive_inputs(True), _additive_masked, explain=_additive_ignores_padding)
additive_backward = Task(
    _additive_inputs(True),
    _additive_backward,
    _additive_forward,
    wrt=("query", "keys", "Wq", "Wk", "v"),
    explain=_no_gradient_to_padding,
)


# --- the split form: keys projected once, two decoder steps ----------------------------------


def _steps_inputs(rng):
    return {
        "query1": randn(rng, N, H),
        "query2": randn(rng, N, H),
        **_keys(rng, True),
        **_weights(rng),
        "dcontext1": randn(rng, N, K),
        "dcontext2": randn(rng, N, K),
    }


def _steps(inputs):
    att = _att()
    out = att.attention_keys_forward(inputs["keys"], inputs["Wk"])
    (keys_proj,), keys_cache = forward_cache("attention_keys_forward", out, 1)
    contexts, caches = {}, []
    for step in ("1", "2"):
        out = att.additive_attention_step_forward(
            inputs["query" + step],
            inputs["keys"],
            keys_proj,
            inputs["mask"],
            inputs["Wq"],
            inputs["v"],
        )
        (context, _), cache = forward_cache("additive_attention_step_forward", out, 2)
        contexts["context" + step] = context
        caches.append(cache)
    return contexts, keys_cache, caches


def _steps_forward(inputs):
    return _steps(inputs)[0]


def _steps_backward(inputs):
    att = _att()
    _, keys_cache, caches = _steps(inputs)
    names = ("dquery", "dkeys", "dkeys_proj", "dWq", "dv")
    grads = {}
    for step, cache in zip(("1", "2"), caches):
        out = att.additive_attention_step_backward(inputs["dcontext" + step], None, cache)
        g = named("additive_attention_step_backward", names, out)
        grads["dquery" + step] = g.pop("dquery")
        for name, value in g.items():  # the keys and the weights are shared: add up
            grads[name] = grads[name] + value if name in grads else value
    out = att.attention_keys_backward(grads.pop("dkeys_proj"), keys_cache)
    dkeys, dWk = named("attention_keys_backward", ("dkeys", "dWk"), out).values()
    return {**grads, "dkeys": grads["dkeys"] + dkeys, "dWk": dWk}


steps_backward = Task(
    _steps_inputs,
    _steps_backward,
    _steps_forward,
    wrt=("query1", "query2", "keys", "Wq", "Wk", "v"),
    explain=_no_gradient_to_padding,
)
