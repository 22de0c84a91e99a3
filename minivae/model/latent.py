"""A Gaussian latent layer, as every model uses one.

Training: the ELBO's KL term as the models optimize it, the Gaussian KL of each example and
dimension (``ops.gaussian_kl``) with free bits (``ops.free_bits``) on top,

    kl_objective = sum_z max(lambda, (1/N) sum_n KL(q(z_nz | x_n) || p(z_nz)))

Metrics: draws by the reparameterization op and each row's KL.
"""

from __future__ import annotations

from minivae import ops
from minivae.backend import get_array_module


def kl_term_forward(mu, logvar, free_bits: float = 0.0, prior_mu=None, prior_logvar=None):
    """mu, logvar: (N, Z); prior_mu, prior_logvar: (N, Z) or None (N(0, I))
    -> kl_objective (scalar), kl (N,) each example's KL, kl_per_dim (Z,) batch means, cache
    """
    N, Z = mu.shape
    # The op sums over its last axis: on (N*Z, 1) views it gives every (n, z) term apart.
    flat = [a.reshape(N * Z, 1) if a is not None else None for a in (prior_mu, prior_logvar)]
    kl_nz, c_kl = ops.gaussian_kl_forward(mu.reshape(N * Z, 1), logvar.reshape(N * Z, 1), *flat)
    kl_nz = kl_nz.reshape(N, Z)
    kl_objective, c_fb = ops.free_bits_forward(kl_nz, free_bits)
    return kl_objective, kl_nz.sum(axis=1), kl_nz.mean(axis=0), (c_kl, c_fb, N, Z)


def kl_term_backward(dobjective, cache):
    """dobjective: scalar  ->  dmu, dlogvar (N, Z) (and dprior_mu, dprior_logvar with a prior)"""
    c_kl, c_fb, N, Z = cache
    dkl_nz = ops.free_bits_backward(dobjective, c_fb)
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
