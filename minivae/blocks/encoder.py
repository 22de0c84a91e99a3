"""The RNN encoder: embed a padded batch of sentences and read it with an LSTM/GRU; the text
VAE's q(z|x) heads on its last state."""

from __future__ import annotations

from minivae import ops
from minivae.backend import get_array_module
from minivae.blocks.config import ModelConfig
from minivae.blocks.rnn import rnn_backward, rnn_forward


def embedding_names(config: ModelConfig):
    """-> (the encoder's embedding table's name, the decoder's): one shared table or two."""
    if config.share_embeddings:
        return "embed", "embed"
    return "enc_embed", "dec_embed"


def rnn_encoder_forward(
    params,
    cell: str,
    embed_name: str,
    prefix: str,
    tokens,
    mask,
    kernel: str = "auto",
    dropout: float = 0.0,
    rng=None,
):
    """Embed and read a padded batch of sentences with an RNN whose weights are ``{prefix}_*``.

    tokens, mask: (N, T)  ->  h_last (N, H), the state after each sentence's last word; cache.
    The VAE's encoder uses it for x; the conditional VAE also for its source sentence.
    dropout: the rate of dropout on the embeddings (training only; masks drawn from ``rng``).
    """
    xp = get_array_module(params[f"{prefix}_Wh"])
    emb, c_emb = ops.embedding_forward(tokens, params[embed_name], kernel)
    emb, c_drop = ops.dropout_forward(emb, dropout, rng)
    h0 = xp.zeros((tokens.shape[0], params[f"{prefix}_Wh"].shape[0]), dtype=emb.dtype)
    h, c_rnn = rnn_forward(cell, emb, h0, params, prefix, mask, kernel)
    # Padded steps carry the state, so h[:, -1] is after each sentence's last real word.
    return h[:, -1], (c_emb, c_drop, c_rnn, h.shape, cell, embed_name, prefix)


def rnn_encoder_backward(dh_last, cache, grads: dict) -> None:
    """dh_last: (N, H); the RNN's and the embedding's gradients go into ``grads``."""
    c_emb, c_drop, c_rnn, h_shape, cell, embed_name, prefix = cache
    xp = get_array_module(dh_last)
    dh = xp.zeros(h_shape, dtype=dh_last.dtype)
    dh[:, -1] = dh_last
    demb, _, dw = rnn_backward(cell, dh, c_rnn, prefix)
    grads.update(dw)
    demb = ops.dropout_backward(demb, c_drop)
    grads[embed_name] = ops.embedding_backward(demb, c_emb, dW=grads.get(embed_name))


def encode_forward(
    params, config: ModelConfig, tokens, mask, kernel: str = "auto", dropout=0.0, rng=None
):
    """tokens, mask: (N, T)  ->  mu (N, Z), logvar (N, Z), cache"""
    enc_name, _ = embedding_names(config)
    h_last, c_enc = rnn_encoder_forward(
        params, config.cell, enc_name, "enc", tokens, mask, kernel, dropout, rng
    )
    mu, c_mu = ops.affine_forward(h_last, params["mu_W"], params["mu_b"])
    logvar, c_lv = ops.affine_forward(h_last, params["logvar_W"], params["logvar_b"])
    return mu, logvar, (c_enc, c_mu, c_lv)


def encode_backward(dmu, dlogvar, cache, grads: dict):
    """dmu, dlogvar: (N, Z); the encoder's gradients go into ``grads``."""
    c_enc, c_mu, c_lv = cache
    dh_last, grads["mu_W"], grads["mu_b"] = ops.affine_backward(dmu, c_mu)
    dh_last2, grads["logvar_W"], grads["logvar_b"] = ops.affine_backward(dlogvar, c_lv)
    rnn_encoder_backward(dh_last + dh_last2, c_enc, grads)
