"""Li et al. 2019's KL threshold, per sentence and per dimension (their text_anneal_fb.py,
--fb 2): a crafted batch where one sentence is above the threshold and one below, a float64
finite-difference check, the target as a total over dimensions, and the pre-training
schedule. Kingma's free bits on the batch mean (--free-bits) fail the first of these."""

from __future__ import annotations

import numpy as np
import pytest

from minivae import ops
from minivae.blocks.latent import kl_term_backward, kl_term_forward
from minivae.interface import Step
from minivae.model.config import ModelConfig
from minivae.model.run_config import TrainConfig
from minivae.model.vae import loss_and_grads
from minivae.remedies import pretraining

# Sentence 0's posterior is far from the prior in both dimensions (KL 2.0 each), sentence 1's
# near it (KL 0.02 each): with a threshold of 0.5 nats per dimension only sentence 0 counts.
MU = np.array([[2.0, -2.0], [0.2, 0.2]])
LOGVAR = np.zeros((2, 2))


def test_only_the_sentence_above_the_threshold_gets_the_kls_gradient():
    objective, _, _, cache = kl_term_forward(MU, LOGVAR, kl_threshold=0.5)
    assert objective == pytest.approx((2.0 + 2.0) / 2)  # (1/N) sum of the counted KLs
    dmu, dlogvar = kl_term_backward(1.0, cache)
    # d KL / d mu = mu (prior N(0, I)), over N = 2 sentences; nothing for sentence 1
    np.testing.assert_allclose(dmu, [[1.0, -1.0], [0.0, 0.0]])
    np.testing.assert_allclose(dlogvar, 0.0, atol=1e-12)  # e^0 - 1 = 0 at logvar 0


def test_free_bits_on_the_batch_mean_give_a_different_gradient():
    """The variant: the batch mean of each dimension (1.01) is above 0.5, so both sentences
    are pushed, the one below the threshold too."""
    _, _, _, cache = kl_term_forward(MU, LOGVAR, free_bits=0.5)
    dmu, _ = kl_term_backward(1.0, cache)
    np.testing.assert_allclose(dmu, [[1.0, -1.0], [0.1, 0.1]])


def test_the_op_counts_each_sentence_and_dimension_apart():
    kl = np.array([[0.9, 0.1, 0.6], [0.2, 0.7, 0.4]])
    objective, cache = ops.kl_threshold_forward(kl, 0.5)
    assert objective == pytest.approx((0.9 + 0.6 + 0.7) / 2)
    np.testing.assert_array_equal(
        ops.kl_threshold_backward(1.0, cache), [[0.5, 0, 0.5], [0, 0.5, 0]]
    )
    with pytest.raises(ValueError, match="threshold"):
        ops.kl_threshold_forward(kl, -1.0)


def test_finite_differences_in_float64():
    rng = np.random.default_rng(0)
    mu, logvar = rng.normal(0, 1, (5, 4)), rng.normal(0, 0.5, (5, 4))
    prior_mu, prior_logvar = rng.normal(0, 0.5, (5, 4)), rng.normal(0, 0.3, (5, 4))
    lam = 0.4
    kl = ops.gaussian_kl_forward(*(a.reshape(20, 1) for a in (mu, logvar, prior_mu, prior_logvar)))[
        0
    ].reshape(5, 4)
    assert (kl > lam).any() and (kl < lam).any() and np.abs(kl - lam).min() > 1e-3

    def f(m, lv, pm, plv):
        return kl_term_forward(m, lv, 0.0, pm, plv, kl_threshold=lam)[0]

    inputs = [mu, logvar, prior_mu, prior_logvar]
    grads = kl_term_backward(1.0, kl_term_forward(*inputs[:2], 0.0, *inputs[2:], lam)[3])
    h = 1e-6
    for which, (x, g) in enumerate(zip(inputs, grads)):
        numeric = np.zeros_like(x)
        for idx in np.ndindex(x.shape):
            plus = [a.copy() for a in inputs]
            minus = [a.copy() for a in inputs]
            plus[which][idx] += h
            minus[which][idx] -= h
            numeric[idx] = (f(*plus) - f(*minus)) / (2 * h)
        np.testing.assert_allclose(g, numeric, rtol=1e-6, atol=1e-8, err_msg=str(which))


def test_the_target_is_a_total_over_the_latent_dimensions():
    """Step.kl_threshold is their --target_kl: the model divides it by Z (dim_target_kl)."""
    config = ModelConfig(vocab_size=12, embed_dim=4, hidden_dim=5, latent_dim=4)
    from minivae.model.text_vae import TextVAE

    model = TextVAE(config)
    params = model.init_params(seed=0, dtype=np.float64)
    rng = np.random.default_rng(1)
    tokens = rng.integers(4, 12, (3, 5))
    batch = type("B", (), {"tokens": tokens, "lengths": np.array([5, 3, 4])})()
    eps = rng.standard_normal((3, 4))
    params["mu_b"][:] = [1.5, 0.0, 0.6, -0.9]  # dimensions above and below the threshold
    mu, logvar = model.posterior(params, batch).layers["z"]
    kl_nz = 0.5 * (mu**2 + np.exp(logvar) - logvar - 1)
    total = 2.0  # 0.5 nats per dimension
    terms, _ = loss_and_grads(params, batch, config, Step(eps=eps, kl_threshold=total))
    want = (kl_nz * (kl_nz > total / 4)).sum() / 3
    assert terms.kl_objective == pytest.approx(want, rel=1e-10)
    assert 0 < want < kl_nz.sum() / 3  # some (sentence, dimension) terms were left out


def test_the_threshold_replaces_free_bits_and_says_so(tmp_path):
    with pytest.raises(ValueError, match="--free-bits 0"):
        TrainConfig(kl_threshold=8.0, out=str(tmp_path))  # free bits 0.5 by default
    TrainConfig(kl_threshold=8.0, free_bits=0.0, out=str(tmp_path))
    with pytest.raises(ValueError, match="kl-threshold"):
        TrainConfig(kl_threshold=-1.0, free_bits=0.0, out=str(tmp_path))


def test_the_pre_training_schedule():
    """Li et al.: an autoencoder first (KL weight 0), then the decoder reset and the KL
    weight annealed from 0 (their --kl_start 0 --warm_up), counted from the reset."""
    cfg = TrainConfig(
        epochs=6,
        ae_pretrain_epochs=2,
        kl_schedule="linear",
        kl_warmup=40,
        free_bits=0.0,
        kl_threshold=8.0,
    )
    spe = 10
    weights = [pretraining.kl_weight_at(cfg, s, spe) for s in (0, 19, 20, 40, 60, 100)]
    np.testing.assert_allclose(weights, [0.0, 0.0, 0.0, 0.5, 1.0, 1.0])
