"""The RNN decoder p(x|z): z sets its first state and/or joins every input; logits over the
vocabulary at every position (teacher forcing)."""

from __future__ import annotations

from typing import NamedTuple

from minivae import ops
from minivae.backend import get_array_module
from minivae.blocks.config import ModelConfig
from minivae.blocks.encoder import embedding_names
from minivae.blocks.rnn import rnn_backward, rnn_forward
from minivae.blocks.tanh_layer import tanh_layer_backward, tanh_layer_forward
from minivae.interface import Step


class DecoderCache(NamedTuple):
    """What ``decode_backward`` needs of its forward pass, op by op."""

    embedding: object  # the input embedding's cache
    dropout_in: object  # dropout on the input embeddings
    init: object  # the tanh layer's cache of z -> h0, or None (z_mode concat)
    rnn: object  # the RNN's cache
    dropout_out: object  # dropout on the RNN's outputs
    out: object  # the output layer's affine cache


def decode_forward(params, config: ModelConfig, z, inputs, mask, step: Step | None = None):
    """z: (N, Z), inputs, mask: (N, T+1)  ->  logits (N, T+1, V), cache

    step: the kernels, and the rate of dropout on the input embeddings and on the RNN's
    outputs (training only; masks drawn from ``step.rng``).
    """
    step = Step() if step is None else step
    kernel, dropout, rng = step.kernel, step.dropout, step.rng
    xp = get_array_module(z)
    _, dec_name = embedding_names(config)
    N, T1 = inputs.shape
    x, c_emb = ops.embedding_forward(inputs, params[dec_name], kernel)
    x, c_drop_in = ops.dropout_forward(x, dropout, rng)
    S = config.step_width  # the code's last S columns join every input
    if S:
        x = xp.concatenate([x, xp.broadcast_to(z[:, None, -S:], (N, T1, S))], axis=2)
    c_init = None
    if config.z_init:
        h0, c_init = tanh_layer_forward(z, params["z_to_h_W"], params["z_to_h_b"])
    else:
        h0 = xp.zeros((N, config.hidden_dim), dtype=z.dtype)
    h, c_rnn = rnn_forward(config.cell, x, h0, params, "dec", mask, kernel)
    h, c_drop_out = ops.dropout_forward(h, dropout, rng)
    logits, c_out = ops.affine_forward(h, params["out_W"], params["out_b"])
    return logits, DecoderCache(c_emb, c_drop_in, c_init, c_rnn, c_drop_out, c_out)


def decode_backward(dlogits, cache, config: ModelConfig, grads: dict):
    """-> dz (N, Z); parameter gradients go into ``grads``."""
    c_emb, c_drop_in, c_init, c_rnn, c_drop_out, c_out = cache  # DecoderCache, field by field
    dh, grads["out_W"], grads["out_b"] = ops.affine_backward(dlogits, c_out)
    dh = ops.dropout_backward(dh, c_drop_out)
    dx, dh0, dw = rnn_backward(config.cell, dh, c_rnn, "dec")
    grads.update(dw)
    E, S = config.embed_dim, config.step_width
    xp = get_array_module(dlogits)
    dz = xp.zeros((dx.shape[0], config.latent_dim), dtype=dx.dtype)
    if S:
        dz[:, -S:] = dx[:, :, E:].sum(axis=1)  # copied to every step: its gradients add up
        dx = dx[:, :, :E]
    if config.z_init:
        dz_init, grads["z_to_h_W"], grads["z_to_h_b"] = tanh_layer_backward(dh0, c_init)
        dz = dz + dz_init
    name = embedding_names(config)[1]
    dx = ops.dropout_backward(dx, c_drop_in)
    grads[name] = ops.embedding_backward(dx, c_emb, dW=grads.get(name))
    return dz
