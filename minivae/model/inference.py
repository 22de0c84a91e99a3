"""Forward-only uses of a trained model: the posterior, log p(x|z), and one decoder step."""

from __future__ import annotations

from minivae import ops
from minivae.backend import get_array_module
from minivae.model.config import ModelConfig
from minivae.model.rnn import rnn_step
from minivae.model.vae import decode_forward, decoder_io, embedding_names, encode_forward


def _device(params, tokens, lengths):
    xp = get_array_module(params["out_W"])
    return xp, xp.asarray(tokens), xp.asarray(lengths)


def posterior(params, config: ModelConfig, tokens, lengths):
    """q(z|x) = N(mu, e^logvar).  tokens: (N, T), lengths: (N,)  ->  mu, logvar: (N, Z)"""
    xp, tokens, lengths = _device(params, tokens, lengths)
    mask = xp.arange(tokens.shape[1])[None, :] < lengths[:, None]
    mu, logvar, _ = encode_forward(params, config, tokens, mask)
    return mu, logvar


def log_px_given_z(params, config: ModelConfig, tokens, lengths, z):
    """log p(x|z) of each sentence, words and <eos>.  z: (N, Z)  ->  (N,)"""
    xp, tokens, lengths = _device(params, tokens, lengths)
    inputs, targets, mask = decoder_io(tokens, lengths)
    logits, _ = decode_forward(params, config, z, inputs, mask)
    logp = ops.log_softmax(logits)
    N, T1, V = logp.shape
    picked = logp.reshape(N * T1, V)[xp.arange(N * T1), targets.reshape(-1)].reshape(N, T1)
    return (picked * mask).sum(axis=1)


def decoder_start(params, config: ModelConfig, z):
    """The decoder's state before <bos>.  z: (N, Z)  ->  state: (h,) or (h, c)"""
    xp = get_array_module(z)
    N, H = z.shape[0], config.hidden_dim
    if config.z_init:
        h = xp.tanh(z @ params["z_to_h_W"] + params["z_to_h_b"])
    else:
        h = xp.zeros((N, H), dtype=z.dtype)
    return (h, xp.zeros_like(h)) if config.cell == "lstm" else (h,)


def decoder_step(params, config: ModelConfig, state, prev_tokens, z):
    """Feed one token per row.  prev_tokens: (N,) int, z: (N, Z)
    -> log_probs (N, V) of the next token, the new state
    """
    xp = get_array_module(z)
    x = params[embedding_names(params, config)[1]][prev_tokens]
    if config.z_concat:
        x = xp.concatenate([x, z], axis=1)
    h, state = rnn_step(config.cell, x, state, params, "dec")
    return ops.log_softmax(h @ params["out_W"] + params["out_b"]), state
