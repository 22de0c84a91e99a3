"""Decoding strategies, interpolation, and the evaluation metrics."""

import math

import numpy as np
import pytest

from minivae.blocks.inference import log_px_given_z, posterior
from minivae.evaluation import evaluate, mutual_information, unigram_nll
from minivae.generation import _sample, beam_search, decode, interpolate
from minivae.gradcheck.models import tiny_batch
from minivae.interface import Step
from minivae.model import EOS, ModelConfig, TextVAE, init_params, loss_and_grads
from minivae.ops import log_normal

CONFIG = ModelConfig(vocab_size=12, embed_dim=6, hidden_dim=8, latent_dim=3)
MODEL = TextVAE(CONFIG)


@pytest.fixture(scope="module")
def params():
    p = init_params(CONFIG, seed=0, dtype=np.float64)
    p["out_b"][EOS] = 1.0  # sentences end within a few steps
    p["out_W"] *= 3.0  # a peaked softmax, so decoding strategies differ
    return p


def test_log_px_given_z_agrees_with_the_training_reconstruction(params):
    batch = tiny_batch(CONFIG.vocab_size, seed=3)
    eps = np.random.default_rng(0).standard_normal((3, 3))
    terms, _ = loss_and_grads(params, batch, CONFIG, Step(eps=eps))
    mu, logvar = posterior(params, CONFIG, batch.tokens, batch.lengths)
    z = mu + np.exp(0.5 * logvar) * eps
    assert -log_px_given_z(params, CONFIG, batch.tokens, batch.lengths, z).mean() == pytest.approx(
        terms.rec, rel=1e-12
    )


@pytest.mark.parametrize(
    "cell, z_mode, share",
    [("lstm", "both", False), ("gru", "concat", True), ("lstm", "init", True)],
)
@pytest.mark.parametrize("kernel", ["auto", "array"])
def test_scoring_k_codes_at_once_equals_the_training_decoder(cell, z_mode, share, kernel):
    """log_px_given_z shares the words' input projection among a sentence's K codes, runs
    past each sentence's end and scores only real positions: the same numbers as the
    training decoder's logits (masked, per code) for every cell and way of feeding z."""
    from minivae.blocks.decoder import decode_forward
    from minivae.blocks.sequence import decoder_io
    from minivae.ops import target_log_probs

    config = ModelConfig(
        vocab_size=12,
        embed_dim=6,
        hidden_dim=8,
        latent_dim=3,
        cell=cell,
        z_mode=z_mode,
        share_embeddings=share,
    )
    p = init_params(config, seed=1, dtype=np.float64)
    batch = tiny_batch(config.vocab_size, seed=7, N=4, T=6)
    z = np.random.default_rng(8).standard_normal((3 * 4, 3))
    inputs, targets, mask = decoder_io(batch.tokens, batch.lengths)
    expected = []
    for k in range(3):
        rows = z[k * 4 : (k + 1) * 4]
        logits, _ = decode_forward(p, config, rows, inputs, mask, Step(kernel=kernel))
        expected.append((target_log_probs(logits, targets, kernel) * mask).sum(axis=1))
    got = log_px_given_z(p, config, batch.tokens, batch.lengths, z, kernel)
    assert len(set(batch.lengths.tolist())) > 1  # padding is there to be skipped
    np.testing.assert_allclose(got, np.concatenate(expected), rtol=1e-12)


def test_scoring_refuses_codes_that_do_not_split_among_the_sentences(params):
    batch = tiny_batch(CONFIG.vocab_size, seed=3)  # 3 sentences
    z = np.zeros((7, 3))
    with pytest.raises(ValueError, match="z has 7 rows, not a multiple of the 3 sentences"):
        log_px_given_z(params, CONFIG, batch.tokens, batch.lengths, z)


def test_beam_of_width_one_is_greedy(params):
    z = np.random.default_rng(1).standard_normal((4, 3))
    greedy = decode(MODEL, params, z, "greedy", max_len=12)
    beams = [beam_search(MODEL, params, z[n : n + 1], beam_size=1, max_len=12) for n in range(4)]
    assert greedy == beams
    assert all(EOS not in ids for ids in greedy)


def test_wider_beams_find_sentences_at_least_as_likely(params):
    from minivae.blocks.inference import decoder_start, decoder_step

    def score(z, ids):
        state, tok, total = decoder_start(params, CONFIG, z), np.array([2]), 0.0
        for w in ids + [EOS]:
            logp, state = decoder_step(params, CONFIG, state, tok)
            total += logp[0, w]
            tok = np.array([w])
        return total / (len(ids) + 1)

    z = np.random.default_rng(2).standard_normal((1, 3))
    s1 = score(z, beam_search(MODEL, params, z, beam_size=1, max_len=20))
    s5 = score(z, beam_search(MODEL, params, z, beam_size=5, max_len=20))
    assert s5 >= s1 - 1e-12


def test_sampling_follows_the_softmax_and_top_k():
    rng = np.random.default_rng(0)
    logits = np.log(np.array([[0.5, 0.3, 0.2]]))
    draws = np.array([_sample(logits, 0, rng)[0] for _ in range(20000)])
    np.testing.assert_allclose(np.bincount(draws, minlength=3) / 20000, [0.5, 0.3, 0.2], atol=0.015)
    assert all(_sample(logits, 1, rng)[0] == 0 for _ in range(50))
    assert set(_sample(np.repeat(logits, 500, 0), 2, rng)) == {0, 1}


def test_temperature_sampling_runs_and_validates(params):
    z = np.zeros((2, 3))
    out = decode(
        MODEL,
        params,
        z,
        "sample",
        temperature=0.7,
        top_k=5,
        rng=np.random.default_rng(0),
        max_len=10,
    )
    assert len(out) == 2 and all(len(ids) <= 10 for ids in out)
    with pytest.raises(ValueError, match="temperature"):
        decode(MODEL, params, z, "sample", temperature=0)
    with pytest.raises(ValueError, match="method"):
        decode(MODEL, params, z, "nucleus")


def test_interpolation_linear_and_spherical():
    z1, z2 = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    lin = interpolate(z1, z2, 5, "linear")
    np.testing.assert_allclose(lin[[0, -1]], [z1, z2])
    np.testing.assert_allclose(lin[2], [0.5, 0.5])
    sl = interpolate(z1, z2, 5, "slerp")
    np.testing.assert_allclose(sl[[0, -1]], [z1, z2], atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(sl, axis=1), 1.0)


def test_mutual_information_limits():
    rng = np.random.default_rng(0)
    N = 256
    assert mutual_information(np.zeros((N, 2)), np.zeros((N, 2)), rng) == pytest.approx(
        0, abs=1e-12
    )
    nearly = mutual_information(0.01 * rng.standard_normal((N, 2)), np.zeros((N, 2)), rng)
    assert 0.0 <= nearly < 0.01
    # Posteriors that never overlap: z identifies x, so I(x; z) = log N (up to the noise
    # of sampling z).
    far = np.arange(N)[:, None] * 100.0 * np.ones((1, 2))
    assert mutual_information(far, np.full((N, 2), -4.0), rng) == pytest.approx(
        math.log(N), abs=0.25
    )


def test_log_normal_matches_the_density():
    z, mu, lv = np.array([0.3, -1.0]), np.array([0.1, 0.2]), np.array([0.5, -0.4])
    want = sum(
        -0.5 * np.log(2 * np.pi * np.exp(v)) - (a - m) ** 2 / (2 * np.exp(v))
        for a, m, v in zip(z, mu, lv)
    )
    assert log_normal(z, mu, lv) == pytest.approx(want, rel=1e-12)


def test_evaluate_reports_consistent_metrics(params):
    batches = [tiny_batch(CONFIG.vocab_size, seed=s, N=6, T=5) for s in range(3)]
    m = evaluate(MODEL, params, batches, iw_samples=30, seed=0)
    assert m["num_sentences"] == 18
    assert m["nelbo"] == pytest.approx(m["rec"] + m["kl"])
    assert m["kl"] > 0 and 0 <= m["active_units"] <= CONFIG.latent_dim
    # The importance-weighted bound is tighter than the ELBO (up to sampling noise).
    assert m["nll"] <= m["nelbo"] + 0.05 * m["nelbo"]
    assert m["ppl"] == pytest.approx(math.exp(m["nll"] * 18 / m["num_tokens"]))


def test_unigram_baseline():
    nll = unigram_nll([np.array([4, 4, 5])], [np.array([4])], vocab_size=6)
    counts = np.ones(6)
    counts[[4, 4, 5, EOS]] += [1, 1, 1, 1]
    counts[4] += 1  # np.add.at counts the repeat; fancy += above counted it once
    p = counts / counts.sum()
    assert nll == pytest.approx(-np.log(p[4]) - np.log(p[EOS]))


def test_active_units_count_dimensions_whose_mean_varies():
    params = init_params(CONFIG, seed=0, dtype=np.float64)
    params["mu_W"][:, 1:] = 0.0  # only dimension 0 depends on x
    params["mu_W"][:, 0] *= 20
    batch = tiny_batch(CONFIG.vocab_size, seed=0, N=16, T=5)
    assert evaluate(MODEL, params, [batch], iw_samples=0)["active_units"] == 1


def test_k_codes_per_sentence_score_as_k_separate_batches(params):
    """log_likelihood of K*N codes (the batch repeated) equals K separate calls."""
    batch = tiny_batch(CONFIG.vocab_size, seed=4, N=3, T=5)
    z = np.random.default_rng(5).standard_normal((2 * 3, 3))
    together = MODEL.log_likelihood(params, batch, z)
    apart = [MODEL.log_likelihood(params, batch, z[k * 3 : (k + 1) * 3]) for k in range(2)]
    np.testing.assert_allclose(together, np.concatenate(apart), rtol=1e-12)


@pytest.mark.parametrize("kind", ["vae", "hierarchical"])
def test_how_many_draws_are_scored_at_once_changes_no_number(kind, monkeypatch):
    """The memory budget decides how many of the K draws one pass scores (here all 7, or one
    at a time): the draws read the same random numbers either way (the hierarchical model
    draws both layers' noise in one row per draw), so every figure is the same."""
    from minivae import evaluation
    from minivae.hierarchical.config import HVAEConfig
    from minivae.hierarchical.hvae import HierarchicalVAE

    sizes = dict(vocab_size=12, embed_dim=6, hidden_dim=8, latent_dim=3)
    model = TextVAE(ModelConfig(**sizes))
    if kind == "hierarchical":
        model = HierarchicalVAE(HVAEConfig(**sizes, latent_dim2=2, prior_hidden=4))
    params = model.init_params(seed=0, dtype=np.float64)
    batch = tiny_batch(model.vocab_size, seed=9, N=5, T=6)
    whole = evaluate(model, params, [batch], iw_samples=7, seed=3)
    monkeypatch.setattr(evaluation, "SCORING_BUDGET", 1)
    one_by_one = evaluate(model, params, [batch], iw_samples=7, seed=3)
    assert whole["nll"] == pytest.approx(one_by_one["nll"], rel=1e-12)
    assert whole == pytest.approx(one_by_one, rel=1e-12)


def test_mutual_information_does_not_depend_on_the_batch_size(params):
    """MI is estimated over the whole set: how it is cut into batches changes nothing."""
    batch = tiny_batch(CONFIG.vocab_size, seed=6, N=12, T=5)
    whole = evaluate(MODEL, params, [batch], iw_samples=0, seed=0)["mi"]
    halves = [
        batch._replace(**{k: getattr(batch, k)[s] for k in ("tokens", "mask", "lengths")})
        for s in (slice(0, 6), slice(6, 12))
    ]
    assert evaluate(MODEL, params, halves, iw_samples=0, seed=0)["mi"] == pytest.approx(whole)


def test_evaluation_numbers_do_not_depend_on_the_number_of_threads(params):
    from minivae.threads import thread_policy

    batches = [tiny_batch(CONFIG.vocab_size, seed=s, N=5, T=6) for s in range(4)]
    results = []
    for threads in (1, 2):
        with thread_policy(threads):
            results.append(evaluate(MODEL, params, batches, iw_samples=7, seed=3))
    assert results[0] == results[1]
