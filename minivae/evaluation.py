"""Honest numbers for a text VAE on a data set.

- negative ELBO = reconstruction + KL (an upper bound on -log p(x)), per sentence
- importance-weighted NLL (Burda et al. 2016), the figure text-VAE papers report:
      log p(x) ~ log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x),   z_k ~ q(z|x)
- perplexity per word, <eos> included: exp(total NLL / total predicted tokens)
- mutual information I(x; z) under q and active units (He et al. 2019)
"""

from __future__ import annotations

import math

import numpy as np

from minivae.backend import get_array_module, to_numpy
from minivae.model.config import ModelConfig
from minivae.model.inference import log_px_given_z, posterior
from minivae.model.vae import EOS

LOG_2PI = math.log(2 * math.pi)


def log_normal(z, mu, logvar):
    """log N(z; mu, e^logvar), summed over the last axis."""
    xp = get_array_module(z)
    return -0.5 * (LOG_2PI + logvar + (z - mu) ** 2 * xp.exp(-logvar)).sum(axis=-1)


def logsumexp(a, axis):
    xp = get_array_module(a)
    m = a.max(axis=axis, keepdims=True)
    return (m + xp.log(xp.exp(a - m).sum(axis=axis, keepdims=True))).squeeze(axis)


def iw_log_likelihood(params, config: ModelConfig, tokens, lengths, mu, logvar, k: int, rng):
    """Importance-weighted estimate of log p(x) with k samples from q.  -> (N,)"""
    xp = get_array_module(mu)
    weights = []
    for _ in range(k):
        z = mu + xp.exp(0.5 * logvar) * xp.asarray(rng.standard_normal(mu.shape), dtype=mu.dtype)
        log_prior = log_normal(z, xp.zeros_like(z), xp.zeros_like(z))
        weights.append(
            log_px_given_z(params, config, tokens, lengths, z)
            + log_prior
            - log_normal(z, mu, logvar)
        )
    return logsumexp(xp.stack(weights), axis=0) - math.log(k)


def mutual_information(mu, logvar, rng, samples: int = 10) -> float:
    """I(x; z) = E_x E_q(z|x)[log q(z|x) - log q(z)], q(z) the batch's aggregate posterior.

    q(z) = (1/N) sum_n q(z|x_n) on the same batch (He et al. 2019); E_q log q(z|x) is
    analytic, E_q log q(z) is averaged over ``samples`` draws of z per x.
    """
    xp = get_array_module(mu)
    N, Z = mu.shape
    neg_entropy = float((-0.5 * Z * LOG_2PI - 0.5 * (1 + logvar).sum(axis=1)).mean())
    log_qz = 0.0
    for _ in range(samples):
        z = mu + xp.exp(0.5 * logvar) * xp.asarray(rng.standard_normal(mu.shape), dtype=mu.dtype)
        log_q_zi_xj = log_normal(z[:, None, :], mu[None, :, :], logvar[None, :, :])  # (N, N)
        log_qz += float((logsumexp(log_q_zi_xj, axis=1) - math.log(N)).mean()) / samples
    return neg_entropy - log_qz


def evaluate(
    params,
    config: ModelConfig,
    batches,
    iw_samples: int = 10,
    seed: int = 0,
    au_threshold: float = 0.01,
) -> dict:
    """Every metric above over an iterable of batches (``tokens``, ``lengths``).

    Returns floats: nelbo, rec, kl (nats per sentence), nll (importance-weighted, per
    sentence), ppl, elbo_ppl (perplexity from the ELBO bound), mi (nats), active_units,
    num_sentences, num_tokens.
    """
    rng = np.random.default_rng(seed)
    xp = get_array_module(params["out_W"])
    sums = dict(rec=0.0, kl=0.0, nll=0.0, mi=0.0)
    n_sent = n_tok = n_mi = 0
    mus = []
    for batch in batches:
        lengths = np.asarray(batch.lengths)
        mu, logvar = posterior(params, config, batch.tokens, lengths)
        z = mu + xp.exp(0.5 * logvar) * xp.asarray(rng.standard_normal(mu.shape), dtype=mu.dtype)
        sums["rec"] -= float(log_px_given_z(params, config, batch.tokens, lengths, z).sum())
        sums["kl"] += float((0.5 * (mu**2 + xp.exp(logvar) - logvar - 1)).sum())
        if iw_samples > 0:
            sums["nll"] -= float(
                iw_log_likelihood(
                    params, config, batch.tokens, lengths, mu, logvar, iw_samples, rng
                ).sum()
            )
        if mu.shape[0] > 1:
            sums["mi"] += mutual_information(mu, logvar, rng) * mu.shape[0]
            n_mi += mu.shape[0]
        mus.append(to_numpy(mu))
        n_sent += len(lengths)
        n_tok += int(lengths.sum()) + len(lengths)  # words + <eos>
    if n_sent == 0:
        raise ValueError("evaluate: no sentences to evaluate")
    all_mu = np.concatenate(mus)
    active = int((all_mu.var(axis=0) > au_threshold).sum()) if n_sent > 1 else 0
    nelbo_total = sums["rec"] + sums["kl"]
    nll_total = sums["nll"] if iw_samples > 0 else nelbo_total
    return {
        "nelbo": nelbo_total / n_sent,
        "rec": sums["rec"] / n_sent,
        "kl": sums["kl"] / n_sent,
        "nll": nll_total / n_sent,
        "ppl": math.exp(nll_total / n_tok),
        "elbo_ppl": math.exp(nelbo_total / n_tok),
        "mi": sums["mi"] / max(n_mi, 1),
        "active_units": active,
        "num_sentences": n_sent,
        "num_tokens": n_tok,
    }


def unigram_nll(train_ids, eval_ids, vocab_size: int) -> float:
    """NLL per sentence of a unigram model (add-one smoothing) fitted on the training ids:
    the floor a text VAE must beat to have learned anything about word order."""
    counts = np.ones(vocab_size)
    for ids in train_ids:
        np.add.at(counts, ids, 1)
    counts[EOS] += len(train_ids)  # one <eos> per sentence
    logp = np.log(counts / counts.sum())
    total = sum(-logp[ids].sum() - logp[EOS] for ids in eval_ids)
    return float(total / len(eval_ids))
