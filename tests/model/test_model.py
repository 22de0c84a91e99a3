"""The whole text VAE: gradients of the loss for every parameter, and the loss's parts."""

import numpy as np
import pytest

from minivae.gradcheck import DEFAULT_TOL
from minivae.gradcheck.models import check_model, tiny_batch
from minivae.interface import Step
from minivae.model import (
    BOS,
    EOS,
    PAD,
    ModelConfig,
    TextVAE,
    decoder_io,
    init_params,
    loss_and_grads,
)

TINY = dict(vocab_size=11, embed_dim=4, hidden_dim=5, latent_dim=3)


@pytest.mark.parametrize(
    "cell, z_mode, shared, free_bits",
    [
        ("lstm", "both", True, 0.0),
        ("lstm", "init", False, 0.0),
        ("gru", "concat", True, 0.0),
        ("gru", "both", False, 0.0),
        ("lstm", "both", True, 0.25),
    ],
)
def test_whole_model_gradient_for_every_parameter(cell, z_mode, shared, free_bits):
    config = ModelConfig(**TINY, cell=cell, z_mode=z_mode, share_embeddings=shared)
    rows = check_model(TextVAE(config), free_bits=free_bits)
    assert {r.input for r in rows} == set(init_params(config))
    for r in rows:
        assert r.error < DEFAULT_TOL, f"d loss / d {r.input}: rel error {r.error:.2e}"


def test_decoder_reads_bos_and_predicts_eos():
    tokens = np.array([[5, 6, 7], [8, 9, PAD]])
    inputs, targets, mask = decoder_io(tokens, np.array([3, 2]))
    np.testing.assert_array_equal(inputs, [[BOS, 5, 6, 7], [BOS, 8, 9, PAD]])
    np.testing.assert_array_equal(targets, [[5, 6, 7, EOS], [8, 9, EOS, PAD]])
    np.testing.assert_array_equal(mask, [[1, 1, 1, 1], [1, 1, 1, 0]])


def _setup(dtype=np.float64, **kw):
    config = ModelConfig(**{**TINY, **kw})
    params = init_params(config, seed=0, dtype=dtype)
    batch = tiny_batch(config.vocab_size, seed=1)
    eps = np.random.default_rng(2).standard_normal((3, config.latent_dim))
    return config, params, batch, eps


def test_loss_is_reconstruction_plus_beta_kl_and_kl_is_nonnegative():
    config, params, batch, eps = _setup()
    terms, grads = loss_and_grads(params, batch, config, Step(beta=0.3, eps=eps))
    assert terms.loss == pytest.approx(terms.rec + 0.3 * terms.kl, rel=1e-12)
    assert terms.kl >= 0 and terms.rec > 0
    assert terms.num_tokens == int(batch.lengths.sum() + len(batch.lengths))
    assert set(grads) == set(params)
    for name in params:
        assert grads[name].shape == params[name].shape and grads[name].dtype == np.float64


def test_free_bits_floor_the_kl_objective_but_not_the_reported_kl():
    config, params, batch, eps = _setup()
    plain, _ = loss_and_grads(params, batch, config, Step(eps=eps))
    floored, grads = loss_and_grads(params, batch, config, Step(eps=eps, free_bits=10.0))
    assert floored.kl == pytest.approx(plain.kl)
    assert floored.kl_objective == pytest.approx(10.0 * config.latent_dim)
    # Every dimension is under the floor, so the KL pushes nothing: mu gets only the
    # reconstruction's gradient, which beta=0 also gives.
    _, rec_only = loss_and_grads(params, batch, config, Step(eps=eps, beta=0.0))
    np.testing.assert_allclose(grads["mu_W"], rec_only["mu_W"], rtol=1e-12)


def test_padding_length_does_not_change_the_loss():
    config, params, batch, eps = _setup()
    wider = batch._replace(tokens=np.pad(batch.tokens, ((0, 0), (0, 3))))
    a, ga = loss_and_grads(params, batch, config, Step(eps=eps))
    b, gb = loss_and_grads(params, wider, config, Step(eps=eps))
    assert a.loss == pytest.approx(b.loss, rel=1e-12)
    for name in ga:
        np.testing.assert_allclose(ga[name], gb[name], rtol=1e-10, atol=1e-14)


def test_word_dropout_hides_inputs_but_not_targets():
    config, params, batch, eps = _setup()
    clean, _ = loss_and_grads(params, batch, config, Step(eps=eps))
    keep = Step(eps=eps, word_dropout=0.0, rng=np.random.default_rng(0))
    same, _ = loss_and_grads(params, batch, config, keep)
    assert same.loss == clean.loss
    drop = Step(eps=eps, word_dropout=1.0, rng=np.random.default_rng(0))
    dropped, _ = loss_and_grads(params, batch, config, drop)
    assert dropped.loss != clean.loss and dropped.num_tokens == clean.num_tokens


def test_model_runs_in_float32():
    config, params, batch, eps = _setup(dtype=np.float32)
    terms, grads = loss_and_grads(params, batch, config, Step(eps=eps))
    assert np.isfinite(terms.loss)
    assert all(g.dtype == np.float32 for g in grads.values())


def test_bad_config_is_a_clear_error():
    with pytest.raises(ValueError, match="cell"):
        ModelConfig(vocab_size=10, cell="rnn")
    with pytest.raises(ValueError, match="hidden_dim"):
        ModelConfig(vocab_size=10, hidden_dim=0)


def test_whole_model_gradient_with_label_smoothing():
    config = ModelConfig(vocab_size=11, embed_dim=4, hidden_dim=5, latent_dim=3)
    rows = check_model(TextVAE(config), label_smoothing=0.1)
    assert rows and all(r.passed for r in rows), [r for r in rows if not r.passed]


def test_label_smoothing_reaches_the_loss_through_the_trainer_and_is_checked(tmp_path):
    """--label-smoothing changes the trained objective (the same batch, noise and weights give
    another loss), not the validation metrics' definition; 1 or more is refused by name."""
    from minivae.model.run_config import TrainConfig
    from minivae.training.trainer import Trainer, epoch_batches

    small = dict(builtin_size=60, embed_dim=8, hidden_dim=8, latent_dim=2, device="cpu")
    losses, nelbos = [], []
    for eps in (0.0, 0.3):
        trainer = Trainer(
            TrainConfig(**small, label_smoothing=eps, out=str(tmp_path / str(eps))),
            progress_bar=False,
            log=lambda *_: None,
        )
        batch = epoch_batches(trainer.data.train, trainer.cfg, 0)[0]
        losses.append(float(trainer.loss_and_grads(batch)[0].loss))
        nelbos.append(trainer.evaluate("valid")["nelbo"])
    assert losses[1] != pytest.approx(losses[0])
    assert nelbos[1] == pytest.approx(nelbos[0])  # the same weights, the true -ELBO
    for bad in (1.0, -0.1, float("nan"), float("inf"), "0.1"):
        with pytest.raises(ValueError, match="label_smoothing"):
            TrainConfig(**small, label_smoothing=bad)
