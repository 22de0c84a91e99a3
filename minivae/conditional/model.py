"""The conditional VAE's loss and its gradient for every parameter, composed by hand.

    c = cond(label or source)                  label embedding, or a source RNN's last state
    h_x = RNN(x)                               the plain VAE's encoder RNN
    q(z|x,c) = N(mu, e^logvar),   [mu, logvar] = [h_x; c] W + b           recognition network
    p(z|c)   = N(pmu, e^plogvar), [pmu, plogvar] = tanh(c W1 + b1) W2 + b2   prior network
    z = mu + exp(logvar/2) eps
    p(x|z,c) = the plain VAE's decoder reading u = [z; c]
    loss = -log p(x|z,c) + beta * KL(q(z|x,c) || p(z|c)) [- log p_bow(x|z,c)]

The negative conditional ELBO (Sohn et al. 2015; Zhao et al. 2017), per sentence, batch mean.
The forward pass keeps every op's cache; the backward pass walks them in reverse.
"""

from __future__ import annotations

from minivae import ops
from minivae.backend import get_array_module
from minivae.blocks.bow import bow_backward, bow_forward
from minivae.blocks.decoder import decode_backward, decode_forward
from minivae.blocks.encoder import (
    RNNReader,
    embedding_names,
    rnn_encoder_backward,
    rnn_encoder_forward,
)
from minivae.blocks.latent import latent_backward, latent_forward, recognition_net_forward
from minivae.blocks.sequence import decoder_inputs, on_device
from minivae.conditional.config import CVAEConfig
from minivae.interface import Step, loss_terms

# -- the condition ------------------------------------------------------------------------


def condition_forward(params, config: CVAEConfig, src, src_lengths=None, kernel: str = "auto"):
    """The condition vector.

    label:    src (N,) int class ids            ->  c = label_embed[src]
    sequence: src (N, Ts) int, src_lengths (N,)  ->  c = the source RNN's last state
    -> c (N, C), cache
    """
    xp = get_array_module(params["out_W"])
    src = xp.asarray(src)
    if config.condition == "label":
        emb, cache = ops.embedding_forward(src.reshape(-1, 1), params["label_embed"], kernel)
        return emb[:, 0], ("label", cache)
    src_lengths = xp.asarray(src_lengths)
    mask = xp.arange(src.shape[1])[None, :] < src_lengths[:, None]
    reader = RNNReader(config.cell, "src_embed", "src")
    c, cache = rnn_encoder_forward(params, reader, src, mask, Step(kernel=kernel))
    return c, ("sequence", cache)


def condition_backward(dc, cache, grads: dict) -> None:
    """dc: (N, C); the condition encoder's gradients go into ``grads``."""
    kind, inner = cache
    if kind == "label":
        grads["label_embed"] = ops.embedding_backward(dc[:, None, :], inner)
    else:
        rnn_encoder_backward(dc, inner, grads)


# -- the prior network p(z|c) ---------------------------------------------------------------


# -- the recognition network q(z|x,c) -------------------------------------------------------


def recognition_forward(params, config: CVAEConfig, tokens, mask, c, kernel: str = "auto"):
    """tokens, mask: (N, T), c: (N, C)  ->  mu (N, Z), logvar (N, Z), cache"""
    enc_name = embedding_names(config.decoder_config)[0]
    reader = RNNReader(config.cell, enc_name, "enc")
    return recognition_net_forward(params, reader, tokens, mask, c, kernel)


# -- the bag-of-words loss ------------------------------------------------------------------


# -- the latent layer: q(z|x,c), p(z|c), a draw of z, the KL --------------------------------


# -- the whole model ------------------------------------------------------------------------


def loss_and_grads(params, batch, config: CVAEConfig, step: Step | None = None):
    """The negative conditional ELBO (KL weight ``step.beta``) of a batch and its gradient.

    batch: ``tokens`` (N, T) and ``lengths`` (N,) of x; ``src`` (N,) class ids or (N, Ts)
    source ids with ``src_lengths`` (N,)
    step.eps: (N, Z) noise for the reparameterization; drawn from ``rng`` when None
    step.free_bits: nats per latent dimension below which the KL is not pushed down
    step.kernel, dropout: as for the plain VAE's ``loss_and_grads`` (dropout on the decoder)
    step.label_smoothing: as for the plain VAE's ``loss_and_grads``
    -> (LossTerms with extra["bow"], grads: {name: array like params[name]})
    """
    step = Step() if step is None else step
    beta, rng, kernel = step.beta, step.rng, step.kernel
    word_dropout, label_smoothing = step.word_dropout, step.label_smoothing
    cpu_kernel = step.cpu_kernel
    xp, tokens, lengths, enc_mask = on_device(params, batch.tokens, batch.lengths)
    dtype = params["out_W"].dtype
    Z = config.latent_dim

    # Forward: c, q(z|x,c), p(z|c), a sample of z, p(x|z,c).
    c, c_cond = condition_forward(params, config, batch.src, batch.src_lengths, kernel)
    enc_name = embedding_names(config.decoder_config)[0]
    reader = RNNReader(config.cell, enc_name, "enc")
    z, kl_objective, kl, kl_per_dim, c_latent = latent_forward(
        params, reader, tokens, enc_mask, c, step
    )
    u = xp.concatenate([z, c], axis=1)
    inputs, targets, dec_mask = decoder_inputs(tokens, lengths, word_dropout, rng)
    logits, c_dec = decode_forward(params, config.decoder_config, u, inputs, dec_mask, step)
    rec, c_ce = ops.softmax_cross_entropy_forward(
        logits, targets, dec_mask, cpu_kernel, label_smoothing
    )
    bow, c_bow = (0.0, None)
    if config.bow:
        bow, c_bow = bow_forward(params, u, tokens, enc_mask, cpu_kernel)
    loss = rec + beta * kl_objective + bow

    # Backward, op by op in reverse.
    grads: dict = {}
    one = xp.asarray(1.0, dtype=dtype)
    dlogits = ops.softmax_cross_entropy_backward(one, c_ce)
    du = decode_backward(dlogits, c_dec, config.decoder_config, grads)
    if config.bow:
        du = du + bow_backward(one, c_bow, grads)
    dz, dc = du[:, :Z], du[:, Z:]
    dc = dc + latent_backward(dz, beta, c_latent, grads)
    condition_backward(dc, c_cond, grads)
    return loss_terms(loss, rec, kl_objective, kl, kl_per_dim, beta, dec_mask, bow=bow), grads
