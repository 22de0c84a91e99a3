"""The translation model's loss and its gradient for every parameter, composed by hand.

    keys, summary = BiLSTM(x)                               the source, both ways (encoder.py)
    q(z|x,y) = N(mu, e^logvar),  [mu; logvar] = [LSTM(y); summary] W + b   recognition network
    p(z|x)   = N(pmu, e^plogvar), [pmu; plogvar] = tanh(summary W1 + b1) W2 + b2   prior network
    z = mu + exp(logvar/2) eps
    p(y|z,x) = the attention decoder over the keys, z in its first state and every input
    loss = -log p(y|z,x) + beta * KL(q(z|x,y) || p(z|x)) [- log p_bow(y|z,x)]

The conditional VAE's negative ELBO (Sohn et al. 2015; Zhang et al. 2016's variational NMT),
per sentence, batch mean; with latent_dim 0 just -log p(y|x), an attention model's loss.
The forward pass keeps every op's cache; the backward pass walks them in reverse.
"""

from __future__ import annotations

from dataclasses import replace

from minivae import ops
from minivae.backend import get_array_module
from minivae.blocks.bow import bow_backward, bow_forward
from minivae.blocks.encoder import RNNReader
from minivae.blocks.latent import latent_backward, latent_forward, recognition_net_forward
from minivae.blocks.sequence import decoder_inputs, on_device
from minivae.interface import Step, loss_terms
from minivae.translation.config import NMTConfig
from minivae.translation.decoder import decoder_backward, decoder_forward
from minivae.translation.encoder import (
    bidirectional_encoder_backward,
    bidirectional_encoder_forward,
)


def source_forward(params, config: NMTConfig, src, src_lengths, step: Step | None = None):
    """What the decoder reads of the source, computed once per sentence.

    src: (N, S) int, src_lengths: (N,)
    -> context (summary (N, K), keys (N, S, K), keys_proj (N, S, A), mask (N, S)), cache;
    keys_proj = keys Wk for additive attention, else an empty (N, S, 0). In training, the
    keys get ``config.key_dropout`` (masks from ``step.rng``), the summary none; ``step``:
    the dropout on the words, the kernels, and whether it is a training step.
    """
    step = Step() if step is None else step
    training = step.training
    xp = get_array_module(params["out_W"])
    src, src_lengths = xp.asarray(src), xp.asarray(src_lengths)
    keys, summary, mask, c_enc = bidirectional_encoder_forward(params, src, src_lengths, step)
    c_key_drop = None
    if training and config.key_dropout:
        keys, c_key_drop = ops.dropout_forward(keys, config.key_dropout, step.rng)
    c_keys = None
    if config.attention == "additive":
        keys_proj, c_keys = ops.attention_keys_forward(keys, params["att_Wk"])
    else:
        keys_proj = xp.zeros((*keys.shape[:2], 0), dtype=keys.dtype)
    return (summary, keys, keys_proj, mask), (c_enc, c_keys, c_key_drop, keys.shape)


def source_backward(dsummary, dkeys, dkeys_proj, cache, grads: dict) -> None:
    """dsummary: (N, K), dkeys: (N, S, K) or None, dkeys_proj: (N, S, A) or None."""
    c_enc, c_keys, c_key_drop, keys_shape = cache
    if dkeys is None:  # attention none: the keys reached the loss only through the summary
        dkeys = get_array_module(dsummary).zeros(keys_shape, dtype=dsummary.dtype)
    if c_keys is not None:
        dkeys_from_proj, grads["att_Wk"] = ops.attention_keys_backward(dkeys_proj, c_keys)
        dkeys = dkeys + dkeys_from_proj
    if c_key_drop is not None:
        dkeys = ops.dropout_backward(dkeys, c_key_drop)
    bidirectional_encoder_backward(dkeys, dsummary, c_enc, grads)


def recognition_forward(params, tokens, mask, summary, kernel="auto"):
    """q(z|x,y) from the target's LSTM and the source summary.
    tokens, mask: (N, T), summary: (N, K)  ->  mu, logvar (N, Z), cache"""
    reader = RNNReader("lstm", "embed", "enc")
    return recognition_net_forward(params, reader, tokens, mask, summary, kernel)


def embed_forward(params, inputs, dropout: float, rng, training: bool, kernel="auto"):
    """The decoder's input words, embedded, with dropout.  inputs: (N, T)  ->  (N, T, E), cache"""
    emb, c_emb = ops.embedding_forward(inputs, params["embed"], kernel)
    emb, c_drop = ops.dropout_forward(emb, dropout, rng, training=training)
    return emb, (c_emb, c_drop)


def embed_backward(demb, cache, grads: dict) -> None:
    c_emb, c_drop = cache
    demb = ops.dropout_backward(demb, c_drop)
    grads["embed"] = ops.embedding_backward(demb, c_emb, dW=grads.get("embed"))


def loss_and_grads(params, batch, config: NMTConfig, step: Step | None = None):
    """The negative conditional ELBO (KL weight ``step.beta``) of a batch and its gradient.

    batch: ``tokens`` (N, T) and ``lengths`` (N,) of the targets y; ``src`` (N, S) source ids
    with ``src_lengths`` (N,)
    step.eps: (N, Z) noise for the reparameterization; drawn from ``rng`` when None
    rng: draws the dropout masks (and eps, and word dropout); dropout needs one
    step.free_bits, word_dropout, kernel: as for the conditional VAE
    step.dropout: inverted dropout on the word embeddings and on the output layer's input
    step.label_smoothing: as for the plain VAE's ``loss_and_grads``
    -> (LossTerms with extra["bow"], grads: {name: array like params[name]})
    """
    step = Step() if step is None else step
    beta, rng, kernel = step.beta, step.rng, step.kernel
    word_dropout, dropout = step.word_dropout, step.dropout
    label_smoothing = step.label_smoothing
    cpu_kernel = step.cpu_kernel
    xp, tokens, lengths, tgt_mask = on_device(params, batch.tokens, batch.lengths)
    N = tokens.shape[0]
    dtype = params["out_W"].dtype
    Z, p = config.latent_dim, dropout

    # Forward: the source, q(z|x,y), p(z|x), a sample of z, p(y|z,x).
    step = replace(step, training=True)
    context, c_src = source_forward(params, config, batch.src, batch.src_lengths, step)
    summary = context[0]
    kl_objective, kl, kl_per_dim = 0.0, xp.zeros(N, dtype=dtype), xp.zeros(0, dtype=dtype)
    z = xp.zeros((N, 0), dtype=dtype)
    if config.latent:  # the target's LSTM reads the decoder's word embeddings
        reader = RNNReader("lstm", "embed", "enc")  # the target's LSTM, the decoder's words
        z, kl_objective, kl, kl_per_dim, c_latent = latent_forward(
            params, reader, tokens, tgt_mask, summary, step
        )
    inputs, targets, dec_mask = decoder_inputs(tokens, lengths, word_dropout, rng)
    emb, c_emb = embed_forward(params, inputs, p, rng, True, kernel)
    logits, _, c_dec = decoder_forward(params, config.attention, emb, z, context, step)
    rec, c_ce = ops.softmax_cross_entropy_forward(
        logits, targets, dec_mask, cpu_kernel, label_smoothing
    )
    bow, c_bow = (0.0, None)
    if config.bow:
        u = xp.concatenate([z, summary], axis=1)
        bow, c_bow = bow_forward(params, u, tokens, tgt_mask, cpu_kernel)
    loss = rec + beta * kl_objective + bow

    # Backward, op by op in reverse.
    grads: dict = {}
    one = xp.asarray(1.0, dtype=dtype)
    dlogits = ops.softmax_cross_entropy_backward(one, c_ce)
    demb, dz, dsummary, dkeys, dkeys_proj = decoder_backward(dlogits, c_dec, grads)
    embed_backward(demb, c_emb, grads)
    if config.bow:
        du = bow_backward(one, c_bow, grads)
        dz, dsummary = dz + du[:, :Z], dsummary + du[:, Z:]
    if config.latent:
        dsummary = dsummary + latent_backward(dz, beta, c_latent, grads)
    source_backward(dsummary, dkeys, dkeys_proj, c_src, grads)
    extra = {"bow": bow} if config.bow else {}
    return loss_terms(loss, rec, kl_objective, kl, kl_per_dim, beta, dec_mask, **extra), grads
