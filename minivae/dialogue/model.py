"""The dialogue model's loss and its gradient for every parameter, composed by hand.

For a batch of whole dialogues (``minivae.dialogue.data.DialogueBatch``), U utterances and
P (context, response) pairs:

    u_i = [fw-RNN(utt_i) ; bw-RNN(utt_i)]            every utterance encoded once   (U, 2H)
    c_p = ctx-RNN([u_j ; speaker_j] for the <= 9 turns before response p)         (P, C)
    x_p = u_(response p)                             the same encoder reads the response
    y_p = act_embed[act of response p]               the knowledge-guided variable (kgCVAE)
    q(z|x,c,y) = N(mu, e^logvar), [mu, logvar] = [x; c; tanh(y W_y + b_y)] W + b
    p(z|c)     = N(pmu, e^plogvar) from tanh(c W1 + b1)                  prior network
    z = mu + exp(logvar / 2) eps,   g = [z; c]
    p(y|z,c)   = softmax(tanh(g W_a + b_a) act_W + act_b)
    p_bow(w|z,c) = softmax(tanh(g W_b + b_b) bow_W + bow_b)
    p(x|z,c,y) = the plain VAE's decoder: [g; y] sets its first state, y joins each input
    loss = -log p(x|z,c,y) + beta KL(q || p(z|c)) - log p_bow(x|g) - log p(y|g)

(Zhao et al. 2017, per response, batch mean; the layers as their released code has them,
snakeztc/NeuralDialog-CVAE models/cvae.py: attribute_fc1, meta_fc1, bow_fc1.)
``latent_dim`` 0 drops z: g = c, no KL, the HRED baseline; ``act_dim`` 0 drops y (a plain
CVAE); ``bow`` False drops the bag of words.
The forward pass keeps every op's cache; the backward pass walks them in reverse.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from minivae import ops
from minivae.backend import get_array_module
from minivae.blocks.bow import bow_backward, bow_forward
from minivae.blocks.decoder import decode_backward, decode_forward
from minivae.blocks.encoder import RNNReader, rnn_encoder_backward, rnn_encoder_forward
from minivae.blocks.latent import (
    gaussian_heads_backward,
    gaussian_heads_forward,
    kl_term_backward,
    kl_term_forward,
    prior_backward,
    prior_forward,
)
from minivae.blocks.rnn import rnn_backward, rnn_forward
from minivae.blocks.sequence import decoder_inputs, draw_eps
from minivae.blocks.tanh_layer import tanh_layer_backward, tanh_layer_forward
from minivae.data.vocab import PAD
from minivae.dialogue.config import DialogueConfig
from minivae.interface import Step, loss_terms

# -- the utterance encoder: a bidirectional RNN ------------------------------------------


def reverse_within(tokens, lengths):
    """Each row's first ``length`` tokens in reverse order, padding kept at the end.
    tokens: (N, T), lengths: (N,) -> (N, T)"""
    xp = get_array_module(tokens)
    T = tokens.shape[1]
    source = lengths[:, None] - 1 - xp.arange(T)[None, :]  # position read at step t
    real = source >= 0
    picked = xp.take_along_axis(tokens, xp.maximum(source, 0), axis=1)
    return xp.where(real, picked, PAD)


# Rows per length bucket: a batch's utterances (and responses) are read in groups of similar
# length, each padded only to its own longest, so a 40-token turn does not make every short
# one run 40 steps. The split is exact: the same sums, in other groups.
CHUNK = 32


def length_chunks(lengths, size: int | None = None) -> list:
    """Row indices (host) sorted by length and cut into groups of ``size`` (``CHUNK``)."""
    size = size or CHUNK
    order = np.argsort(np.asarray(lengths), kind="stable")
    return [order[i : i + size] for i in range(0, len(order), size)]


class UtteranceGroupCache(NamedTuple):
    """One length group of utterances: the rows it holds and its two RNNs' caches."""

    rows: object  # (n,) the group's rows among the batch's utterances
    forward: object  # the forward RNN's cache
    backward: object  # the backward RNN's cache (it read each utterance reversed)


class ResponseGroupCache(NamedTuple):
    """One length group of responses: its rows, its share of the batch mean, the caches."""

    rows: object  # (n,) the group's pairs
    weight: float  # n / P: the group's mean is weighed by its share
    decoder: object  # the decoder's cache
    cross_entropy: object  # the reconstruction's cross-entropy cache
    bow: object  # the bag-of-words head's cache, or None


class LatentLayerCache(NamedTuple):
    """q's heads, the prior network, the draw of z and the KL term."""

    heads: object
    prior: object
    draw: object
    kl: object


class ActCache(NamedTuple):
    """p(y|z,c): the head's tanh layer, its output layer and the cross-entropy."""

    hidden: object
    out: object
    cross_entropy: object


class PairsCache(NamedTuple):
    """What ``encode_pairs`` computed: utterances, contexts and the acts' embedding."""

    utterances: list  # [UtteranceGroupCache]
    context: object  # ContextCache
    act_embed: object  # the act embedding's cache, or None


def add_into(grads: dict, part: dict) -> None:
    """Sum a group's gradients into ``grads`` (the blocks assign theirs: one dict each)."""
    for name, g in part.items():
        grads[name] = g if name not in grads else grads[name] + g


def utterances_forward(params, config: DialogueConfig, batch, step: Step):
    """u = [forward RNN's last state; backward RNN's last state] of every utterance of a
    batch (``batch.utterances`` (U, T), ``batch.utt_lengths`` (U,)), read in length groups.
    -> u (U, 2H), cache"""
    xp = get_array_module(params["out_W"])
    H = config.hidden_dim
    forward = RNNReader(config.cell, "embed", "utt_fw")
    backward = RNNReader(config.cell, "embed", "utt_bw")
    u = xp.zeros((len(batch.utt_lengths), 2 * H), dtype=params["out_W"].dtype)
    caches = []
    for rows in length_chunks(batch.utt_lengths):
        lengths = batch.utt_lengths[rows]
        tokens = xp.asarray(batch.utterances[rows, : max(int(lengths.max()), 1)])
        lengths = xp.asarray(lengths)
        mask = xp.arange(tokens.shape[1])[None, :] < lengths[:, None]
        h_fw, c_fw = rnn_encoder_forward(params, forward, tokens, mask, step)
        reversed_utt = reverse_within(tokens, lengths)
        h_bw, c_bw = rnn_encoder_forward(params, backward, reversed_utt, mask, step)
        on = xp.asarray(rows)
        u[on, :H], u[on, H:] = h_fw, h_bw
        caches.append(UtteranceGroupCache(on, c_fw, c_bw))
    return u, caches


def utterances_backward(du, cache, grads: dict) -> None:
    """du: (U, 2H); the two RNNs' and the embedding's gradients go into ``grads``."""
    H = du.shape[1] // 2
    for group in cache:
        part: dict = {}
        rnn_encoder_backward(du[group.rows, :H], group.forward, part)
        rnn_encoder_backward(du[group.rows, H:], group.backward, part)
        add_into(grads, part)


# -- the context RNN over utterance vectors and speakers ----------------------------------


class ContextCache(NamedTuple):
    rnn: object  # the context RNN's cache
    rows: object  # (P, W) the utterance rows read
    mask: object  # (P, W) real turns
    h_shape: tuple
    cell: str


def rows_matrix(rows, num: int, dtype):
    """The one-hot matrix S (len(rows), num) with S[k, rows[k]] = 1: u[rows] = S u, and the
    gradient of a gather is S^T d (a scatter-add in one product, on any backend)."""
    xp = get_array_module(rows)
    return (rows[:, None] == xp.arange(num)[None, :]).astype(dtype)


def context_forward(params, config: DialogueConfig, u, batch, kernel: str = "auto"):
    """c: the context RNN's state after the last turn before each response (zeros for an
    opening: no turn before it).  u: (U, 2H)  ->  c (P, C), cache"""
    xp = get_array_module(u)
    rows, lengths = xp.asarray(batch.context), xp.asarray(batch.context_lengths)
    speakers = xp.asarray(batch.speakers)
    P, W = rows.shape
    mask = xp.arange(W)[None, :] < lengths[:, None]
    who = (speakers[..., None] == xp.arange(2)).astype(u.dtype)  # one-hot speaker
    x = xp.concatenate([u[rows], who], axis=2) * mask[..., None]
    h0 = xp.zeros((P, config.context_dim), dtype=u.dtype)
    h, c_rnn = rnn_forward(config.cell, x, h0, params, "ctx", mask, kernel)
    # Padded steps carry the state: h[:, -1] is after each context's last turn.
    return h[:, -1], ContextCache(c_rnn, rows, mask, h.shape, config.cell)


def context_backward(dc, cache: ContextCache, du, grads: dict) -> None:
    """dc: (P, C); adds the utterance vectors' gradient into du (U, 2H), the context RNN's
    into ``grads``."""
    xp = get_array_module(dc)
    dh = xp.zeros(cache.h_shape, dtype=dc.dtype)
    dh[:, -1] = dc
    dx, _, dw = rnn_backward(cache.cell, dh, cache.rnn, "ctx")
    grads.update(dw)
    real = cache.mask
    du += rows_matrix(cache.rows[real], du.shape[0], du.dtype).T @ dx[real][:, : du.shape[1]]


# -- the whole model ------------------------------------------------------------------------


def encode_pairs(params, config: DialogueConfig, batch, step: Step):
    """The utterance vectors, each pair's context vector c and its act's embedding y.
    -> u (U, 2H), c (P, C), y (P, A) or None, caches"""
    xp = get_array_module(params["out_W"])
    u, c_utt = utterances_forward(params, config, batch, step)
    c, c_ctx = context_forward(params, config, u, batch, step.kernel)
    y, c_y = None, None
    if config.act_dim:
        acts = xp.asarray(batch.acts)[:, None]
        y, c_y = ops.embedding_forward(acts, params["act_embed"], step.cpu_kernel)
        y = y[:, 0]
    return u, c, y, PairsCache(c_utt, c_ctx, c_y)


def recognition_forward(params, u, c, y, batch):
    """[x; c; tanh(y W_y + b_y)]: what q(z|x,c,y) reads (x the response's utterance vector;
    Zhao et al.'s recog_input with attribute_fc1).  -> h_q (P, 2H + C + A), cache"""
    xp = get_array_module(u)
    x = u[xp.asarray(batch.responses)]
    if y is None:
        return xp.concatenate([x, c], axis=1), None
    y_h, c_fc = tanh_layer_forward(y, params["y_fc_W"], params["y_fc_b"])
    return xp.concatenate([x, c, y_h], axis=1), c_fc


def recognition_input(params, u, c, y, batch):
    """h_q of ``recognition_forward`` alone (inference)."""
    return recognition_forward(params, u, c, y, batch)[0]


def latent_forward(params, config: DialogueConfig, h_q, c, step: Step):
    """q(z|x,c,y) from h_q = [x; c; y], p(z|c), z = mu + e^(logvar/2) eps and the KL term.
    -> z (P, Z), kl_objective, kl (P,), kl_per_dim (Z,), cache"""
    mu, logvar, c_heads = gaussian_heads_forward(params, h_q)
    prior_mu, prior_logvar, c_prior = prior_forward(params, c)
    xp = get_array_module(mu)
    eps = xp.asarray(draw_eps(step.rng, mu.shape, step.eps), dtype=mu.dtype)
    z, c_rep = ops.reparameterize_forward(mu, logvar, eps)
    # Li et al.'s threshold is given as a total over the Z dimensions (their target_kl / nz).
    threshold = step.kl_threshold / mu.shape[1] if step.kl_threshold else 0.0
    kl_objective, kl, kl_per_dim, c_kl = kl_term_forward(
        mu, logvar, step.free_bits, prior_mu, prior_logvar, threshold
    )
    return z, kl_objective, kl, kl_per_dim, LatentLayerCache(c_heads, c_prior, c_rep, c_kl)


def latent_backward(dz, beta: float, cache, grads: dict):
    """-> dh_q (P, 2H + C + A), dc (P, C) from the prior network."""
    dmu, dlogvar = ops.reparameterize_backward(dz, cache.draw)
    dmu_kl, dlogvar_kl, dprior_mu, dprior_logvar = kl_term_backward(beta, cache.kl)
    dc = prior_backward(dprior_mu, dprior_logvar, cache.prior, grads)
    return gaussian_heads_backward(dmu + dmu_kl, dlogvar + dlogvar_kl, cache.heads, grads), dc


def responses_forward(params, config: DialogueConfig, codes, batch, step: Step):
    """-log p(x|code) of the responses (``batch.tokens``, ``batch.lengths``) and their
    bag-of-words loss -log p_bow(x|g), read in length groups; per response, batch means.
    codes: (g (P, Z + C), [g; y] (P, Z + C + A))  ->  rec, bow, tokens predicted, cache"""
    g, code = codes
    xp = get_array_module(code)
    P = code.shape[0]
    rec, bow, num_tokens, caches = 0.0, 0.0, 0, []
    for rows in length_chunks(batch.lengths):
        lengths = batch.lengths[rows]
        tokens = xp.asarray(batch.tokens[rows, : int(lengths.max())])
        lengths, on = xp.asarray(lengths), xp.asarray(rows)
        inputs, targets, mask = decoder_inputs(tokens, lengths, step.word_dropout, step.rng)
        logits, c_dec = decode_forward(params, config.decoder_config, code[on], inputs, mask, step)
        part, c_ce = ops.softmax_cross_entropy_forward(
            logits, targets, mask, step.cpu_kernel, step.label_smoothing
        )
        weight = len(rows) / P  # the op's mean is over the group: weigh it by its share
        rec = rec + weight * part
        num_tokens += int(mask.sum())
        c_bow = None
        if config.bow:
            words = xp.arange(tokens.shape[1])[None, :] < lengths[:, None]
            part, c_bow = bow_forward(params, g[on], tokens, words, step.cpu_kernel)
            bow = bow + weight * part
        caches.append(ResponseGroupCache(on, weight, c_dec, c_ce, c_bow))
    return rec, bow, num_tokens, caches


def responses_backward(cache, config: DialogueConfig, dg, dcode, grads: dict) -> None:
    """Adds the gradients of rec + bow into dg (P, Z + C) and dcode (P, Z + C + A); the
    decoder's and the bag-of-words head's into ``grads``."""
    for group in cache:
        part: dict = {}
        dweight = dcode.dtype.type(group.weight)
        dlogits = ops.softmax_cross_entropy_backward(dweight, group.cross_entropy)
        dcode[group.rows] += decode_backward(dlogits, group.decoder, config.decoder_config, part)
        if group.bow is not None:
            dg[group.rows] += bow_backward(dweight, group.bow, part)
        add_into(grads, part)


def act_logits_forward(params, g):
    """The logits of p(y|z,c): tanh(g W_a + b_a) act_W + act_b (Zhao et al.'s meta_fc1 and
    da_project).  g: (P, Z + C) -> (P, K), cache"""
    h, c_fc = tanh_layer_forward(g, params["act_fc_W"], params["act_fc_b"])
    logits, c_aff = ops.affine_forward(h, params["act_W"], params["act_b"])
    return logits, (c_fc, c_aff)


def act_forward(params, g, batch, kernel: str = "auto"):
    """-log p(y|z,c) of each response's act, batch mean.  g: (P, Z + C) -> act, cache"""
    xp = get_array_module(g)
    logits, (c_fc, c_aff) = act_logits_forward(params, g)
    acts = xp.asarray(batch.acts)[:, None]
    every = xp.ones(acts.shape, dtype=bool)
    act, c_ce = ops.softmax_cross_entropy_forward(logits[:, None, :], acts, every, kernel)
    return act, ActCache(c_fc, c_aff, c_ce)


def act_backward(one, cache, grads: dict):
    """-> dg (P, Z + C); the act head's gradients go into ``grads``."""
    dlogits = ops.softmax_cross_entropy_backward(one, cache.cross_entropy)[:, 0]
    dh, grads["act_W"], grads["act_b"] = ops.affine_backward(dlogits, cache.out)
    dg, grads["act_fc_W"], grads["act_fc_b"] = tanh_layer_backward(dh, cache.hidden)
    return dg


def loss_and_grads(params, batch, config: DialogueConfig, step: Step | None = None):
    """The loss above (KL weight ``step.beta``) of a batch of dialogues and its gradient.

    step: eps (P, Z) or None (drawn from ``step.rng``), free bits, word dropout, dropout
    (on the embeddings and the decoder's outputs), label smoothing, the kernels
    -> (LossTerms with extra["bow"], extra["act"], grads: {name: array like params[name]})
    """
    step = Step() if step is None else step
    xp = get_array_module(params["out_W"])
    dtype = params["out_W"].dtype
    Z, H = config.latent_dim, config.hidden_dim

    # Forward: utterances, contexts, y, z, the decoder and bag of words, p(y|z,c).
    u, c, y, c_pairs = encode_pairs(params, config, batch, step)
    P = c.shape[0]
    kl_objective, kl, kl_per_dim = 0.0, xp.zeros(P, dtype=dtype), xp.zeros(0, dtype=dtype)
    g = c
    if Z:
        h_q, c_recog = recognition_forward(params, u, c, y, batch)
        z, kl_objective, kl, kl_per_dim, c_latent = latent_forward(params, config, h_q, c, step)
        g = xp.concatenate([z, c], axis=1)
    code = g if y is None else xp.concatenate([g, y], axis=1)
    rec, bow, num_tokens, c_resp = responses_forward(params, config, (g, code), batch, step)
    act, c_act = 0.0, None
    if config.act_dim:
        act, c_act = act_forward(params, g, batch, step.cpu_kernel)
    loss = rec + step.beta * kl_objective + bow + act

    # Backward, op by op in reverse.
    grads: dict = {}
    one = xp.asarray(1.0, dtype=dtype)
    dg, dcode = xp.zeros_like(g), xp.zeros_like(code)
    responses_backward(c_resp, config, dg, dcode, grads)
    G = g.shape[1]
    dg = dg + dcode[:, :G]
    if c_act is not None:
        dg = dg + act_backward(one, c_act, grads)
    dy = dcode[:, G:]
    dc = dg[:, Z:]
    du = xp.zeros_like(u)
    if Z:
        dh_q, dc_prior = latent_backward(dg[:, :Z], step.beta, c_latent, grads)
        dc = dc + dc_prior + dh_q[:, 2 * H : 2 * H + c.shape[1]]
        if y is not None:
            dy_q, grads["y_fc_W"], grads["y_fc_b"] = tanh_layer_backward(
                dh_q[:, 2 * H + c.shape[1] :], c_recog
            )
            dy = dy + dy_q
        responses = rows_matrix(xp.asarray(batch.responses), u.shape[0], dtype)
        du += responses.T @ dh_q[:, : 2 * H]
    if y is not None:
        grads["act_embed"] = ops.embedding_backward(dy[:, None, :], c_pairs.act_embed)
    context_backward(dc, c_pairs.context, du, grads)
    utterances_backward(du, c_pairs.utterances, grads)
    counted = xp.asarray(num_tokens)  # loss_terms counts the predicted tokens as a sum
    terms = loss_terms(loss, rec, kl_objective, kl, kl_per_dim, step.beta, counted, bow=bow)
    return terms._replace(extra={**terms.extra, "act": float(act)}), grads
