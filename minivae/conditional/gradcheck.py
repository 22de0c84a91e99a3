"""Gradient checks of the conditional VAE (float64): the prior network with its KL, and the
whole model's loss against every parameter, as ``minivae.model.gradcheck`` does for the VAE."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from minivae import ops
from minivae.conditional.config import CVAEConfig
from minivae.conditional.model import loss_and_grads, prior_net_backward, prior_net_forward
from minivae.conditional.params import init_cvae_params
from minivae.gradcheck import DEFAULT_TOL, CheckRow, check_op, check_params
from minivae.model.gradcheck import tiny_batch

TINY = dict(vocab_size=11, embed_dim=4, hidden_dim=5, latent_dim=3, prior_dim=4, cond_dim=3)


def tiny_config(condition: str = "sequence", **kw) -> CVAEConfig:
    """A model small enough to check entry by entry in a few seconds."""
    extra = dict(src_vocab_size=9) if condition == "sequence" else dict(num_classes=4)
    return CVAEConfig(**{**TINY, **extra, "condition": condition, **kw})


def tiny_pair_batch(config: CVAEConfig, seed: int = 0, N: int = 3, T: int = 5):
    """Random padded targets, and labels or padded sources of different lengths."""
    x = tiny_batch(config.vocab_size, seed, N, T)
    rng = np.random.default_rng(seed + 7)
    if config.condition == "label":
        return SimpleNamespace(tokens=x.tokens, lengths=x.lengths, src=rng.integers(0, 4, N))
    s = tiny_batch(config.src_vocab_size, seed + 3, N, T - 1)
    return SimpleNamespace(tokens=x.tokens, lengths=x.lengths, src=s.tokens, src_lengths=s.lengths)


def prior_kl_forward(c, W, b, W_mu, b_mu, W_lv, b_lv, mu, logvar):
    """KL(N(mu, e^logvar) || p(z|c)) with p(z|c) from the prior network.  -> kl (N,), cache"""
    prior_mu, prior_logvar, c_prior = prior_net_forward(c, W, b, W_mu, b_mu, W_lv, b_lv)
    kl, c_kl = ops.gaussian_kl_forward(mu, logvar, prior_mu, prior_logvar)
    return kl, (c_prior, c_kl)


def prior_kl_backward(dkl, cache):
    """-> dc, dW, db, dW_mu, db_mu, dW_lv, db_lv, dmu, dlogvar"""
    c_prior, c_kl = cache
    dmu, dlogvar, dprior_mu, dprior_logvar = ops.gaussian_kl_backward(dkl, c_kl)
    return (*prior_net_backward(dprior_mu, dprior_logvar, c_prior), dmu, dlogvar)


def check_prior_kl(seed: int = 0, tol: float = DEFAULT_TOL) -> list[CheckRow]:
    """d KL / d (c, the prior network's weights, mu, logvar): the KL's gradient w.r.t. the
    prior's parameters, carried back through the prior network."""
    rng = np.random.default_rng(seed)
    N, C, P, Z = 3, 4, 5, 3
    inputs = {
        "c": rng.standard_normal((N, C)),
        "W": 0.5 * rng.standard_normal((C, P)),
        "b": 0.1 * rng.standard_normal(P),
        "W_mu": 0.5 * rng.standard_normal((P, Z)),
        "b_mu": 0.1 * rng.standard_normal(Z),
        "W_lv": 0.5 * rng.standard_normal((P, Z)),
        "b_lv": 0.1 * rng.standard_normal(Z),
        "mu": rng.standard_normal((N, Z)),
        "logvar": 0.5 * rng.standard_normal((N, Z)),
    }
    return check_op(prior_kl_forward, prior_kl_backward, inputs, name="prior_kl", tol=tol)


def check_cvae(
    config: CVAEConfig,
    seed: int = 0,
    beta: float = 0.7,
    free_bits: float = 0.0,
    max_entries: int | None = None,
    tol: float = DEFAULT_TOL,
    label: str = "cvae",
    h: float = 3e-3,
) -> list[CheckRow]:
    """Check d loss / d param for every parameter with the five-point stencil.

    Noise eps is fixed and word dropout is off, so the loss is a deterministic function of
    the parameters; parameters larger than ``max_entries`` are checked along random
    directions instead of entry by entry.
    """
    params = init_cvae_params(config, seed=seed, dtype=np.float64)
    rng = np.random.default_rng(seed + 1)
    for p in params.values():  # nonzero biases, so their gradients are exercised
        p += 0.1 * rng.standard_normal(p.shape)
    batch = tiny_pair_batch(config, seed)
    eps = rng.standard_normal((batch.tokens.shape[0], config.latent_dim))

    def run():
        return loss_and_grads(params, batch, config, beta=beta, eps=eps, free_bits=free_bits)

    return check_params(run, params, label, tol=tol, h=h, max_entries=max_entries, seed=seed)
