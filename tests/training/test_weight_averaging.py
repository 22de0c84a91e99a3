"""--ema: the running average of the weights is what is validated, saved and reported, the
trained weights travel with the optimizer state, a resume continues both exactly, and a
crafted checkpoint's trained weights are refused with the file named."""

import numpy as np
import pytest

from minivae.loading import load_model, resume_trainer
from minivae.model.run_config import TrainConfig
from minivae.training.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from minivae.training.trainer import Trainer

SMALL = dict(
    builtin_size=300,
    embed_dim=16,
    hidden_dim=24,
    latent_dim=4,
    batch_size=16,
    kl_warmup=20,
    iw_samples=2,
    device="cpu",
    ema=0.9,
)


def make(tmp_path, name="run", **kw):
    cfg = TrainConfig(**{**SMALL, "out": str(tmp_path / name), **kw})
    return Trainer(cfg, progress_bar=False, log=lambda *_: None)


def test_the_average_follows_its_formula_with_the_warm_up():
    trainer = Trainer.__new__(Trainer)  # only what _average reads
    trainer.cfg = TrainConfig(**SMALL)
    trainer.progress = type("P", (), {"step": 0})()
    trainer.params = {"w": np.array([1.0, 3.0])}
    trainer.averaged = {"w": np.array([0.0, 0.0])}
    trainer._average()  # step 0: d = 1/10, well below --ema 0.9
    np.testing.assert_allclose(trainer.averaged["w"], [0.9, 2.7])
    trainer.progress.step = 1000  # warmed up: d = --ema
    trainer._average()
    np.testing.assert_allclose(trainer.averaged["w"], [0.9 + 0.1 * 0.1, 2.7 + 0.1 * 0.3])


def test_validation_and_checkpoints_use_the_average_and_keep_the_trained_weights(tmp_path):
    trainer = make(tmp_path, epochs=2)
    trainer.run()
    assert any(not np.array_equal(trainer.averaged[k], trainer.params[k]) for k in trainer.params)
    # The last validation row is of the average, not of the trained weights.
    last = trainer.progress.history[-1]
    assert trainer.evaluate(params=trainer.averaged)["nelbo"] == pytest.approx(last["nelbo"])
    assert trainer.evaluate(params=trainer.params)["nelbo"] != pytest.approx(last["nelbo"])
    params, _, state = load_checkpoint(tmp_path / "run/last.npz")
    for name in trainer.params:
        np.testing.assert_array_equal(params[name], trainer.averaged[name], err_msg=name)
        np.testing.assert_array_equal(state[f"train.{name}"], trainer.params[name])


def test_a_resumed_run_continues_the_trained_weights_and_the_average_exactly(tmp_path):
    full = make(tmp_path, "full", epochs=2)
    full.run()
    part = make(tmp_path, "part", epochs=1)
    part.run()
    # The model a user loads (eval, generate, the API) is the average.
    best = load_model(tmp_path / "part/best.npz")
    for name in part.params:
        np.testing.assert_array_equal(best.params[name], part.averaged[name], err_msg=name)
    resumed = resume_trainer(
        tmp_path / "part", progress_bar=False, log=lambda *_: None, overrides={"epochs": 2}
    )
    for name in part.params:  # read back as they were written
        np.testing.assert_array_equal(resumed.params[name], part.params[name], err_msg=name)
        np.testing.assert_array_equal(resumed.averaged[name], part.averaged[name], err_msg=name)
    resumed.run()
    for name in full.params:
        np.testing.assert_array_equal(resumed.params[name], full.params[name], err_msg=name)
        np.testing.assert_array_equal(resumed.averaged[name], full.averaged[name], err_msg=name)


@pytest.mark.parametrize("attack", ["missing", "extra", "shape", "dtype", "nan"])
def test_crafted_trained_weights_are_refused_naming_the_file(tmp_path, attack):
    make(tmp_path, epochs=1).run()
    path = tmp_path / "run/last.npz"
    params, meta, state = load_checkpoint(path)
    if attack == "missing":
        del state["train.out_b"]
    elif attack == "extra":
        state["train.stray"] = np.zeros(3, dtype=np.float32)
    elif attack == "shape":
        state["train.out_b"] = np.zeros(3, dtype=np.float32)
    elif attack == "dtype":
        state["train.out_b"] = state["train.out_b"].astype(np.float64)
    else:
        state["train.out_b"] = np.full_like(state["train.out_b"], np.nan)
    save_checkpoint(path, params, meta, state)
    with pytest.raises(CheckpointError, match=str(path)):
        resume_trainer(path, progress_bar=False, log=lambda *_: None)


@pytest.mark.parametrize("ema", [1.0, 1.5, -0.1, float("nan")])
def test_a_bad_decay_is_refused(ema):
    with pytest.raises(ValueError, match="--ema"):
        TrainConfig(**{**SMALL, "ema": ema})


def test_without_ema_the_checkpoint_holds_the_trained_weights_only(tmp_path):
    trainer = make(tmp_path, epochs=1, ema=0.0)
    trainer.run()
    assert trainer.averaged is None and trainer.eval_params is trainer.params
    params, _, state = load_checkpoint(tmp_path / "run/last.npz")
    assert not any(k.startswith("train.") for k in state)
    for name in trainer.params:
        np.testing.assert_array_equal(params[name], trainer.params[name])


def test_trained_weights_in_a_run_without_ema_are_refused(tmp_path):
    make(tmp_path, epochs=1, ema=0.0).run()
    path = tmp_path / "run/last.npz"
    params, meta, state = load_checkpoint(path)
    state["train.out_b"] = params["out_b"]
    save_checkpoint(path, params, meta, state)
    with pytest.raises(CheckpointError, match="unexpected optimizer state"):
        resume_trainer(path, progress_bar=False, log=lambda *_: None)
