"""The remedies beyond annealing, word dropout and free bits: the capped variant of
aggressive encoder training (He et al.'s own loop: tests/remedies/test_aggressive.py),
autoencoder pre-training with a decoder reset (Li et al. 2019), and the
over-fitting remedies dropout and weight decay, through the shared trainer."""

import numpy as np
import pytest

from minivae.loading import resume_trainer
from minivae.model.run_config import TrainConfig
from minivae.remedies import aggressive, pretraining
from minivae.training.trainer import Trainer, epoch_batches

SMALL = dict(
    builtin_size=300,
    embed_dim=12,
    hidden_dim=16,
    latent_dim=4,
    batch_size=16,
    kl_warmup=20,
    iw_samples=2,
    device="cpu",
)


def quiet(*_):
    pass


def make(tmp_path, name="run", **kw):
    cfg = TrainConfig(**{**SMALL, "out": str(tmp_path / name), **kw})
    return Trainer(cfg, progress_bar=False, log=quiet)


def test_capped_aggressive_training_updates_the_encoder_alone_in_between(tmp_path):
    t = make(tmp_path, epochs=1, aggressive_capped=True, aggressive_steps=12)
    encoder, rest = t.optimizers["encoder"], t.optimizers["rest"]
    before = {k: v.copy() for k, v in t.params.items()}
    batch = epoch_batches(t.data.train, t.cfg, 0)[0]
    aggressive.train_encoder_capped(t, epoch_batches(t.data.train, t.cfg, t.progress.epoch))
    changed = {k for k in t.params if not np.array_equal(t.params[k], before[k])}
    assert changed == t.model.encoder_param_names()  # the inner loop moves q's weights only
    assert 1 <= encoder.step_count <= 12 and rest.step_count == 0
    steps = encoder.step_count
    t.train_step(batch)  # another inner loop, then the rest of the model alone
    assert encoder.step_count > steps and rest.step_count == 1


def test_capped_aggressive_phase_ends_when_the_mutual_information_stops_rising(tmp_path):
    t = make(tmp_path, epochs=3, aggressive_capped=True, aggressive_steps=5)
    mi = iter([0.5, 0.9, 0.7])
    validate = t.validate

    def fake_mi(iw_samples=0):
        return {**validate(iw_samples), "mi": next(mi)}

    t.validate = fake_mi
    t.run()
    flags = [row["aggressive"] for row in t.progress.history]
    assert flags == [True, True, True] and t.progress.aggressive is False
    assert t.progress.best_mi == 0.9


def test_capped_aggressive_run_resumes_exactly(tmp_path):
    full = make(
        tmp_path, "full", epochs=2, aggressive_capped=True, aggressive_steps=6, save_every=4
    )
    full.run()
    part = make(tmp_path, "part", epochs=2, aggressive_capped=True, aggressive_steps=6)
    for batch in epoch_batches(part.data.train, part.cfg, 0)[:4]:
        part.train_step(batch)
        part.progress.step += 1
        part.progress.batch_in_epoch += 1
    part.save("last.npz")
    resumed = resume_trainer(tmp_path / "part", progress_bar=False, log=quiet)
    assert resumed.progress.aggressive
    resumed.run()
    for name, value in full.params.items():
        np.testing.assert_array_equal(resumed.params[name], value, err_msg=name)


def test_pretraining_trains_an_autoencoder_then_resets_the_decoder(tmp_path):
    t = make(tmp_path, epochs=2, ae_pretrain_epochs=1, kl_schedule="constant")
    per_epoch = t.steps_per_epoch
    assert t.beta(0) == 0.0 and t.beta(per_epoch - 1) == 0.0 and t.beta(per_epoch) == 1.0
    with (tmp_path / "run" / "metrics.jsonl").open("a") as rows:
        t._run_epoch(rows)  # the autoencoder epoch
        trained = {k: v.copy() for k, v in t.params.items()}
        pretraining.reset_decoder(t)
    fresh = t.model.init_params(seed=t.cfg.seed + 1)
    for name in t.model.decoder_param_names():
        np.testing.assert_array_equal(t.params[name], fresh[name], err_msg=name)
    for name in t.model.encoder_param_names():
        np.testing.assert_array_equal(t.params[name], trained[name], err_msg=name)
    assert all(opt.step_count == 0 for opt in t.optimizers.values())


def test_pretraining_as_long_as_the_run_is_refused():
    # A run whose every epoch is pre-training reports an autoencoder as a VAE (KL in the 100s).
    with pytest.raises(ValueError, match=r"--ae-pretrain-epochs.*below --epochs \(5\)"):
        TrainConfig(epochs=5, ae_pretrain_epochs=5)
    TrainConfig(epochs=5, ae_pretrain_epochs=4)


def test_weight_decay_adds_lambda_w_to_the_matrices_gradients(tmp_path):
    plain = make(tmp_path, "a", epochs=1, word_dropout=0.0)
    decayed = make(tmp_path, "b", epochs=1, word_dropout=0.0, weight_decay=0.1)
    batch = epoch_batches(plain.data.train, plain.cfg, 0)[0]
    _, g0 = plain.loss_and_grads(batch)
    terms, g1 = decayed.loss_and_grads(batch)
    assert terms.extra["l2"] > 0
    for name, p in plain.params.items():
        want = g0[name] + (0.1 * p if p.ndim >= 2 else 0)
        np.testing.assert_allclose(g1[name], want, rtol=1e-5, atol=1e-7, err_msg=name)


def test_dropout_changes_training_only(tmp_path):
    t = make(tmp_path, epochs=1, dropout=0.5, word_dropout=0.0, free_bits=0.0)
    batch = epoch_batches(t.data.train, t.cfg, 0)[0]
    a, _ = t.loss_and_grads(batch)
    b, _ = t.loss_and_grads(batch)
    assert a.rec != b.rec  # new masks each step
    m1, m2 = t.validate(), t.validate()
    assert m1["nelbo"] == pytest.approx(m2["nelbo"])  # evaluation runs without dropout
