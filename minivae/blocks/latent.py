"""A Gaussian latent layer, as every model uses one.

Training: the ELBO's KL term as the models optimize it, the Gaussian KL of each example and
dimension (``ops.gaussian_kl``) with free bits (``ops.free_bits``) on top,

    kl_objective = sum_z max(lambda, (1/N) sum_n KL(q(z_nz | x_n) || p(z_nz)))

or, with a per-dimension ``kl_threshold`` (Li et al. 2019, ``ops.kl_threshold``),

    kl_objective = (1/N) sum_n sum_z [KL_nz > lambda] KL_nz

Metrics: draws by the reparameterization op and each row's KL.
"""

from __future__ import annotations

from typing import NamedTuple

from minivae import ops
from minivae.backend import get_array_module
from minivae.blocks.encoder import RNNReader, rnn_encoder_backward, rnn_encoder_forward
from minivae.blocks.sequence import draw_eps
from minivae.blocks.tanh_layer import tanh_layer_backward, tanh_layer_forward
from minivae.interface import Step


class KLCache(NamedTuple):
    """``kl_term_forward``'s: the KL op's and free bits' caches, the batch and latent sizes."""

    kl: object
    free_bits: object  # the floor's cache: free bits', or the KL threshold's
    N: int
    Z: int
    thresholded: bool = False  # the floor is Li et al.'s threshold, not free bits


class PriorCache(NamedTuple):
    """``prior_net_forward``'s: the tanh hidden layer, the two heads."""

    hidden: object
    mu: object
    logvar: object


class RecognitionCache(NamedTuple):
    """``recognition_net_forward``'s: the x encoder, the two heads, the width H of h_x."""

    encoder: object
    mu: object
    logvar: object
    H: int


class LatentCache(NamedTuple):
    """``latent_forward``'s: recognition and prior networks, the draw, the KL term."""

    recognition: RecognitionCache
    prior: PriorCache
    reparameterize: object
    kl: KLCache


def kl_term_forward(
    mu, logvar, free_bits: float = 0.0, prior_mu=None, prior_logvar=None, kl_threshold=0.0
):
    """mu, logvar: (N, Z); prior_mu, prior_logvar: (N, Z) or None (N(0, I)); free_bits:
    Kingma's floor on each dimension's batch mean; kl_threshold: Li et al.'s per-sentence,
    per-dimension threshold in nats per dimension (> 0: used instead of free bits)
    -> kl_objective (scalar), kl (N,) each example's KL, kl_per_dim (Z,) batch means, cache
    """
    N, Z = mu.shape
    # The op sums over its last axis: on (N*Z, 1) views it gives every (n, z) term apart.
    flat = [a.reshape(N * Z, 1) if a is not None else None for a in (prior_mu, prior_logvar)]
    kl_nz, c_kl = ops.gaussian_kl_forward(mu.reshape(N * Z, 1), logvar.reshape(N * Z, 1), *flat)
    kl_nz = kl_nz.reshape(N, Z)
    if kl_threshold > 0:
        kl_objective, c_floor = ops.kl_threshold_forward(kl_nz, kl_threshold)
    else:
        kl_objective, c_floor = ops.free_bits_forward(kl_nz, free_bits)
    cache = KLCache(c_kl, c_floor, N, Z, kl_threshold > 0)
    return kl_objective, kl_nz.sum(axis=1), kl_nz.mean(axis=0), cache


def kl_term_backward(dobjective, cache):
    """dobjective: scalar  ->  dmu, dlogvar (N, Z) (and dprior_mu, dprior_logvar with a prior)"""
    c_kl, c_floor, N, Z, thresholded = cache
    floor_backward = ops.kl_threshold_backward if thresholded else ops.free_bits_backward
    dkl_nz = floor_backward(dobjective, c_floor)
    grads = ops.gaussian_kl_backward(dkl_nz.reshape(N * Z), c_kl)
    return tuple(g.reshape(N, Z) for g in grads)


def gaussian_sample(mu, logvar, rng, samples: int = 1, eps=None):
    """``samples`` draws z = mu + e^(logvar/2) eps per row, by the reparameterization op.
    mu, logvar: (N, Z), eps: (samples * N, Z) or None (drawn from ``rng``)
    ->  z (samples * N, Z), mu and logvar repeated likewise"""
    xp = get_array_module(mu)
    if samples > 1:
        mu, logvar = xp.tile(mu, (samples, 1)), xp.tile(logvar, (samples, 1))
    eps = xp.asarray(rng.standard_normal(mu.shape) if eps is None else eps, dtype=mu.dtype)
    z, _ = ops.reparameterize_forward(mu, logvar, eps)
    return z, mu, logvar


def gaussian_kl(mu, logvar, prior_mu=None, prior_logvar=None):
    """KL(N(mu, e^logvar) || prior) of each row by the KL op (prior None: N(0, I))  ->  (N,)"""
    return ops.gaussian_kl_forward(mu, logvar, prior_mu, prior_logvar)[0]


# -- a learned prior network p(z|c) ----------------------------------------------------------


def prior_net_forward(c, W, b, W_mu, b_mu, W_lv, b_lv):
    """p(z|c) = N(prior_mu, e^prior_logvar) from one tanh hidden layer.

    c: (N, C), W: (C, P), b: (P,), W_mu, W_lv: (P, Z), b_mu, b_lv: (Z,)
    -> prior_mu (N, Z), prior_logvar (N, Z), cache
    """
    hidden, c_hid = tanh_layer_forward(c, W, b)
    prior_mu, c_mu = ops.affine_forward(hidden, W_mu, b_mu)
    prior_logvar, c_lv = ops.affine_forward(hidden, W_lv, b_lv)
    return prior_mu, prior_logvar, PriorCache(c_hid, c_mu, c_lv)


def prior_net_backward(dprior_mu, dprior_logvar, cache):
    """-> dc, dW, db, dW_mu, db_mu, dW_lv, db_lv"""
    c_hid, c_mu, c_lv = cache
    dhidden, dW_mu, db_mu = ops.affine_backward(dprior_mu, c_mu)
    dhidden2, dW_lv, db_lv = ops.affine_backward(dprior_logvar, c_lv)
    dc, dW, db = tanh_layer_backward(dhidden + dhidden2, c_hid)
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


def prior_net_shapes(C: int, P: int, Z: int) -> dict[str, tuple]:
    """The prior network's weights (``PRIOR_NAMES`` above): its input
    (C,) -> tanh layer (P,) -> mean and log-variance (Z,) each."""
    return {
        "prior_W": (C, P),
        "prior_b": (P,),
        "prior_mu_W": (P, Z),
        "prior_mu_b": (Z,),
        "prior_logvar_W": (P, Z),
        "prior_logvar_b": (Z,),
    }


# -- a recognition network q(z|x,c) -------------------------------------------------------


def recognition_net_forward(params, reader: RNNReader, tokens, mask, c, kernel="auto"):
    """q(z|x,c) = N(mu, e^logvar), [mu; logvar] = [h_x; c] W + b, h_x the last state of an
    RNN over x (``reader``: its cell, embedding table and weights' prefix).

    tokens, mask: (N, T), c: (N, C)  ->  mu (N, Z), logvar (N, Z), cache
    """
    xp = get_array_module(c)
    h_x, c_enc = rnn_encoder_forward(params, reader, tokens, mask, Step(kernel=kernel))
    mu, logvar, (c_mu, c_lv) = gaussian_heads_forward(params, xp.concatenate([h_x, c], axis=1))
    return mu, logvar, RecognitionCache(c_enc, c_mu, c_lv, h_x.shape[1])


def recognition_backward(dmu, dlogvar, cache, grads: dict):
    """-> dc (N, C); the x encoder's and the heads' gradients go into ``grads``."""
    c_enc, c_mu, c_lv, H = cache
    dhc = gaussian_heads_backward(dmu, dlogvar, (c_mu, c_lv), grads)
    rnn_encoder_backward(dhc[:, :H], c_enc, grads)
    return dhc[:, H:]


def gaussian_heads_forward(params, h):
    """The recognition network's heads on a vector that says everything q reads (a model
    that encodes x its own way, such as the dialogue model's [x; c; y]):
    mu = h mu_W + mu_b, logvar = h logvar_W + logvar_b.  h: (N, D) -> mu, logvar (N, Z), cache"""
    mu, c_mu = ops.affine_forward(h, params["mu_W"], params["mu_b"])
    logvar, c_lv = ops.affine_forward(h, params["logvar_W"], params["logvar_b"])
    return mu, logvar, (c_mu, c_lv)


def gaussian_heads_backward(dmu, dlogvar, cache, grads: dict):
    """-> dh (N, D); mu_W, mu_b, logvar_W, logvar_b gradients go into ``grads``."""
    dh, grads["mu_W"], grads["mu_b"] = ops.affine_backward(dmu, cache[0])
    dh2, grads["logvar_W"], grads["logvar_b"] = ops.affine_backward(dlogvar, cache[1])
    return dh + dh2


# -- the conditional latent layer: q(z|x,c), p(z|c), a draw of z, the KL --------------------


def latent_forward(params, reader: RNNReader, tokens, mask, c, step: Step | None = None):
    """The conditional VAE's latent variable for a batch: the recognition network reads x
    (an RNN, ``reader``) and c, the prior network c; z = mu + e^(logvar/2) eps.

    tokens, mask: (N, T), c: (N, C); step: eps (N, Z) or None (drawn from ``step.rng``),
    free bits or Li et al.'s KL threshold (its total over the Z dimensions), the kernels
    (no dropout here)
    -> z (N, Z), kl_objective (scalar, free bits applied), kl (N,), kl_per_dim (Z,), cache
    """
    step = Step() if step is None else step
    eps, rng, free_bits = step.eps, step.rng, step.free_bits
    xp = get_array_module(c)
    mu, logvar, c_rec = recognition_net_forward(params, reader, tokens, mask, c, step.kernel)
    prior_mu, prior_logvar, c_prior = prior_forward(params, c)
    eps = xp.asarray(draw_eps(rng, mu.shape, eps), dtype=mu.dtype)
    z, c_rep = ops.reparameterize_forward(mu, logvar, eps)
    # Li et al.: target_kl / nz per dimension
    threshold = step.kl_threshold / mu.shape[1] if step.kl_threshold else 0.0
    kl_objective, kl, kl_per_dim, c_kl = kl_term_forward(
        mu, logvar, free_bits, prior_mu, prior_logvar, threshold
    )
    return z, kl_objective, kl, kl_per_dim, LatentCache(c_rec, c_prior, c_rep, c_kl)


def latent_backward(dz, beta: float, cache, grads: dict):
    """dz: (N, Z) from the decoder; beta: the KL's weight in the loss  ->  dc (N, C); the
    recognition and prior networks' gradients go into ``grads``."""
    c_rec, c_prior, c_rep, c_kl = cache
    dmu, dlogvar = ops.reparameterize_backward(dz, c_rep)
    dmu_kl, dlogvar_kl, dprior_mu, dprior_logvar = kl_term_backward(beta, c_kl)
    dc = prior_backward(dprior_mu, dprior_logvar, c_prior, grads)
    return dc + recognition_backward(dmu + dmu_kl, dlogvar + dlogvar_kl, c_rec, grads)
