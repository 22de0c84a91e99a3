"""Training runs: learning, exact resume, checkpoints that fail safely, and bad input."""

import json
import zipfile

import numpy as np
import pytest

from minivae.cli import main
from minivae.loading import load_model, resume_trainer
from minivae.model.run_config import TrainConfig
from minivae.training.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from minivae.training.trainer import Trainer, TrainingDiverged

SMALL = dict(
    builtin_size=400,
    embed_dim=16,
    hidden_dim=24,
    latent_dim=4,
    batch_size=16,
    kl_warmup=20,
    iw_samples=3,
    device="cpu",
    word_dropout=0.2,
)


def make(tmp_path, name="run", **kw):
    cfg = TrainConfig(**{**SMALL, "out": str(tmp_path / name), **kw})
    return Trainer(cfg, progress_bar=False, log=lambda *_: None)


def test_training_lowers_the_validation_loss(tmp_path):
    trainer = make(tmp_path, epochs=3, lr=5e-3)
    before = trainer.validate()["nelbo"]
    trainer.run()
    after = trainer.progress.history[-1]["nelbo"]
    assert after < 0.8 * before
    rows = [json.loads(x) for x in (tmp_path / "run/metrics.jsonl").read_text().splitlines()]
    assert {r["split"] for r in rows} == {"train", "valid"}
    assert (tmp_path / "run/best.npz").exists() and (tmp_path / "run/last.npz").exists()


def test_resume_gives_the_same_parameters_as_an_uninterrupted_run(tmp_path):
    full = make(tmp_path, "full", epochs=2, save_every=7)
    full.run()
    # Interrupt a second run after step 7 (mid-epoch) by resuming from its step-7 checkpoint.
    part = make(tmp_path, "part", epochs=2, save_every=7)
    batches = part.steps_per_epoch
    assert batches > 7
    for _ in range(7):
        part.train_step(_nth_batch(part, part.progress.batch_in_epoch))
        part.progress.step += 1
        part.progress.batch_in_epoch += 1
    part.save("last.npz")
    resumed = resume_trainer(tmp_path / "part", progress_bar=False, log=lambda *_: None)
    assert resumed.progress.step == 7
    resumed.run()
    assert resumed.progress.step == full.progress.step
    for name, value in full.params.items():
        np.testing.assert_array_equal(resumed.params[name], value, err_msg=name)


def _nth_batch(trainer, n):
    from minivae.training.trainer import epoch_batches

    return epoch_batches(trainer.data.train, trainer.cfg, trainer.progress.epoch)[n]


def test_nan_loss_stops_with_the_step_and_keeps_the_last_good_checkpoint(tmp_path):
    trainer = make(tmp_path, epochs=2)
    trainer.save("last.npz")
    good = load_checkpoint(tmp_path / "run/last.npz")[0]
    trainer.params["out_b"][:] = np.nan
    with pytest.raises(TrainingDiverged, match=r"step 1 .*last good checkpoint"):
        trainer.run()
    after = load_checkpoint(tmp_path / "run/last.npz")[0]
    np.testing.assert_array_equal(after["out_W"], good["out_W"])


def test_checkpoint_round_trip_and_atomic_write(tmp_path):
    params = {"w": np.arange(6.0).reshape(2, 3)}
    path = save_checkpoint(tmp_path / "c.npz", params, {"step": 3}, {"w.m": np.ones((2, 3))})
    assert path.stat().st_mode & 0o777 == 0o666 & ~_umask(), "the user's normal permissions"
    got, meta, optim = load_checkpoint(path)
    np.testing.assert_array_equal(got["w"], params["w"])
    assert meta["step"] == 3 and optim["w.m"].shape == (2, 3)
    assert [p.name for p in tmp_path.iterdir()] == ["c.npz"], "no temporary file left behind"


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_broken_checkpoints_give_clear_errors(tmp_path):
    path = save_checkpoint(tmp_path / "c.npz", {"w": np.ones(3)}, {})
    data = path.read_bytes()
    (tmp_path / "truncated.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_checkpoint(tmp_path / "truncated.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip at all")
    with pytest.raises(CheckpointError, match="junk.npz"):
        load_checkpoint(tmp_path / "junk.npz")
    np.savez(tmp_path / "foreign.npz", w=np.ones(3))
    with pytest.raises(CheckpointError, match="not a minivae checkpoint"):
        load_checkpoint(tmp_path / "foreign.npz")
    np.savez(tmp_path / "pickled.npz", w=np.array([{"a": 1}], dtype=object))
    with pytest.raises(CheckpointError, match="pickled.npz"):
        load_checkpoint(tmp_path / "pickled.npz")
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.npz")
    with zipfile.ZipFile(tmp_path / "nometa.npz", "w") as z:
        z.writestr("x.npy", b"")
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "nometa.npz")


def test_checkpoint_with_mismatched_sizes_is_refused(tmp_path):
    trainer = make(tmp_path, epochs=1)
    path = trainer.save("last.npz")
    params, meta, optim = load_checkpoint(path)
    params["enc_Wh"] = params["enc_Wh"][:, :-4]
    save_checkpoint(tmp_path / "bad.npz", params, meta, optim)
    with pytest.raises(CheckpointError, match="enc_Wh has shape"):
        load_model(tmp_path / "bad.npz")
    meta["vocab"]["words"] = meta["vocab"]["words"][:-1]
    params, _, _ = load_checkpoint(path)
    save_checkpoint(tmp_path / "badvocab.npz", params, meta, optim)
    with pytest.raises(CheckpointError, match="vocabulary"):
        load_model(tmp_path / "badvocab.npz")


def test_cli_reports_bad_corpora_without_a_traceback(tmp_path, capsys):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"ok line\n\xff\xfe broken\n")
    assert main(["train", "--corpus", str(bad), "--out", str(tmp_path / "r"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "bad.txt, line 2" in err and "Traceback" not in err
    assert (
        main(["train", "--corpus", str(tmp_path / "none.txt"), "--out", str(tmp_path / "r")]) == 2
    )
    assert "does not exist" in capsys.readouterr().err
    assert main(["eval", str(tmp_path / "none.npz")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_cli_end_to_end_on_a_small_run(tmp_path, capsys):
    out = tmp_path / "cli"
    args = [
        "train",
        "--builtin-size",
        "300",
        "--epochs",
        "1",
        "--embed-dim",
        "16",
        "--hidden-dim",
        "16",
        "--latent-dim",
        "4",
        "--iw-samples",
        "2",
        "--device",
        "cpu",
        "--out",
        str(out),
        "--no-progress",
    ]
    assert main(args) == 0
    text = capsys.readouterr().out
    for expected in (
        "Samples from the prior",
        "Reconstructions",
        "Interpolation",
        "unigram baseline",
        "active units",
    ):
        assert expected in text
    for f in ("curves.png", "latent.png", "report.json", "best.npz", "metrics.jsonl"):
        assert (out / f).stat().st_size > 0
    assert main(["eval", str(out), "--iw-samples", "2"]) == 0
    assert "perplexity" in capsys.readouterr().out
    assert main(["sample", str(out), "-n", "3", "--method", "beam"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 3
    assert main(["reconstruct", str(out), "the chef cooked a tasty soup"]) == 0
    assert "out:" in capsys.readouterr().out
    assert (
        main(
            [
                "interpolate",
                str(out),
                "the chef cooked a tasty soup",
                "the band played a noisy song",
                "--steps",
                "3",
                "--mode",
                "slerp",
            ]
        )
        == 0
    )
    assert len(capsys.readouterr().out.strip().splitlines()) == 3
    assert main(["reconstruct", str(out), "qqq zzz"]) == 2
    assert "unknown" in capsys.readouterr().err


def test_step_benchmark_prints_rounds_and_a_summary():
    from minivae.benchmarks.training_step import run_step_bench

    lines = []
    result = run_step_bench(
        N=2, T=3, repeats=1, rounds=2, pause=0.0, log=lines.append, threads=(1,), memory=False
    )
    at1 = result[1]
    assert at1["minivae_s"] > 0 and result["rounds"] == 2
    assert sum(line.startswith("  round ") for line in lines) == 2
    split = at1["cost_split"]
    assert split["softmax cross-entropy"] > 0 and split["optimizer (Adam)"] > 0
    assert any("where minivae's step goes" in line for line in lines)
    if "torch_s" in at1:  # PyTorch installed (the bench extra): the ratio is reported
        assert at1["ratio"] == pytest.approx(at1["minivae_s"] / at1["torch_s"])
        lo, hi = at1["ratio_range"]
        assert lo <= hi and any("ratio" in line for line in lines)
    else:
        assert any("PyTorch  not installed" in line for line in lines)


class _NeverBetter(TrainConfig):
    """A run whose validation score never improves after the first epoch."""

    def selection_score(self, row):
        return 0.0


def test_lr_decay_halves_the_rate_after_an_epoch_without_improvement_and_survives_resume(
    tmp_path,
):
    cfg = _NeverBetter(**{**SMALL, "out": str(tmp_path / "run"), "epochs": 3, "lr_decay": 0.5})
    trainer = Trainer(cfg, progress_bar=False, log=lambda *_: None)
    trainer.run()
    # Epoch 1 sets the best score (0 < inf); epochs 2 and 3 do not beat it: two halvings.
    assert trainer.progress.lr == pytest.approx(cfg.lr / 4)
    assert all(opt.lr == pytest.approx(cfg.lr / 4) for opt in trainer.optimizers.values())
    assert load_checkpoint(tmp_path / "run/best.npz")[1]["epoch"] == 1
    resumed = resume_trainer(tmp_path / "run", progress_bar=False, log=lambda *_: None)
    assert resumed.progress.lr == pytest.approx(cfg.lr / 4)
    assert all(opt.lr == pytest.approx(cfg.lr / 4) for opt in resumed.optimizers.values())


def test_a_constant_rate_and_the_elbo_selection_are_the_defaults(tmp_path):
    trainer = make(tmp_path, epochs=2, lr=5e-3)
    trainer.run()
    assert trainer.progress.lr == 5e-3
    best = min(trainer.progress.history, key=lambda row: row["nelbo"])
    assert load_checkpoint(tmp_path / "run/best.npz")[1]["epoch"] == best["epoch"]


@pytest.mark.parametrize(
    "bad, message",
    [
        (dict(lr_decay=1.5), "--lr-decay"),
        (dict(lr_decay=0.0), "--lr-decay"),
        (dict(select="bleu"), "--select"),  # a text VAE scores no BLEU
        (dict(select="accuracy"), "--select"),
    ],
)
def test_bad_lr_decay_or_selection_is_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**{**SMALL, **bad})


@pytest.mark.parametrize("lr", [-1.0, 0.0, float("nan"), "fast", [1e-3]])
def test_a_crafted_checkpoint_learning_rate_is_refused(tmp_path, lr):
    make(tmp_path, epochs=1).run()
    params, meta, optim = load_checkpoint(tmp_path / "run/last.npz")
    meta["lr"] = lr
    save_checkpoint(tmp_path / "run/last.npz", params, meta, optim)
    with pytest.raises(CheckpointError, match="lr|learning rate"):
        resume_trainer(tmp_path / "run", progress_bar=False, log=lambda *_: None)


def test_a_checkpoint_from_before_the_decay_resumes_at_its_configured_rate(tmp_path):
    make(tmp_path, epochs=2, lr=3e-3).run()
    params, meta, optim = load_checkpoint(tmp_path / "run/last.npz")
    del meta["lr"]  # written before --lr-decay existed
    save_checkpoint(tmp_path / "run/last.npz", params, meta, optim)
    resumed = resume_trainer(tmp_path / "run", progress_bar=False, log=lambda *_: None)
    assert resumed.progress.lr == 3e-3
