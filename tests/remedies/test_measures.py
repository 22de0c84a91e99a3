"""The measures the remedies are judged by: active units of the hierarchical VAE's lower
layer by Burda et al.'s definition (the variance over x of E_q[z1]; the gap from the prior
network's mean is a second count, named so), and He et al.'s per-batch mutual information
beside the whole-set estimate."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from minivae.evaluation import evaluate, mutual_information, mutual_information_per_batch
from minivae.hierarchical.config import HVAEConfig
from minivae.hierarchical.hvae import HierarchicalVAE
from minivae.model.config import ModelConfig
from minivae.model.text_vae import TextVAE


def batches(rng, vocab, sizes=(6, 6, 4)):
    out = []
    for n in sizes:
        lengths = rng.integers(2, 6, n)
        tokens = np.zeros((n, 6), dtype=np.int64)
        for i, length in enumerate(lengths):
            tokens[i, :length] = rng.integers(4, vocab, length)
        out.append(SimpleNamespace(tokens=tokens, lengths=lengths))
    return out


def test_burdas_active_units_of_z1_differ_from_the_gap_count():
    """A crafted hierarchical VAE: q(z1|x)'s mean is the same for every sentence (no unit
    of z1 is active by Burda et al.'s definition), while p(z1|z2)'s mean at E_q[z2] moves
    with x, so the old gap count, Var_x(E_q[z1] - E_p[z1|z2]), finds units "active"."""
    config = HVAEConfig(
        vocab_size=15, embed_dim=4, hidden_dim=5, latent_dim=3, latent_dim2=2, prior_hidden=4
    )
    model = HierarchicalVAE(config)
    params = model.init_params(seed=0, dtype=np.float64)
    rng = np.random.default_rng(0)
    params["mu_W"][:] = 0.0  # E_q[z1] = mu_b for every x
    params["mu_b"][:] = [0.3, -0.2, 0.1]
    params["z2_mu_W"][:] = rng.normal(0, 4.0, params["z2_mu_W"].shape)  # E_q[z2] moves with x
    params["prior_W"][:] = rng.normal(0, 2.0, params["prior_W"].shape)
    params["prior_mu_W"][:] = rng.normal(0, 2.0, params["prior_mu_W"].shape)
    data = batches(rng, 15)
    m = evaluate(model, params, data, iw_samples=1)
    assert m["active_units_z1"] == 0  # Burda: E_q[z1] does not vary
    assert m["active_units_gap_z1"] == 3  # the gap count: p(z1|z2)'s mean moves
    assert m["active_units_z2"] == 2 and m["active_units"] == 2  # the sum is of Burda's

    # Burda's count is the variance of E_q[z1] itself, read from the posterior directly
    params["mu_W"][:] = rng.normal(0, 3.0, params["mu_W"].shape)
    means = np.concatenate([model.posterior(params, b).layers["z1"].mu for b in data])
    m = evaluate(model, params, data, iw_samples=1)
    assert m["active_units_z1"] == int((means.var(axis=0) > 0.01).sum()) > 0


def test_the_plain_vae_reports_no_gap_count():
    config = ModelConfig(vocab_size=15, embed_dim=4, hidden_dim=5, latent_dim=3)
    model = TextVAE(config)
    params = model.init_params(seed=0, dtype=np.float64)
    m = evaluate(model, params, batches(np.random.default_rng(1), 15), iw_samples=1)
    assert not [k for k in m if k.startswith("active_units_gap")]


def test_per_batch_mi_is_bounded_by_log_b_and_the_whole_set_one_by_log_m():
    """64 sentences with posteriors far apart: each carries log 64 nats about its sentence.
    Per batch of 8, q(z) is a mixture of 8: the estimate cannot exceed log 8."""
    M, B, Z = 64, 8, 2
    mu = np.stack([np.arange(M) * 10.0, np.zeros(M)], axis=1)
    logvar = np.full((M, Z), -2.0)
    rng = np.random.default_rng(0)
    whole = mutual_information(mu, logvar, rng)
    per_batch = np.mean(
        [
            mutual_information_per_batch(mu[i : i + B], logvar[i : i + B], rng)
            for i in range(0, M, B)
        ]
    )
    assert whole == pytest.approx(math.log(M), abs=1e-6)  # 4.16 nats
    # log 8 = 2.08 and the noise of an analytic entropy against one draw per sentence
    assert per_batch == pytest.approx(math.log(B), abs=0.4)


def test_per_batch_mi_is_not_clipped_and_is_hes_formula():
    """A collapsed encoder: the whole-set estimate (same draw in both terms) is exactly 0;
    He et al.'s analytic E_q log q(z|x) against a sampled log q(z) leaves noise of either
    sign, which their code reports as it is."""
    rng = np.random.default_rng(3)
    mu, logvar = np.zeros((16, 4)), np.zeros((16, 4))
    assert mutual_information(mu, logvar, np.random.default_rng(0)) == pytest.approx(0, abs=1e-12)
    values = [mutual_information_per_batch(mu, logvar, rng) for _ in range(20)]
    assert min(values) < 0 < max(values)
    # by hand: neg_entropy - mean_i log q(z_i), q(z) = N(0, I) here
    draw = np.random.default_rng(7)
    z = draw.standard_normal((16, 4))
    want = (-2 * math.log(2 * math.pi) - 2) - np.mean(
        -2 * math.log(2 * math.pi) - 0.5 * (z**2).sum(1)
    )
    got = mutual_information_per_batch(mu, logvar, np.random.default_rng(7))
    assert got == pytest.approx(want, rel=1e-10)


def test_evaluate_reports_both_estimates():
    config = ModelConfig(vocab_size=15, embed_dim=4, hidden_dim=5, latent_dim=3)
    model = TextVAE(config)
    params = model.init_params(seed=0, dtype=np.float64)
    params["mu_W"][:] *= 20  # posteriors that differ
    data = batches(np.random.default_rng(2), 15, sizes=(8, 8, 3))
    m = evaluate(model, params, data, iw_samples=1, seed=4)
    rng = np.random.default_rng([4, 2])  # the per-batch estimate's own noise
    want = 0.0
    for b in data:
        mu, logvar = model.posterior(params, b).layers["z"]
        want += mutual_information_per_batch(mu, logvar, rng) * len(mu)
    assert m["mi_per_batch"] == pytest.approx(want / 19, rel=1e-9)
    assert m["mi"] <= math.log(19) + 1e-9 and m["mi_per_batch"] <= math.log(8) + 0.5
