"""The RNN encoder: embed a padded batch of sentences and read it with an LSTM/GRU; the text
VAE's q(z|x) heads on its last state."""

from __future__ import annotations

from typing import NamedTuple

from minivae import ops
from minivae.backend import get_array_module
from minivae.blocks.config import ModelConfig
from minivae.blocks.rnn import rnn_backward, rnn_forward
from minivae.interface import Step


class RNNReader(NamedTuple):
    """What an RNN encoder reads with: its cell, its embedding table, its weights' prefix."""

    cell: str  # "lstm" or "gru"
    embed_name: str  # the parameter of the embedding table
    prefix: str  # the RNN's weights are {prefix}_Wx, {prefix}_Wh and its biases


class RNNEncoderCache(NamedTuple):
    """What ``rnn_encoder_backward`` needs of its forward pass."""

    embedding: object  # the embedding op's cache
    dropout: object  # the dropout op's cache
    rnn: object  # the RNN's cache
    h_shape: tuple  # (N, T, H) of the states
    cell: str
    embed_name: str
    prefix: str


class EncoderCache(NamedTuple):
    """What ``encode_backward`` needs: the RNN encoder's cache and the two heads'."""

    rnn_encoder: RNNEncoderCache
    mu: object  # the affine op's cache of the mean head
    logvar: object  # of the log-variance head


def embedding_names(config: ModelConfig):
    """-> (the encoder's embedding table's name, the decoder's): one shared table or two."""
    if config.share_embeddings:
        return "embed", "embed"
    return "enc_embed", "dec_embed"


def rnn_encoder_forward(params, reader: RNNReader, tokens, mask, step: Step | None = None):
    """Embed and read a padded batch of sentences: ``reader`` names the cell, the embedding
table and the RNN's weights ``{prefix}_*``.

    tokens, mask: (N, T)  ->  h_last (N, H), the state after each sentence's last word; cache.
    The VAE's encoder uses it for x; the conditional VAE also for its source sentence.
    step: the kernels, and the rate of dropout on the embeddings (training only; masks drawn
    from ``step.rng``).
    """
    step = Step() if step is None else step
    (cell, embed_name, prefix), kernel = reader, step.kernel
    dropout, rng = step.dropout, step.rng
    xp = get_array_module(params[f"{prefix}_Wh"])
    emb, c_emb = ops.embedding_forward(tokens, params[embed_name], kernel)
    emb, c_drop = ops.dropout_forward(emb, dropout, rng)
    h0 = xp.zeros((tokens.shape[0], params[f"{prefix}_Wh"].shape[0]), dtype=emb.dtype)
    h, c_rnn = rnn_forward(cell, emb, h0, params, prefix, mask, kernel)
    # Padded steps carry the state, so h[:, -1] is after each sentence's last real word.
    return h[:, -1], RNNEncoderCache(c_emb, c_drop, c_rnn, h.shape, cell, embed_name, prefix)


def rnn_encoder_backward(dh_last, cache, grads: dict) -> None:
    """dh_last: (N, H); the RNN's and the embedding's gradients go into ``grads``."""
    c = cache
    xp = get_array_module(dh_last)
    dh = xp.zeros(c.h_shape, dtype=dh_last.dtype)
    dh[:, -1] = dh_last
    demb, _, dw = rnn_backward(c.cell, dh, c.rnn, c.prefix)
    grads.update(dw)
    demb = ops.dropout_backward(demb, c.dropout)
    grads[c.embed_name] = ops.embedding_backward(demb, c.embedding, dW=grads.get(c.embed_name))


def encode_forward(params, config: ModelConfig, tokens, mask, step: Step | None = None):
    """tokens, mask: (N, T)  ->  mu (N, Z), logvar (N, Z), cache
    step: the kernels, the dropout on the embeddings (training only)"""
    enc_name, _ = embedding_names(config)
    reader = RNNReader(config.cell, enc_name, "enc")
    h_last, c_enc = rnn_encoder_forward(params, reader, tokens, mask, step)
    mu, c_mu = ops.affine_forward(h_last, params["mu_W"], params["mu_b"])
    logvar, c_lv = ops.affine_forward(h_last, params["logvar_W"], params["logvar_b"])
    return mu, logvar, EncoderCache(c_enc, c_mu, c_lv)


def encode_backward(dmu, dlogvar, cache, grads: dict):
    """dmu, dlogvar: (N, Z); the encoder's gradients go into ``grads``."""
    dh_last, grads["mu_W"], grads["mu_b"] = ops.affine_backward(dmu, cache.mu)
    dh_last2, grads["logvar_W"], grads["logvar_b"] = ops.affine_backward(dlogvar, cache.logvar)
    rnn_encoder_backward(dh_last + dh_last2, cache.rnn_encoder, grads)
