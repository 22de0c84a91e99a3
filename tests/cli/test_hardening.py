"""Every command as solid as ``minivae train``: crafted and damaged checkpoints, runs that
diverge or are killed, runs that would overwrite each other, and user errors, each with a
clear message (``minivae CMD: error: ...``, exit 2) and never a traceback or lost work."""

import json
import os
import zipfile

import numpy as np
import pytest

from minivae.backend import gpu_available
from minivae.cli import main
from minivae.loading import load_model, resume_trainer
from minivae.model.run_config import TrainConfig
from minivae.training.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from minivae.training.trainer import Trainer, TrainingDiverged, epoch_batches

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
CLI_SMALL = ["--builtin-size", "300", "--embed-dim", "12", "--hidden-dim", "16"]
CLI_SMALL += ["--latent-dim", "4", "--iw-samples", "2", "--device", "cpu", "--no-progress"]


def quiet(*_):
    pass


def trainer(tmp_path, name="run", **kw):
    cfg = TrainConfig(**{**SMALL, "epochs": 1, "out": str(tmp_path / name), **kw})
    return Trainer(cfg, progress_bar=False, log=quiet)


def steps(t, n):
    """Train ``n`` steps of the current epoch by hand (as a run killed after them would)."""
    for batch in epoch_batches(t.data.train, t.cfg, t.progress.epoch)[:n]:
        t.train_step(batch)
        t.progress.step += 1
        t.progress.batch_in_epoch += 1


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A checkpoint after a few steps, with optimizer state: (path, params, meta, optim)."""
    tmp = tmp_path_factory.mktemp("saved")
    t = trainer(tmp)
    steps(t, 3)
    path = t.save("last.npz")
    return path, *load_checkpoint(path)


def crafted(tmp_path, saved, name="c.npz", params=None, meta=None, optim=None):
    _, p, m, o = saved
    return save_checkpoint(
        tmp_path / name,
        p if params is None else params,
        {k: v for k, v in (m if meta is None else meta).items() if k not in ("format", "version")},
        o if optim is None else optim,
    )


def resume_error(path) -> str:
    with pytest.raises(CheckpointError) as e:
        resume_trainer(path, progress_bar=False, log=quiet)
    assert str(path.name) in str(e.value)
    return str(e.value)


# -- checkpoints and resume -----------------------------------------------------------------


def test_optimizer_state_of_the_wrong_shape_is_refused_before_anything_runs(tmp_path, saved):
    _, params, meta, optim = saved
    short = dict(optim, **{"rest.out_W.m": optim["rest.out_W.m"][:, :-3].copy()})
    assert "optimizer state out_W.m" in resume_error(crafted(tmp_path, saved, optim=short))
    wrong_dtype = dict(optim, **{"encoder.mu_b.v": optim["encoder.mu_b.v"].astype(np.float64)})
    assert "mu_b.v" in resume_error(crafted(tmp_path, saved, "d.npz", optim=wrong_dtype))
    # and the optimizer itself never hands a kernel arrays it could write past
    from minivae.training.optim import Adam

    adam = Adam()
    p = {"w": np.zeros(8, np.float32)}
    adam.state = {"w.m": np.zeros(3, np.float32), "w.v": np.zeros(3, np.float32)}
    with pytest.raises(ValueError, match="w has shape"):
        adam.step(p, {"w": np.ones(8, np.float32)})


def test_missing_optimizer_state_is_refused_after_steps(tmp_path, saved):
    assert "no optimizer state" in resume_error(crafted(tmp_path, saved, optim={}))


def test_a_vocabulary_longer_than_the_embedding_is_refused_at_resume(tmp_path, saved):
    _, params, meta, optim = saved
    longer = json.loads(json.dumps(meta))
    longer["vocab"]["words"].append("extra-word")
    assert "vocabulary" in resume_error(crafted(tmp_path, saved, meta=longer))


@pytest.mark.parametrize(
    "damage",
    [
        lambda m: m.pop("model"),
        lambda m: m["model"].pop("kind"),
        lambda m: m["model"]["config"].update(hidden_dim="sixteen"),
        lambda m: m["model"].update(kind="transformer"),
        lambda m: m.update(step="three"),
        lambda m: m.update(epoch=-1),
        lambda m: m.update(batch_in_epoch=10**12),
        lambda m: m.update(history=[1, 2]),
        lambda m: m["train_config"].update(builtin_size=int(1e10)),
        lambda m: m["train_config"].update(lr=-1),
        lambda m: m["train_config"].update(unknown_knob=1),
        lambda m: m["optimizer"]["step_counts"].update(rest="x"),
        lambda m: m["optimizer"].pop("step_counts"),
        lambda m: m.update(vocab={"words": "not a list"}),
        lambda m: m.update(noise_rng_state={"bit_generator": "nonsense"}),
    ],
)
def test_damaged_metadata_is_a_checkpoint_error_naming_the_file(tmp_path, saved, damage):
    meta = json.loads(json.dumps(saved[2]))
    damage(meta)
    resume_error(crafted(tmp_path, saved, meta=meta))


def test_deeply_nested_json_is_refused_without_a_recursion_error(tmp_path, saved):
    path = crafted(tmp_path, saved)
    deep = "[" * 100_000 + "]" * 100_000
    arrays = dict(np.load(path))
    meta = json.loads(arrays["meta.json"].tobytes())
    text = json.dumps(meta)[:-1] + ', "history2": ' + deep + "}"
    arrays["meta.json"] = np.frombuffer(text.encode(), dtype=np.uint8)
    np.savez(tmp_path / "deep.npz", **arrays)
    with pytest.raises(CheckpointError, match="deep.npz"):
        load_checkpoint(tmp_path / "deep.npz")


def test_foreign_and_crafted_archives(tmp_path):
    np.save(tmp_path / "array.npy", np.ones(3))
    os.rename(tmp_path / "array.npy", tmp_path / "renamed.npz")
    with pytest.raises(CheckpointError, match="renamed.npz"):
        load_checkpoint(tmp_path / "renamed.npz")
    # A header claiming 40 GiB over a few bytes of data: refused before any allocation.
    header = {"descr": "<f4", "fortran_order": False, "shape": (10**10,)}
    with zipfile.ZipFile(tmp_path / "huge.npz", "w") as z:
        with z.open("param/w.npy", "w") as f:
            np.lib.format.write_array_header_1_0(f, header)
            f.write(b"\0" * 16)
    with pytest.raises(CheckpointError, match="claims 40000000000 bytes"):
        load_checkpoint(tmp_path / "huge.npz")
    with zipfile.ZipFile(tmp_path / "other.npz", "w") as z:
        z.writestr("notes.txt", "hello")
    with pytest.raises(CheckpointError, match="unexpected member"):
        load_checkpoint(tmp_path / "other.npz")


def test_a_destructive_update_never_overwrites_the_last_good_checkpoint(tmp_path):
    """Step 6 writes NaN into the weights with a finite loss (so only the saves can catch
    it); --save-every 3 would save right after: the save refuses, last.npz keeps step 3."""
    t = trainer(tmp_path, epochs=2, save_every=3)
    rest = t.optimizers["rest"]
    step = rest.step

    def destructive(params, grads):
        step(params, grads)
        if rest.step_count == 6:
            params["dec_Wh"][:] = np.nan

    rest.step = destructive
    with pytest.raises(TrainingDiverged, match=r"not finite at step 6.*last good checkpoint is"):
        t.run()
    kept = load_model(tmp_path / "run" / "last.npz")
    assert kept.meta["step"] == 3
    assert all(np.isfinite(v).all() for v in kept.params.values())


def test_a_non_finite_validation_loss_is_divergence(tmp_path, monkeypatch):
    t = trainer(tmp_path)
    monkeypatch.setattr(t, "validate", lambda iw_samples=0: {"nelbo": float("nan")})
    with pytest.raises(TrainingDiverged, match="validation loss became nan"):
        t.run()
    assert not (tmp_path / "run" / "best.npz").exists()


def test_eval_of_non_finite_weights_is_refused(tmp_path, saved, capsys):
    params = dict(saved[1], out_b=np.full_like(saved[1]["out_b"], np.nan))
    path = crafted(tmp_path, saved, params=params)
    assert main(["eval", str(path), "--iw-samples", "1"]) == 2
    err = capsys.readouterr().err
    assert f"checkpoint {path}: parameter out_b holds NaN or infinite values" in err


def test_runs_never_overwrite_each_other(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = str(tmp_path / "first")
    assert main(["train", *CLI_SMALL, "--epochs", "1", "--out", first]) == 0
    before = (tmp_path / "first" / "metrics.jsonl").read_text()
    # a fresh run into a used folder is refused, before any work
    assert main(["train", *CLI_SMALL, "--epochs", "1", "--out", first]) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert (tmp_path / "first" / "metrics.jsonl").read_text() == before
    # resuming continues in the run's own folder, not runs/latest
    assert main(["train", "--resume", first, "--epochs", "2", "--no-progress"]) == 0
    assert not (tmp_path / "runs").exists()
    assert load_model(tmp_path / "first" / "last.npz").meta["epoch"] == 2
    # --overwrite replaces the run: its metrics start afresh
    assert main(["train", *CLI_SMALL, "--epochs", "1", "--out", first, "--overwrite"]) == 0
    rows = [json.loads(x) for x in (tmp_path / "first" / "metrics.jsonl").read_text().splitlines()]
    assert max(r["epoch"] for r in rows) == 1


def test_a_resumed_run_prints_the_checkpoints_sizes(tmp_path, capsys):
    out = str(tmp_path / "run")
    assert main(["train", *CLI_SMALL, "--hidden-dim", "8", "--epochs", "1", "--out", out]) == 0
    capsys.readouterr()
    assert main(["train", "--resume", out, "--epochs", "2", "--no-progress"]) == 0
    banner = next(
        line for line in capsys.readouterr().out.splitlines() if line.startswith("model:")
    )
    assert "H=8 " in banner and "z=4" in banner


def test_resume_after_a_kill_leaves_no_duplicate_rows_and_no_stale_files(tmp_path):
    t = trainer(tmp_path, epochs=2, save_every=5)
    with (tmp_path / "run" / "metrics.jsonl").open("a") as rows:
        for _ in range(2):
            t._run_epoch(rows)  # two epochs with saves at steps 5, 10, ...
    killed_at = t.progress.step
    # pretend the run went on after its last save and was killed mid-save
    (tmp_path / "run" / ".last.npz.abcd1234.tmp").write_bytes(b"half a checkpoint")
    last = load_model(tmp_path / "run" / "last.npz").meta["step"]
    assert last == killed_at
    resumed = resume_trainer(
        tmp_path / "run", progress_bar=False, log=quiet, overrides={"epochs": 3}
    )
    assert not list((tmp_path / "run").glob(".*.tmp"))
    resumed.run()
    rows = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    keys = [(r["split"], r["step"]) for r in rows]
    assert len(keys) == len(set(keys)), "a row was written twice"


def test_rows_after_the_checkpoint_are_dropped_on_resume(tmp_path):
    t = trainer(tmp_path, epochs=2)
    steps(t, 4)
    t.save("last.npz")
    with (tmp_path / "run" / "metrics.jsonl").open("a") as f:  # rows of steps 5-9, then killed
        for s in range(5, 10):
            f.write(json.dumps({"split": "train", "step": s}) + "\n")
        f.write('{"split": "tra')  # cut short by the kill
    resume_trainer(tmp_path / "run", progress_bar=False, log=quiet)
    text = (tmp_path / "run" / "metrics.jsonl").read_text()
    assert text == ""  # every row was after step 4


def test_files_get_the_users_normal_permissions(tmp_path):
    mask = os.umask(0)
    os.umask(mask)
    out = tmp_path / "run"
    assert main(["train", *CLI_SMALL, "--epochs", "1", "--out", str(out)]) == 0
    for name in ("best.npz", "last.npz", "report.json", "curves.png", "latent.png"):
        assert (out / name).stat().st_mode & 0o777 == 0o666 & ~mask, name


# -- user errors: a message and exit 2 ------------------------------------------------------


@pytest.mark.skipif(gpu_available(), reason="a GPU is present: --device gpu works here")
def test_device_gpu_without_a_gpu_is_a_clear_error_for_every_command(tmp_path, saved, capsys):
    path = str(saved[0])
    commands = [
        ["train", *CLI_SMALL[:-3], "--out", str(tmp_path / "t")],
        ["cvae", "train", "--out", str(tmp_path / "c")],
        ["eval", path],
        ["sample", path],
        ["reconstruct", path, "the chef cooked"],
        ["interpolate", path, "the chef cooked", "the band played"],
        ["cvae", "generate", path, "--condition", "x"],
        ["cvae", "eval", path],
        ["nmt", "train", "--out", str(tmp_path / "n")],
        ["nmt", "translate", path, "--condition", "x"],
        ["nmt", "eval", path],
        ["bench"],
    ]
    for command in commands:
        assert main([*command, "--device", "gpu"]) == 2, command
        err = capsys.readouterr().err
        assert "error: device 'gpu' was requested" in err and "Traceback" not in err, command


def test_an_unusable_out_folder_is_refused_before_training(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert main(["train", *CLI_SMALL, "--out", str(blocker / "run")]) == 2
    err = capsys.readouterr().err
    assert "cannot write to the run folder" in err and "Traceback" not in err


def test_a_tiny_corpus_still_finishes_with_its_report_and_plots(tmp_path, capsys):
    corpus = tmp_path / "tiny.txt"
    corpus.write_text("\n".join(f"the cat number {i} sat down" for i in range(6)) + "\n")
    out = tmp_path / "run"
    args = ["train", "--corpus", str(corpus), "--epochs", "2", "--embed-dim", "8"]
    args += ["--hidden-dim", "8", "--latent-dim", "2", "--out", str(out), "--no-progress"]
    assert main(args) == 0
    assert "Validation metrics" in capsys.readouterr().out
    for name in ("curves.png", "latent.png", "report.json", "best.npz"):
        assert (out / name).exists(), name


def test_an_exploded_model_reports_infinite_perplexity_not_an_overflow():
    from minivae.evaluation import perplexity

    assert perplexity(1e6, 10) == float("inf")
    assert perplexity(10.0, 10) == pytest.approx(np.e)


def test_byte_string_weights_are_refused(tmp_path, saved, capsys):
    params = dict(saved[1], out_b=np.array([b"abc"] * len(saved[1]["out_b"])))
    path = crafted(tmp_path, saved, params=params)
    assert main(["sample", str(path)]) == 2
    err = capsys.readouterr().err
    assert "out_b has dtype" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "option, value",
    [
        ("--kl-warmup", "-1"),
        ("--free-bits", "-0.5"),
        ("--clip", "-1"),
        ("--beta-max", "-2"),
        ("--kl-cycles", "0"),
        ("--iw-samples", "0"),
        ("--lr", "-1"),
        ("--lr", "nan"),
        ("--lr", "inf"),
        ("--save-every", "-1"),
        ("--builtin-size", "10000000000"),
    ],
)
def test_nonsense_values_are_refused_with_the_option_named(option, value, tmp_path, capsys):
    assert main(["train", option, value, "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert f"minivae train: error: {option} " in err and "Traceback" not in err
    assert not (tmp_path / "r").exists(), "refused before anything was written"


# -- every command, not only train ----------------------------------------------------------


def test_every_command_runs_under_one_thread_policy(monkeypatch):
    from threadpoolctl import threadpool_info

    import minivae.cli.gradcheck as gradcheck

    seen = {}

    def record(args):
        seen["blas"] = {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}
        return 0

    monkeypatch.setattr(gradcheck, "run", record)
    assert main(["gradcheck"]) == 0
    assert seen["blas"] == {1}
    assert main(["gradcheck", "--threads", "2"]) == 0
    assert seen["blas"] == {2} or os.cpu_count() == 1
    assert main(["gradcheck", "--threads", "0"]) == 2


def test_bleu_and_rouge_are_core_dependencies():
    from pathlib import Path

    import tomllib

    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    core = " ".join(pyproject["project"]["dependencies"])
    assert "sacrebleu" in core and "rouge-score" in core


def test_eval_scores_a_test_file_whole_and_reports_what_it_holds(tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    assert main(["train", *CLI_SMALL, "--epochs", "3", "--max-len", "8", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["epoch"] == load_model(out / "best.npz").meta["epoch"]  # the best, as eval
    capsys.readouterr()
    # The defaults give the training report's numbers: same draws, seed and batches ...
    monkeypatch.chdir(tmp_path.parent)  # ... from any folder
    assert main(["eval", str(out), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    for key in ("nll", "nelbo", "kl", "mi", "active_units", "num_sentences"):
        assert again[key] == pytest.approx(report[key]), key
    # A file is scored whole: a sentence over --max-len and one of unknown words included.
    words = "the chef cooked a very tasty soup in the kitchen yesterday and the guests loved it"
    test = tmp_path / "test.txt"
    test.write_text(f"{words}\nqqq zzz www\nthe chef cooked\n")
    assert main(["eval", str(out), "--corpus", str(test), "--json"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert m["num_sentences"] == 3 and m["num_tokens"] == len(words.split()) + 3 + 3 + 3


def test_train_with_valid_and_test_files_reports_test_metrics(tmp_path):
    lines = [f"the cat number {i} sat on the mat" for i in range(40)]
    for name, part in (("train", lines[:30]), ("valid", lines[30:35]), ("test", lines[35:])):
        (tmp_path / f"{name}.txt").write_text("\n".join(part) + "\n")
    out = tmp_path / "run"
    args = [
        "train",
        "--corpus",
        str(tmp_path / "train.txt"),
        "--valid",
        str(tmp_path / "valid.txt"),
    ]
    args += ["--test", str(tmp_path / "test.txt"), "--epochs", "1", "--embed-dim", "8"]
    args += ["--hidden-dim", "8", "--latent-dim", "2", "--out", str(out), "--no-progress"]
    assert main(args) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["num_sentences"] == 5 and report["test"]["num_sentences"] == 5


def test_mutual_information_does_not_depend_on_the_eval_batch_size(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", *CLI_SMALL, "--epochs", "1", "--out", str(out)]) == 0
    capsys.readouterr()
    mi = []
    for batch_size in ("7", "64"):
        assert main(["eval", str(out), "--batch-size", batch_size, "--json"]) == 0
        mi.append(json.loads(capsys.readouterr().out)["mi"])
    assert mi[0] == pytest.approx(mi[1], rel=0.05), mi


@pytest.mark.parametrize("command", ["eval", "sample", "reconstruct", "interpolate"])
def test_every_option_has_help_and_its_default_shown_once(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = capsys.readouterr().out
    options = text.split("options:")[1]
    entries = [e for e in options.split("\n  -") if e.strip()]
    for entry in entries:
        flat = " ".join(entry.split())
        assert flat.count("(default") <= 1, flat
        name, _, rest = flat.partition("  ") if "  " in entry else (flat, "", "")
        assert len(flat.split()) > 2, f"no help for {flat!r}"


def test_assignment_make_force_replaces_only_its_own_folders(tmp_path, capsys):
    precious = tmp_path / "thesis"
    precious.mkdir()
    (precious / "chapter1.tex").write_text("months of work")
    assert main(["assignment", "make", "lstm", "--out", str(precious), "--force"]) == 2
    assert "not made by 'minivae assignment make'" in capsys.readouterr().err
    assert (precious / "chapter1.tex").read_text() == "months of work"
    copy = tmp_path / "hw"
    assert main(["assignment", "make", "lstm", "--out", str(copy)]) == 0
    assert main(["assignment", "make", "lstm", "--out", str(copy), "--force"]) == 0
