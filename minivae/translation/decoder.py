"""The attention decoder, Bahdanau et al. (2015)'s: at every step the decoder's last state
asks the source where to look, and the answer joins the next input and the prediction.

    h_{-1} = tanh([summary; z] W_init + b_init),  c_{-1} = 0
    ctx_t, w_t = attend(h_{t-1}, keys, mask)                          context (N, K), weights (N, S)
    h_t, c_t   = LSTM([e(y_{t-1}); ctx_t; z], h_{t-1}, c_{t-1})
    p(y_t)     = softmax(dropout(tanh([h_t; ctx_t] W_hid + b_hid)) W_out + b_out)

So the context of the words read so far is fed with each input ("input feeding": the model
knows what it attended to before), and w_t aligns output word t with the source words.
With attention ``none`` the context is the source summary at every step.

Training unrolls the recurrence by hand around the ops (``recurrence_forward``): everything
that does not depend on the previous step is done for all steps at once, as ``ops.lstm``
does: the input projection of the words and z, the output layer, and every weight gradient
of the recurrence (one product over all steps instead of one per step). Only the
attention and the cell stay in the loop, with the previous context and state read through
one product [ctx_t; h_{t-1}] [Wx_ctx; Wh]. Generation runs ``ops.lstm_step_forward``.
"""

from __future__ import annotations

from typing import NamedTuple

from minivae import ops
from minivae.backend import get_array_module
from minivae.blocks.tanh_layer import tanh_layer_backward, tanh_layer_forward
from minivae.interface import Step
from minivae.ops.lstm import select_pointwise


def attend_forward(kind: str, params, query, keys, keys_proj, mask):
    """One step's attention.  query: (N, H)  ->  context (N, K), weights (N, S), cache"""
    if kind == "additive":
        return ops.additive_attention_step_forward(
            query, keys, keys_proj, mask, params["att_Wq"], params["att_v"]
        )
    return ops.bilinear_attention_forward(query, keys, mask, params["att_W"])


def attend_backward(kind: str, dcontext, cache, grads: dict):
    """-> dquery (N, H), dkeys (N, S, K), dkeys_proj (N, S, A) or None; the attention's
    weight gradients are added into ``grads``."""
    if kind == "additive":
        dquery, dkeys, dkeys_proj, dWq, dv = ops.additive_attention_step_backward(
            dcontext, None, cache
        )
        add_into(grads, "att_Wq", dWq)
        add_into(grads, "att_v", dv)
        return dquery, dkeys, dkeys_proj
    dquery, dkeys, dW = ops.bilinear_attention_backward(dcontext, None, cache)
    add_into(grads, "att_W", dW)
    return dquery, dkeys, None


def add_into(grads: dict, name: str, g) -> None:
    if name in grads:
        grads[name] += g
    else:
        grads[name] = g


class RecurrenceCache(NamedTuple):
    """Time-major (step t is row t), as in ``ops.lstm``."""

    kind: str
    x_words: object  # (T * N, E) the embedded input words
    z: object  # (N, Z)
    read: object  # (T, N, K + H) [ctx_t; h_{t-1}], what each step read through W_read
    W_read: object  # (K + H, 4H) [Wx_ctx; Wh]
    c: object  # (T + 1, N, H) cell states, the initial one first
    gates: object  # (T, N, 4H)
    tanh_c: object  # (T, N, H)
    attention: list  # each step's attention cache
    keys_shape: tuple
    keys_proj_shape: tuple
    cell: object  # the pointwise pair (``ops.lstm.select_pointwise``)
    Wx: object  # (E + K + Z, 4H)


def recurrence_forward(params, kind: str, inputs: tuple, source: tuple, kernel="auto"):
    """The decoder's steps with attention, teacher-forced.

    inputs: emb (N, T, E) the input words, embedded; z: (N, Z) (Z may be 0); h0: (N, H)
    source: keys (N, S, K), keys_proj (N, S, A) (additive) or unused, mask (N, S) bool
    -> h (N, T, H), contexts (N, T, K), weights (N, T, S), cache
    """
    (emb, z, h0), (keys, keys_proj, mask) = inputs, source
    xp = get_array_module(emb)
    N, T, E = emb.shape
    K = keys.shape[2]
    Wx, Wh, b = params["dec_Wx"], params["dec_Wh"], params["dec_b"]
    H = Wh.shape[0]
    cell = select_pointwise(kernel, xp, emb.dtype)
    # What no step depends on: the words' and z's input projections, for all steps at once.
    x_words = emb.transpose(1, 0, 2).reshape(T * N, E)
    pre = (x_words @ Wx[:E]).reshape(T, N, 4 * H)
    pre += b + z @ Wx[E + K :]
    W_read = xp.concatenate([Wx[E : E + K], Wh], axis=0)
    read = xp.empty((T, N, K + H), dtype=emb.dtype)
    h = xp.empty((T, N, H), dtype=emb.dtype)
    c = xp.empty((T + 1, N, H), dtype=emb.dtype)
    c[0] = 0.0
    gates = xp.empty((T, N, 4 * H), dtype=emb.dtype)
    tanh_c = xp.empty((T, N, H), dtype=emb.dtype)
    weights = xp.empty((T, N, keys.shape[1]), dtype=emb.dtype)
    caches = []
    prev_h = h0
    for t in range(T):
        read[t, :, :K], weights[t], att = attend_forward(
            kind, params, prev_h, keys, keys_proj, mask
        )
        read[t, :, K:] = prev_h
        a = pre[t]
        a += read[t] @ W_read
        h[t], c[t + 1], gates[t], tanh_c[t] = cell.forward(a, c[t])
        prev_h = h[t]
        caches.append(att)
    cache = RecurrenceCache(
        kind, x_words, z, read, W_read, c, gates, tanh_c, caches, keys.shape,
        keys_proj.shape, cell, Wx,
    )  # fmt: skip
    batch_major = (h.transpose(1, 0, 2), read[:, :, :K].transpose(1, 0, 2))
    return *batch_major, weights.transpose(1, 0, 2), cache


def recurrence_backward(dh, dcontexts, cache: RecurrenceCache, grads: dict):
    """dh: (N, T, H), dcontexts: (N, T, K) from the output layer
    -> demb (N, T, E), dz (N, Z), dh0 (N, H), dkeys (N, S, K), dkeys_proj (N, S, A);
    the decoder's and the attention's weight gradients go into ``grads``."""
    xp = get_array_module(dh)
    T, N, H = cache.tanh_c.shape
    K = cache.keys_shape[2]
    E = cache.x_words.shape[1]
    da = xp.empty((T, N, 4 * H), dtype=dh.dtype)  # every step's gate gradients, kept for dW
    dkeys = xp.zeros(cache.keys_shape, dtype=dh.dtype)
    dkeys_proj = xp.zeros(cache.keys_proj_shape, dtype=dh.dtype)
    dnext_h = xp.zeros((N, H), dtype=dh.dtype)
    dnext_c = xp.zeros((N, H), dtype=dh.dtype)
    for t in reversed(range(T)):
        dnext_h = dnext_h + dh[:, t]
        da[t], dnext_c = cache.cell.backward(
            dnext_h, dnext_c, cache.c[t], cache.gates[t], cache.tanh_c[t]
        )
        dread = (cache.W_read @ da[t].T).T  # (Wr da^T)^T: the faster layout (ops.lstm)
        dquery, dk, dkp = attend_backward(
            cache.kind, dread[:, :K] + dcontexts[:, t], cache.attention[t], grads
        )
        dkeys += dk
        if dkp is not None:
            dkeys_proj += dkp
        dnext_h = dread[:, K:] + dquery  # h_{t-1} fed the cell and asked the question
    # Weight gradients summed over all steps at once.
    da_flat = da.reshape(T * N, 4 * H)
    dW_read = cache.read.reshape(T * N, K + H).T @ da_flat
    da_sum = da.sum(axis=0)  # (N, 4H): z and b were added at every step
    Wx = cache.Wx
    dWx = xp.concatenate([cache.x_words.T @ da_flat, dW_read[:K], cache.z.T @ da_sum], axis=0)
    grads.update({"dec_Wx": dWx, "dec_Wh": dW_read[K:], "dec_b": da_sum.sum(axis=0)})
    demb = (da_flat @ Wx[:E].T).reshape(T, N, E).transpose(1, 0, 2)
    dz = da_sum @ Wx[E + K :].T
    return demb, dz, dnext_h, dkeys, dkeys_proj


# -- the whole decoder: h0, the recurrence (or a plain LSTM), the output layer --------------


def decoder_forward(params, kind: str, emb, z, context, step: Step | None = None):
    """emb: (N, T, E) input words embedded (dropout applied), z: (N, Z),
    context: (summary (N, K), keys (N, S, K), keys_proj, mask (N, S)); step: the dropout on
    the output layer's input (in a training step), the kernels
    -> logits (N, T, V), weights (N, T, S) or None (attention none), cache
    """
    step = Step() if step is None else step
    dropout, rng, training, kernel = step.dropout, step.rng, step.training, step.kernel
    xp = get_array_module(emb)
    summary, keys, keys_proj, mask = context
    N, T, _ = emb.shape
    u = xp.concatenate([summary, z], axis=1)
    h0, c_init = tanh_layer_forward(u, params["init_W"], params["init_b"])
    if kind == "none":
        # The context is the summary at every step: a plain LSTM over [word; summary; z].
        extra = xp.broadcast_to(u[:, None, :], (N, T, u.shape[1]))
        x = xp.concatenate([emb, extra], axis=2)
        Wx, Wh, b = params["dec_Wx"], params["dec_Wh"], params["dec_b"]
        h, c_rnn = ops.lstm_forward(x, h0, Wx, Wh, b, kernel=kernel)
        contexts, weights = xp.broadcast_to(summary[:, None, :], (N, T, summary.shape[1])), None
    else:
        h, contexts, weights, c_rnn = recurrence_forward(
            params, kind, (emb, z, h0), (keys, keys_proj, mask), kernel
        )
    out, c_hid = tanh_layer_forward(
        xp.concatenate([h, contexts], axis=2), params["hid_W"], params["hid_b"]
    )
    out, c_drop = ops.dropout_forward(out, dropout, rng, training=training)
    logits, c_out = ops.affine_forward(out, params["out_W"], params["out_b"])
    cache = (kind, c_init, c_rnn, c_hid, c_drop, c_out, emb.shape[2], summary.shape[1])
    return logits, weights, cache


def decoder_backward(dlogits, cache, grads: dict):
    """dlogits: (N, T, V)  ->  demb (N, T, E), dz (N, Z), dsummary (N, K), dkeys (N, S, K) or
    None, dkeys_proj or None; parameter gradients go into ``grads``."""
    kind, c_init, c_rnn, c_hid, c_drop, c_out, E, K = cache
    dout, grads["out_W"], grads["out_b"] = ops.affine_backward(dlogits, c_out)
    dout = ops.dropout_backward(dout, c_drop)
    dcat, grads["hid_W"], grads["hid_b"] = tanh_layer_backward(dout, c_hid)
    H = dcat.shape[2] - K
    dh, dcontexts = dcat[:, :, :H], dcat[:, :, H:]
    dkeys = dkeys_proj = None
    if kind == "none":
        dx, dh0, grads["dec_Wx"], grads["dec_Wh"], grads["dec_b"] = ops.lstm_backward(dh, c_rnn)
        demb, du_steps = dx[:, :, :E], dx[:, :, E:].sum(axis=1)  # u was read at every step
        dsummary_steps = du_steps[:, :K] + dcontexts.sum(axis=1)
        dz = du_steps[:, K:]
    else:
        demb, dz, dh0, dkeys, dkeys_proj = recurrence_backward(dh, dcontexts, c_rnn, grads)
        dsummary_steps = 0.0
    du, grads["init_W"], grads["init_b"] = tanh_layer_backward(dh0, c_init)
    dsummary = du[:, :K] + dsummary_steps
    return demb, dz + du[:, K:], dsummary, dkeys, dkeys_proj


# -- generation: one step at a time ----------------------------------------------------------


def decoder_start(params, code) -> tuple:
    """code: (z (N, Z), summary (N, K), keys, keys_proj, mask)
    -> the state before <bos>: (h, c, z, summary, keys, keys_proj, mask)"""
    z, summary, *source = code
    xp = get_array_module(summary)
    h = xp.tanh(xp.concatenate([summary, z], axis=1) @ params["init_W"] + params["init_b"])
    return (h, xp.zeros_like(h), z, summary, *source)


def decoder_step(params, kind: str, state: tuple, prev_tokens, kernel="auto"):
    """Feed one word per row.  prev_tokens: (N,) int
    -> log_probs (N, V), weights (N, S) or None, the new state"""
    h, c, z, summary, keys, keys_proj, mask = state
    xp = get_array_module(h)
    if kind == "none":
        context, weights = summary, None
    else:
        context, weights, _ = attend_forward(kind, params, h, keys, keys_proj, mask)
    x = xp.concatenate([params["embed"][prev_tokens], context, z], axis=1)
    Wx, Wh, b = params["dec_Wx"], params["dec_Wh"], params["dec_b"]
    h, c, _ = ops.lstm_step_forward(x, h, c, Wx, Wh, b, kernel=kernel)
    out = xp.tanh(xp.concatenate([h, context], axis=1) @ params["hid_W"] + params["hid_b"])
    log_probs = ops.log_softmax(out @ params["out_W"] + params["out_b"])
    return log_probs, weights, (h, c, z, summary, keys, keys_proj, mask)
