"""Forward-only uses of a trained VAE: the posterior, log p(x|z), and one decoder step."""

from __future__ import annotations

from minivae import ops
from minivae.backend import get_array_module
from minivae.model.config import ModelConfig
from minivae.model.rnn import rnn_step
from minivae.model.vae import (
    decode_forward,
    decoder_io,
    embedding_names,
    encode_forward,
    on_device,
)


def posterior(params, config: ModelConfig, tokens, lengths, kernel: str = "auto"):
    """q(z|x) = N(mu, e^logvar).  tokens: (N, T), lengths: (N,)  ->  mu, logvar: (N, Z)"""
    _, tokens, _, mask = on_device(params, tokens, lengths)
    mu, logvar, _ = encode_forward(params, config, tokens, mask, kernel)
    return mu, logvar


def log_px_given_z(params, config: ModelConfig, tokens, lengths, z, kernel: str = "auto"):
    """log p(x|z) of each sentence, words and <eos>.

    tokens: (N, T), lengths: (N,), z: (K * N, Z): K codes per sentence (row k * N + n is
    sentence n's k-th), scored in one pass over the batch repeated K times  ->  (K * N,)
    """
    xp, tokens, lengths, _ = on_device(params, tokens, lengths)
    repeats = z.shape[0] // tokens.shape[0]
    if repeats * tokens.shape[0] != z.shape[0]:
        raise ValueError(
            f"z has {z.shape[0]} rows, not a multiple of the {tokens.shape[0]} sentences"
        )
    if repeats > 1:
        tokens, lengths = xp.tile(tokens, (repeats, 1)), xp.tile(lengths, repeats)
    inputs, targets, mask = decoder_io(tokens, lengths)
    logits, _ = decode_forward(params, config, z, inputs, mask, kernel)
    cpu_kernel = "array" if kernel == "array" else "auto"
    return (ops.target_log_probs(logits, targets, cpu_kernel) * mask).sum(axis=1)


def decoder_start(params, config: ModelConfig, z) -> tuple:
    """The decoder's state before <bos>.  z: (N, Z)  ->  (h, c, z) for an LSTM, (h, z) for a GRU

    z rides along in the state: with z_mode concat or both it joins every input.
    """
    xp = get_array_module(z)
    N, H = z.shape[0], config.hidden_dim
    if config.z_init:
        h = xp.tanh(z @ params["z_to_h_W"] + params["z_to_h_b"])
    else:
        h = xp.zeros((N, H), dtype=z.dtype)
    return (h, xp.zeros_like(h), z) if config.cell == "lstm" else (h, z)


def decoder_step(params, config: ModelConfig, state: tuple, prev_tokens, kernel: str = "auto"):
    """Feed one token per row.  prev_tokens: (N,) int
    -> log_probs (N, V) of the next token, the new state
    """
    *rnn_state, z = state
    xp = get_array_module(z)
    x = params[embedding_names(config)[1]][prev_tokens]
    if config.z_concat:
        x = xp.concatenate([x, z], axis=1)
    h, rnn_state = rnn_step(config.cell, x, tuple(rnn_state), params, "dec", kernel)
    return ops.log_softmax(h @ params["out_W"] + params["out_b"]), (*rnn_state, z)
