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
from minivae.conditional.config import CVAEConfig
from minivae.interface import loss_terms
from minivae.model.latent import kl_term_backward, kl_term_forward
from minivae.model.vae import (
    decode_backward,
    decode_forward,
    decoder_inputs,
    draw_eps,
    embedding_names,
    on_device,
    rnn_encoder_backward,
    rnn_encoder_forward,
)

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
    c, cache = rnn_encoder_forward(params, config.cell, "src_embed", "src", src, mask, kernel)
    return c, ("sequence", cache)


def condition_backward(dc, cache, grads: dict) -> None:
    """dc: (N, C); the condition encoder's gradients go into ``grads``."""
    kind, inner = cache
    if kind == "label":
        grads["label_embed"] = ops.embedding_backward(dc[:, None, :], inner)
    else:
        rnn_encoder_backward(dc, inner, grads)


# -- the prior network p(z|c) ---------------------------------------------------------------


def prior_net_forward(c, W, b, W_mu, b_mu, W_lv, b_lv):
    """p(z|c) = N(prior_mu, e^prior_logvar) from one tanh hidden layer.

    c: (N, C), W: (C, P), b: (P,), W_mu, W_lv: (P, Z), b_mu, b_lv: (Z,)
    -> prior_mu (N, Z), prior_logvar (N, Z), cache
    """
    a, c_hid = ops.affine_forward(c, W, b)
    hidden, c_tanh = ops.tanh_forward(a)
    prior_mu, c_mu = ops.affine_forward(hidden, W_mu, b_mu)
    prior_logvar, c_lv = ops.affine_forward(hidden, W_lv, b_lv)
    return prior_mu, prior_logvar, (c_hid, c_tanh, c_mu, c_lv)


def prior_net_backward(dprior_mu, dprior_logvar, cache):
    """-> dc, dW, db, dW_mu, db_mu, dW_lv, db_lv"""
    c_hid, c_tanh, c_mu, c_lv = cache
    dhidden, dW_mu, db_mu = ops.affine_backward(dprior_mu, c_mu)
    dhidden2, dW_lv, db_lv = ops.affine_backward(dprior_logvar, c_lv)
    da = ops.tanh_backward(dhidden + dhidden2, c_tanh)
    dc, dW, db = ops.affine_backward(da, c_hid)
    return dc, dW, db, dW_mu, db_mu, dW_lv, db_lv


PRIOR_NAMES = ("prior_W", "prior_b", "prior_mu_W", "prior_mu_b", "prior_logvar_W", "prior_logvar_b")


def prior_forward(params, c):
    """c: (N, C)  ->  prior_mu, prior_logvar (N, Z), cache"""
    return prior_net_forward(c, *(params[k] for k in PRIOR_NAMES))


def prior_backward(dprior_mu, dprior_logvar, cache, grads: dict):
    """-> dc (N, C); the prior network's gradients go into ``grads``."""
    dc, *dw = prior_net_backward(dprior_mu, dprior_logvar, cache)
    grads.update(zip(PRIOR_NAMES, dw))
    return dc


# -- the recognition network q(z|x,c) -------------------------------------------------------


def recognition_forward(params, config: CVAEConfig, tokens, mask, c, kernel: str = "auto"):
    """tokens, mask: (N, T), c: (N, C)  ->  mu (N, Z), logvar (N, Z), cache"""
    enc_name = embedding_names(config.decoder_config)[0]
    return recognition_net_forward(params, config.cell, enc_name, tokens, mask, c, kernel)


def recognition_net_forward(params, cell: str, embed_name: str, tokens, mask, c, kernel="auto"):
    """q(z|x,c) = N(mu, e^logvar), [mu; logvar] = [h_x; c] W + b, h_x the last state of an
    RNN (weights ``enc_*``) over x embedded by ``params[embed_name]``.

    tokens, mask: (N, T), c: (N, C)  ->  mu (N, Z), logvar (N, Z), cache
    """
    xp = get_array_module(c)
    h_x, c_enc = rnn_encoder_forward(params, cell, embed_name, "enc", tokens, mask, kernel)
    hc = xp.concatenate([h_x, c], axis=1)
    mu, c_mu = ops.affine_forward(hc, params["mu_W"], params["mu_b"])
    logvar, c_lv = ops.affine_forward(hc, params["logvar_W"], params["logvar_b"])
    return mu, logvar, (c_enc, c_mu, c_lv, h_x.shape[1])


def recognition_backward(dmu, dlogvar, cache, grads: dict):
    """-> dc (N, C); the x encoder's and the heads' gradients go into ``grads``."""
    c_enc, c_mu, c_lv, H = cache
    dhc, grads["mu_W"], grads["mu_b"] = ops.affine_backward(dmu, c_mu)
    dhc2, grads["logvar_W"], grads["logvar_b"] = ops.affine_backward(dlogvar, c_lv)
    dhc = dhc + dhc2
    rnn_encoder_backward(dhc[:, :H], c_enc, grads)
    return dhc[:, H:]


# -- the bag-of-words loss ------------------------------------------------------------------


def bow_forward(params, u, tokens, mask, kernel: str = "auto"):
    """-(1/N) sum_n sum_t log softmax(u_n W + b)[x_nt]: every word of x from [z; c] at once.

    Written as the sequence cross-entropy op with the same logits at every position.
    u: (N, Z + C), tokens, mask: (N, T)  ->  loss (scalar), cache
    """
    xp = get_array_module(u)
    logits, c_aff = ops.affine_forward(u, params["bow_W"], params["bow_b"])
    N, T = tokens.shape
    tiled = xp.broadcast_to(logits[:, None, :], (N, T, logits.shape[1]))
    loss, c_ce = ops.softmax_cross_entropy_forward(tiled, tokens, mask, kernel)
    return loss, (c_aff, c_ce)


def bow_backward(dloss, cache, grads: dict):
    """-> du (N, Z + C); bow_W, bow_b gradients go into ``grads``."""
    c_aff, c_ce = cache
    dlogits = ops.softmax_cross_entropy_backward(dloss, c_ce).sum(axis=1)  # tiled: add up
    du, grads["bow_W"], grads["bow_b"] = ops.affine_backward(dlogits, c_aff)
    return du


# -- the latent layer: q(z|x,c), p(z|c), a draw of z, the KL --------------------------------


def latent_forward(
    params, cell, embed_name, tokens, mask, c, eps=None, rng=None, free_bits=0.0, kernel="auto"
):
    """The conditional VAE's latent variable for a batch: the recognition network reads x
    (an RNN over ``params[embed_name]``) and c, the prior network c; z = mu + e^(logvar/2) eps.

    tokens, mask: (N, T), c: (N, C), eps: (N, Z) or None (drawn from ``rng``)
    -> z (N, Z), kl_objective (scalar, free bits applied), kl (N,), kl_per_dim (Z,), cache
    """
    xp = get_array_module(c)
    mu, logvar, c_rec = recognition_net_forward(params, cell, embed_name, tokens, mask, c, kernel)
    prior_mu, prior_logvar, c_prior = prior_forward(params, c)
    eps = xp.asarray(draw_eps(rng, mu.shape, eps), dtype=mu.dtype)
    z, c_rep = ops.reparameterize_forward(mu, logvar, eps)
    kl_objective, kl, kl_per_dim, c_kl = kl_term_forward(
        mu, logvar, free_bits, prior_mu, prior_logvar
    )
    return z, kl_objective, kl, kl_per_dim, (c_rec, c_prior, c_rep, c_kl)


def latent_backward(dz, beta: float, cache, grads: dict):
    """dz: (N, Z) from the decoder; beta: the KL's weight in the loss  ->  dc (N, C); the
    recognition and prior networks' gradients go into ``grads``."""
    c_rec, c_prior, c_rep, c_kl = cache
    dmu, dlogvar = ops.reparameterize_backward(dz, c_rep)
    dmu_kl, dlogvar_kl, dprior_mu, dprior_logvar = kl_term_backward(beta, c_kl)
    dc = prior_backward(dprior_mu, dprior_logvar, c_prior, grads)
    return dc + recognition_backward(dmu + dmu_kl, dlogvar + dlogvar_kl, c_rec, grads)


# -- the whole model ------------------------------------------------------------------------


def loss_and_grads(
    params,
    batch,
    config: CVAEConfig,
    beta: float = 1.0,
    eps=None,
    rng=None,
    word_dropout: float = 0.0,
    free_bits: float = 0.0,
    kernel: str = "auto",
    dropout: float = 0.0,
    label_smoothing: float = 0.0,
):
    """The negative conditional ELBO (KL weight ``beta``) of a batch and its gradient.

    batch: ``tokens`` (N, T) and ``lengths`` (N,) of x; ``src`` (N,) class ids or (N, Ts)
    source ids with ``src_lengths`` (N,)
    eps: (N, Z) noise for the reparameterization; drawn from ``rng`` when None
    free_bits: nats per latent dimension below which the KL is not pushed down
    kernel, dropout: as for the plain VAE's ``loss_and_grads`` (dropout on the decoder)
    label_smoothing: as for the plain VAE's ``loss_and_grads``
    -> (LossTerms with extra["bow"], grads: {name: array like params[name]})
    """
    cpu_kernel = "array" if kernel == "array" else "auto"
    xp, tokens, lengths, enc_mask = on_device(params, batch.tokens, batch.lengths)
    dtype = params["out_W"].dtype
    Z = config.latent_dim

    # Forward: c, q(z|x,c), p(z|c), a sample of z, p(x|z,c).
    c, c_cond = condition_forward(params, config, batch.src, batch.src_lengths, kernel)
    enc_name = embedding_names(config.decoder_config)[0]
    z, kl_objective, kl, kl_per_dim, c_latent = latent_forward(
        params, config.cell, enc_name, tokens, enc_mask, c, eps, rng, free_bits, kernel
    )
    u = xp.concatenate([z, c], axis=1)
    inputs, targets, dec_mask = decoder_inputs(tokens, lengths, word_dropout, rng)
    logits, c_dec = decode_forward(
        params, config.decoder_config, u, inputs, dec_mask, kernel, dropout, rng
    )
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
