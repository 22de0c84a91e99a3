"""Honest numbers for any model (through ``minivae.interface``) on a data set.

- negative ELBO = reconstruction + KL (an upper bound on -log p(x)), per sentence
- importance-weighted NLL (Burda et al. 2016), the figure text-VAE papers report:
      log p(x) ~ log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x),   z_k ~ q(z|x)
- perplexity per word, <eos> included: exp(total NLL / total predicted tokens)
- for each latent layer: the KL, the mutual information I(x; z) under q, and the active
  units (He et al. 2019)

Mutual information is estimated over the whole evaluation set, so the batch size does not
change it: I(x; z) = E_x E_q(z|x)[log q(z|x) - log q(z)], with q(z) = (1/M) sum_m q(z|x_m)
the aggregate posterior of all M sentences and one draw z_i ~ q(z|x_i) per sentence for both
terms: I ~ (1/M) sum_i [log q(z_i|x_i) - log q(z_i)]. Using the same draw for both makes the
estimate exactly 0 when every posterior is the same (a collapsed model), where an analytic
first term leaves sampling noise of either sign; the little noise left below 0 is reported
as 0 (MI is never negative). It is at most log M. This is ``mi``.

He et al. 2019 estimate it per batch instead (``mi_per_batch``; vae-lagging-encoder's
``calc_mi``): in each batch of B sentences, the analytic E_q[log q(z|x)] minus
(1/B) sum_i log q(z_i) with the aggregate posterior of that batch alone,
q(z) = (1/B) sum_b q(z|x_b), then the mean over batches weighted by their sizes. It is at
most log B, not log M, and it is not clipped at 0: it is the figure their tables report and
their aggressive phase is judged by (docs/remedies.md says why the two differ).

A dimension is active when its posterior mean varies over the data (Burda et al. 2016):
Var_x(E_q[z_u]) > 0.01; for a model with a conditional prior (the conditional VAE), of the
offset from the prior mean, Var_x(E_q[z_u] - E_p[z_u|c]). A model may name a second
reference mean per layer (``Posterior.gap_means``: the hierarchical VAE's p(z1|z2)), whose
count is reported as ``active_units_gap_<layer>``.
"""

from __future__ import annotations

import math

import numpy as np

from minivae import ops
from minivae.backend import get_array_module, to_numpy
from minivae.data.vocab import EOS
from minivae.interface import TextModel
from minivae.progress import progress_bar
from minivae.threads import parallel_map

# Numbers (128 MB in float32) that scoring one batch of importance draws may hold: see
# ``TextModel.scoring_width``.
SCORING_BUDGET = 32_000_000


def perplexity(nll_total: float, num_tokens: int) -> float:
    """exp(nll / tokens), infinite (not an OverflowError) for a model that has blown up."""
    x = nll_total / num_tokens
    return math.exp(x) if x < 700 else math.inf


def mutual_information(mu, logvar, rng, chunk: int = 128) -> float:
    """I(x; z) over a whole set (see the module docstring).  mu, logvar: (M, Z) on the host."""
    M = mu.shape[0]
    if M < 2:
        return 0.0
    z = mu + np.exp(0.5 * logvar) * rng.standard_normal(mu.shape)
    total = 0.0
    for start in range(0, M, chunk):  # (chunk, M) densities at a time, not (M, M)
        rows = slice(start, start + chunk)
        log_q = ops.log_normal(z[rows, None, :], mu[None], logvar[None])  # log q(z_i | x_j)
        own = ops.log_normal(z[rows], mu[rows], logvar[rows])  # log q(z_i | x_i)
        total += float((own - (ops.logsumexp(log_q, axis=1) - math.log(M))).sum())
    return max(total / M, 0.0)


def mutual_information_per_batch(mu, logvar, rng) -> float:
    """He et al.'s I(x; z) of one batch (vae-lagging-encoder, encoder.py ``calc_mi``), not
    clipped at 0.  mu, logvar: (B, Z) on the host.

        neg_entropy = mean_i [-Z/2 log(2 pi) - 1/2 sum_z (1 + logvar_iz)]   E_q log q(z|x)
        z_i ~ q(z|x_i);  log q(z_i) = logsumexp_j log q(z_i | x_j) - log B  (this batch only)
        I = neg_entropy - mean_i log q(z_i)
    """
    B, Z = mu.shape
    neg_entropy = float((-0.5 * Z * math.log(2 * math.pi) - 0.5 * (1 + logvar).sum(1)).mean())
    z = mu + np.exp(0.5 * logvar) * rng.standard_normal(mu.shape)
    log_density = ops.log_normal(z[:, None, :], mu[None], logvar[None])  # (B, B)
    log_qz = ops.logsumexp(log_density, axis=1) - math.log(B)
    return neg_entropy - float(log_qz.mean())


def score_batch(model: TextModel, params, batch, iw_samples: int, rng, kernel="auto") -> dict:
    """One batch's sums: rec, kl_<layer> (of one draw per sentence), nll (importance-
    weighted over ``iw_samples`` draws), and each layer's posterior means, log-variances and
    offsets from the prior mean (on the host).

    The draws are scored several at a time (the batch repeated): as many as keep what
    scoring holds under SCORING_BUDGET numbers, so the matrix products are large and memory
    stays bounded.
    """
    post = model.posterior(params, batch, kernel)
    N, T = batch.tokens.shape
    draws = max(iw_samples, 1)
    per_chunk = max(1, min(draws, SCORING_BUDGET // (N * (T + 1) * model.scoring_width)))
    sums, log_w = {"rec": 0.0, "nll": 0.0}, []
    for start in range(0, draws, per_chunk):
        k = min(per_chunk, draws - start)
        sample = model.sample_latent(params, post, rng, samples=k)
        log_px = model.log_likelihood(params, batch, sample.code, kernel)
        if start == 0:  # the first draw of each sentence gives the ELBO's terms
            sums["rec"] = -float(log_px[:N].sum())
            sums.update({f"kl_{name}": float(kl[:N].sum()) for name, kl in sample.kl.items()})
        log_w.append((log_px + sample.log_prior - sample.log_q).reshape(k, N))
    if iw_samples > 0:
        xp = get_array_module(log_w[0])
        log_px_iw = ops.logsumexp(xp.concatenate(log_w), axis=0) - math.log(iw_samples)
        sums["nll"] = -float(log_px_iw.sum())
    sums["means"] = {}
    for name, (mu, logvar) in post.layers.items():
        prior_mean = post.prior_means.get(name)
        offset = mu if prior_mean is None else mu - prior_mean
        gap = post.gap_means.get(name)
        gap = None if gap is None else to_numpy(mu - gap)
        sums["means"][name] = (to_numpy(mu), to_numpy(logvar), to_numpy(offset), gap)
    return sums


def evaluate(
    model: TextModel,
    params,
    batches,
    iw_samples: int = 10,
    seed: int = 0,
    kernel: str = "auto",
    au_threshold: float = 0.01,
    progress: bool = False,
) -> dict:
    """Every metric above over a sequence of batches, scored on the thread policy's threads
    (``minivae.threads``), each batch with draws of its own seed ([seed, its index]), so the
    numbers do not depend on the number of threads.

    Returns floats: nelbo, rec, kl (nats per sentence), nll (importance-weighted, per
    sentence; the ELBO when iw_samples is 0), ppl, elbo_ppl (perplexity from the ELBO
    bound), mi (nats), active_units, num_sentences, num_tokens; with several latent layers
    also kl_<layer>, mi_<layer>, active_units_<layer> (kl, active_units: their sums; mi: the
    first layer's); mi_per_batch: He et al.'s per-batch estimate (of the first layer);
    active_units_gap_<layer> for a layer with a ``Posterior.gap_means``.
    """
    if iw_samples < 0:
        raise ValueError(f"iw_samples must be >= 0, got {iw_samples}")
    batches = list(batches)
    if not batches:
        raise ValueError("evaluate: no sentences to evaluate")
    layers = list(model.latent_sizes)

    def score(i):
        rng = np.random.default_rng([seed, i])
        return score_batch(model, params, batches[i], iw_samples, rng, kernel)

    scores = progress_bar(
        parallel_map(score, range(len(batches))),
        show=progress,
        total=len(batches),
        desc="evaluating",
    )
    sums = {"rec": 0.0, "nll": 0.0, **{f"kl_{name}": 0.0 for name in layers}}
    means = {name: [] for name in layers}  # (mu, logvar, offset) per batch, on the host
    for s in scores:
        for key in sums:
            sums[key] += s[key]
        for name in layers:
            means[name].append(s["means"][name])
    n_sent = sum(len(b.lengths) for b in batches)
    n_tok = sum(int(np.sum(b.lengths)) + len(b.lengths) for b in batches)  # words + <eos>
    kl_total = sum(sums[f"kl_{name}"] for name in layers)
    nelbo_total = sums["rec"] + kl_total
    nll_total = sums["nll"] if iw_samples > 0 else nelbo_total
    out = {
        "nelbo": nelbo_total / n_sent,
        "rec": sums["rec"] / n_sent,
        "kl": kl_total / n_sent,
        "nll": nll_total / n_sent,
        "ppl": perplexity(nll_total, n_tok),
        "elbo_ppl": perplexity(nelbo_total, n_tok),
    }
    mi_rng = np.random.default_rng([seed, 1])
    per_layer, gaps = {}, {}
    for name in layers:
        mu, logvar, offset = (np.concatenate(part) for part in list(zip(*means[name]))[:3])
        per_layer[name] = {
            "kl": sums[f"kl_{name}"] / n_sent,
            "mi": mutual_information(mu.astype(np.float64), logvar.astype(np.float64), mi_rng),
            "active_units": active_units(offset, au_threshold),
        }
        if means[name][0][3] is not None:
            gap = np.concatenate([part[3] for part in means[name]])
            gaps[f"active_units_gap_{name}"] = active_units(gap, au_threshold)
    out["mi"] = per_layer[layers[0]]["mi"]
    # He et al.'s per-batch estimate of the first layer's MI, with noise of its own (the
    # numbers above do not move), batch by batch as evaluated
    batch_rng = np.random.default_rng([seed, 2])
    first = [(mu.astype(np.float64), lv.astype(np.float64)) for mu, lv, *_ in means[layers[0]]]
    out["mi_per_batch"] = (
        sum(mutual_information_per_batch(mu, lv, batch_rng) * len(mu) for mu, lv in first) / n_sent
    )
    out["active_units"] = sum(p["active_units"] for p in per_layer.values())
    if len(layers) > 1:
        for name, values in per_layer.items():
            out.update({f"{key}_{name}": value for key, value in values.items()})
    out.update(gaps)
    out["num_sentences"], out["num_tokens"] = n_sent, n_tok
    return out


def active_units(means, threshold: float = 0.01) -> int:
    """The dimensions whose mean varies over the data: Var_x(means[:, u]) > threshold
    (Burda et al. 2016, with the 0.01 of He et al. 2019).  means: (M, Z) on the host."""
    return int((means.var(axis=0) > threshold).sum()) if len(means) > 1 else 0


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
