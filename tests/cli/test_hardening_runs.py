"""Issue 31, hostile cases around run folders, checkpoints and the CLI: each reproduces what
a user met (lost work, a traceback, accepted nonsense, a misleading message) and checks
that it now gets a ``minivae COMMAND: error: ...`` line and exit 2, or works."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest
from test_hardening import CLI_SMALL, crafted, quiet, resume_error, saved, steps, trainer

from minivae.cli import main
from minivae.loading import load_model, resume_trainer
from minivae.training.checkpoint import CheckpointError, load_checkpoint
from minivae.training.trainer import TrainingDiverged

__all__ = ["saved"]  # the module fixture, shared

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def error_of(capsys, command: str) -> str:
    err = capsys.readouterr().err
    assert f"minivae {command}: error: " in err and "Traceback" not in err, err
    return err


# -- lost or clobbered work -----------------------------------------------------------------


def hold_lock(folder):
    """Another process that takes ``folder``'s lock, as a second training would, and
    keeps it until killed."""
    code = textwrap.dedent(
        f"""
        import sys, time
        from minivae.training.lock import lock_run_folder
        lock = lock_run_folder({str(folder)!r})
        print("locked", flush=True)
        time.sleep(120)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == b"locked"
    return proc


def test_a_run_folder_in_use_by_another_process_is_refused_and_freed_when_it_dies(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", *CLI_SMALL, "--epochs", "1", "--out", str(out)]) == 0
    before = (out / "metrics.jsonl").read_text()
    other = hold_lock(out)
    try:
        # a second training (even with --overwrite) and a resume are refused, nothing touched
        for argv in (
            ["train", *CLI_SMALL, "--epochs", "1", "--out", str(out), "--overwrite"],
            ["train", "--resume", str(out), "--epochs", "2", "--no-progress"],
        ):
            assert main(argv) == 2
            err = error_of(capsys, "train")
            assert f"in use by another minivae process (pid {other.pid})" in err
        assert (out / "metrics.jsonl").read_text() == before
    finally:
        other.send_signal(signal.SIGKILL)  # killed: no clean-up of the lock file
        other.wait()
    # the kernel dropped the dead process's lock: the stale lock file blocks nothing
    assert (out / ".minivae.lock").exists()
    assert main(["train", "--resume", str(out), "--epochs", "2", "--no-progress"]) == 0
    assert load_model(out / "last.npz").meta["epoch"] == 2


def test_one_process_may_resume_a_run_it_trained(tmp_path):
    t = trainer(tmp_path, epochs=2)
    steps(t, 2)
    t.save("last.npz")
    resumed = resume_trainer(tmp_path / "run", progress_bar=False, log=quiet)
    assert resumed.lock is t.lock  # the same process: shared, not refused


def test_resume_into_a_folder_holding_another_run_is_refused(tmp_path, capsys):
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    for out in (a, b):
        assert main(["train", *CLI_SMALL, "--epochs", "1", "--out", out]) == 0
    files = {
        name: (tmp_path / "b" / name).read_bytes()
        for name in ("best.npz", "last.npz", "metrics.jsonl")
    }
    assert main(["train", "--resume", a, "--out", b, "--epochs", "2", "--no-progress"]) == 2
    assert "already holds another run" in error_of(capsys, "train")
    for name, data in files.items():
        assert (tmp_path / "b" / name).read_bytes() == data, name
    # into an empty folder it continues there
    c = str(tmp_path / "c")
    assert main(["train", "--resume", a, "--out", c, "--epochs", "2", "--no-progress"]) == 0
    assert load_model(tmp_path / "c" / "last.npz").meta["epoch"] == 2


# -- wrong messages -------------------------------------------------------------------------


def test_grading_a_missing_copy_blames_the_copy_not_results(tmp_path, capsys):
    missing = tmp_path / "MISSING"
    assert main(["assignment", "grade", str(missing), "--assignment", "lstm"]) == 2
    err = error_of(capsys, "assignment grade")
    assert f"the student copy {missing} does not exist" in err and "--results" not in err


@pytest.mark.skipif(os.geteuid() != 0, reason="only a grader running as root switches users")
def test_a_closed_tmpdir_is_named_not_blamed_on_python(tmp_path):
    import shutil
    import tempfile

    from minivae.assignments import sandbox

    open_parent = Path(tempfile.mkdtemp(dir="/tmp"))  # pytest's own tmp_path is 0700 too
    open_parent.chmod(0o755)
    try:
        check_closed_tmpdir(sandbox, open_parent / "private-tmp", tmp_path)
    finally:
        shutil.rmtree(open_parent)


def check_closed_tmpdir(sandbox, closed, tmp_path):
    closed.mkdir(mode=0o700)  # a TMPDIR only its owner (the grader, root) passes through
    (closed / "box").mkdir()
    box = sandbox.Sandbox(
        closed / "box", sandbox.default_python(), sandbox.child_user(None), 60, 1024
    )
    with pytest.raises(sandbox.SetupError) as e:
        box.probe([str(tmp_path)], tmp_path)
    message = str(e.value)
    assert f"{closed} (mode 700) is closed to the user" in message
    assert "TMPDIR" in message and "--python" not in message


# -- what is saved must load ----------------------------------------------------------------


def test_a_word_too_long_for_a_word_is_refused_naming_file_and_line(tmp_path, capsys):
    from minivae.data import text

    corpus = tmp_path / "corpus.txt"
    long_word = "x" * (text.MAX_WORD_CHARS + 1)  # the 70 MB word, in small
    corpus.write_text("a b c\nd e f\n" + f"g {long_word} h\n" * 2)
    assert main(["train", *CLI_SMALL, "--corpus", str(corpus), "--out", str(tmp_path / "r")]) == 2
    err = error_of(capsys, "train")
    assert f"{corpus}, line 3: a word of {text.MAX_WORD_CHARS + 1} characters" in err
    assert not (tmp_path / "r" / "last.npz").exists()


def test_a_run_whose_checkpoint_could_not_load_is_refused_before_training(
    tmp_path, capsys, monkeypatch
):
    """The vocabulary of a real corpus (or a word just under the limit, many times) can
    outgrow what a checkpoint may hold: with the limit lowered, the built-in corpus does."""
    from minivae.training import checkpoint

    monkeypatch.setattr(checkpoint, "MAX_META_BYTES", 2000)
    out = tmp_path / "r"
    assert main(["train", *CLI_SMALL, "--epochs", "1", "--out", str(out)]) == 2
    assert "could not be loaded back" in error_of(capsys, "train")
    assert not (out / "last.npz").exists() and not (out / "metrics.jsonl").exists()


def test_the_writer_never_writes_metadata_the_reader_refuses(tmp_path, saved, monkeypatch):
    from minivae.training import checkpoint

    _, params, meta, optim = saved
    monkeypatch.setattr(checkpoint, "MAX_META_BYTES", len(json.dumps(meta)) - 1)
    with pytest.raises(CheckpointError, match="could not be loaded back"):
        crafted(tmp_path, saved)
    assert not (tmp_path / "c.npz").exists()


# -- tracebacks where a message belongs -----------------------------------------------------


def test_a_flipped_bit_in_an_array_header_is_a_checkpoint_error(tmp_path, saved, capsys):
    """Every bit of the first array's header flipped in turn: numpy parses the header as a
    Python literal, and some flips made it raise tokenize.TokenError or SyntaxError."""
    data = saved[0].read_bytes()
    with zipfile.ZipFile(saved[0]) as archive:
        info = archive.infolist()[0]
    assert info.compress_type == zipfile.ZIP_STORED
    start = data.index(b"\x93NUMPY", info.header_offset)  # magic, version, length, dict
    assert data[start + 10 : start + 20].startswith(b"{'descr'")
    flipped = tmp_path / "flipped.npz"
    for i in range(start + 10, start + 80):
        for bit in range(8):
            damaged = bytearray(data)
            damaged[i] ^= 1 << bit
            flipped.write_bytes(bytes(damaged))
            with pytest.raises(CheckpointError, match="flipped.npz"):
                load_checkpoint(flipped)
    damaged = bytearray(data)
    damaged[start + 10] ^= 0x01  # '{' -> 'z': tokenize.TokenError inside numpy before
    flipped.write_bytes(bytes(damaged))
    assert main(["eval", str(flipped)]) == 2
    assert "damaged array header" in error_of(capsys, "eval")


@pytest.mark.parametrize(
    "corpus",
    [None, "a b c\nd e f\n", "a b c\nd e f\ng h\ni j k\nl m\n"],
    ids=["builtin-3", "2-lines", "5-lines"],
)
def test_tiny_runs_finish_with_their_report_and_plots(tmp_path, capsys, corpus):
    args = ["train", *CLI_SMALL, "--epochs", "1", "--out", str(tmp_path / "r")]
    if corpus is None:
        args += ["--builtin-size", "3"]
    else:
        (tmp_path / "c.txt").write_text(corpus)
        args += ["--corpus", str(tmp_path / "c.txt")]
    assert main(args) == 0, capsys.readouterr().err
    for name in ("curves.png", "latent.png", "report.json", "best.npz"):
        assert (tmp_path / "r" / name).exists(), name


def test_a_symlink_loop_corpus_is_named(tmp_path, saved, capsys):
    loop = tmp_path / "loop"
    loop.symlink_to(tmp_path / "loop2")
    (tmp_path / "loop2").symlink_to(loop)
    assert main(["train", *CLI_SMALL, "--corpus", str(loop), "--out", str(tmp_path / "r")]) == 2
    assert "loop of symbolic links" in error_of(capsys, "train")
    assert main(["eval", str(saved[0]), "--corpus", str(loop)]) == 2
    assert "symbolic link to nothing (or a loop of links)" in error_of(capsys, "eval")


def test_a_huge_sparse_corpus_is_refused_by_size_before_reading(tmp_path, capsys):
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as f:
        f.truncate(40 << 30)  # 40 GiB of holes: no disk used
    assert main(["train", *CLI_SMALL, "--corpus", str(huge), "--out", str(tmp_path / "r")]) == 2
    err = error_of(capsys, "train")
    assert f"corpus file {huge} is 40.0 GiB, more than the 2.0 GiB" in err


def test_sample_into_a_closed_pipe_stops_quietly(tmp_path, saved):
    """``minivae sample ... | head -1``: the reader goes away after a line."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "minivae", "sample", str(saved[0]), "-n", "3000"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "MINIVAE_THREADS": "1"},
    )
    proc.stdout.readline()
    proc.stdout.close()  # as head does after its line
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 1
    assert "Traceback" not in err and "BrokenPipeError" not in err, err


def test_words_the_terminal_cannot_encode_are_escaped(tmp_path, capsys):
    corpus = tmp_path / "c.txt"
    corpus.write_text("café naïve über\nüber café\nnaïve café über\n" * 4, encoding="utf-8")
    out = tmp_path / "r"
    args = ["train", *CLI_SMALL, "--corpus", str(corpus), "--epochs", "1", "--out", str(out)]
    assert main(args) == 0
    capsys.readouterr()
    env = {**os.environ, "MINIVAE_THREADS": "1", "PYTHONIOENCODING": "ascii"}
    for argv in (
        ["sample", str(out), "--method", "sample", "-n", "20"],
        ["reconstruct", str(out), "café über"],
    ):
        run = subprocess.run(
            [sys.executable, "-m", "minivae", *argv], cwd=ROOT, env=env, capture_output=True
        )
        assert run.returncode == 0, run.stderr.decode()
        assert b"\\xe9" in run.stdout or b"\\xfc" in run.stdout or b"\\xef" in run.stdout


@pytest.mark.parametrize(
    "argv, message",
    [
        (["gradcheck", "--seed", "-1"], "--seed must be at least 0, got -1"),
        (["gradcheck", "--tol", "-1"], "--tol must be a positive relative error, got -1.0"),
        (["gradcheck", "--tol", "inf"], "--tol must be a positive relative error, got inf"),
        (["bench", "kernels", "--quick", "--repeats", "0"], "--repeats must be at least 1"),
    ],
)
def test_nonsense_options_of_gradcheck_and_bench(argv, message, capsys):
    assert main(argv) == 2
    assert message in error_of(capsys, " ".join(a for a in argv[:2] if not a.startswith("-")))


def test_eval_refuses_no_importance_samples(saved, capsys):
    assert main(["eval", str(saved[0]), "--iw-samples", "0"]) == 2
    assert "--iw-samples must be at least 1 (got 0)" in error_of(capsys, "eval")


def test_a_temperature_that_overflows_the_logits_is_refused(saved, capsys):
    argv = ["sample", str(saved[0]), "--method", "sample", "--temperature", "1e-300"]
    assert main(argv) == 2
    assert "temperature must be at least 0.001, got 1e-300" in error_of(capsys, "sample")
    argv[-1] = "0.001"
    assert main(argv) == 0


# -- after a divergence ---------------------------------------------------------------------


def test_the_last_good_checkpoint_evaluates_finite(tmp_path, capsys):
    """Step 6 leaves finite weights that score NaN (a log-variance of 1e4: exp overflows);
    --save-every 3 would save them as last.npz, then name it the last good one."""
    t = trainer(tmp_path, epochs=2, save_every=3)
    rest = t.optimizers["encoder"]
    step = rest.step

    def destructive(params, grads):
        step(params, grads)
        if rest.step_count == 6:
            params["logvar_b"][:] = 1e4

    rest.step = destructive
    with pytest.raises(TrainingDiverged, match=r"at step 6 score nan.*last good checkpoint is"):
        t.run()
    last = tmp_path / "run" / "last.npz"
    assert load_model(last).meta["step"] == 3
    assert main(["eval", str(last)]) == 0
    assert "nan" not in capsys.readouterr().out.lower()


def test_resuming_non_finite_weights_is_refused_naming_the_file(tmp_path, saved):
    _, params, _, optim = saved
    bad = dict(params, logvar_b=np.full_like(params["logvar_b"], np.inf))
    message = resume_error(crafted(tmp_path, saved, params=bad))
    assert "parameter logvar_b holds NaN or infinite values" in message
    key = next(iter(optim))
    bad = dict(optim, **{key: np.full_like(optim[key], np.nan)})
    message = resume_error(crafted(tmp_path, saved, name="o.npz", optim=bad))
    assert f"optimizer state {key} holds NaN or infinite values" in message


def test_a_resumed_step_of_1e30_is_refused(tmp_path, saved):
    meta = dict(saved[2], step=10**30)
    message = resume_error(crafted(tmp_path, saved, meta=meta))
    assert f"step {10**30} does not follow from epoch 0 and batch 3" in message


def test_a_checkpoint_without_its_random_state_is_refused(tmp_path, saved):
    meta = {k: v for k, v in saved[2].items() if k != "noise_rng_state"}
    message = resume_error(crafted(tmp_path, saved, meta=meta))
    assert "has no random state (noise_rng_state)" in message


# -- wrong messages about splits, and a report that does not end ----------------------------


def test_eval_names_where_each_split_came_from(tmp_path, capsys):
    corpus, test = tmp_path / "ptb.valid.txt", tmp_path / "ptb.test.txt"
    corpus.write_text("".join(f"the cat number {i} sat down\n" for i in range(40)))
    test.write_text("the cat sat down\n")
    out = tmp_path / "r"
    args = ["train", *CLI_SMALL, "--corpus", str(corpus), "--valid-fraction", "0.2"]
    assert main([*args, "--test", str(test), "--epochs", "1", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["eval", str(out), "--split", "test"]) == 0
    text = capsys.readouterr().out
    assert f"test file {test}: 1 sentences" in text and "test split of" not in text
    assert main(["eval", str(out)]) == 0
    text = capsys.readouterr().out
    assert f"the validation part (20%, --valid-fraction) held out of training from {corpus}" in text
    # a run without a test file has no test split: said, not a test split of the corpus
    plain = tmp_path / "plain"
    assert main([*args, "--epochs", "1", "--out", str(plain)]) == 0
    capsys.readouterr()
    assert main(["eval", str(plain), "--split", "test"]) == 2
    assert "the run has no test split" in error_of(capsys, "eval")


def test_the_report_leaves_out_very_long_test_sentences_and_says_so(tmp_path, capsys, monkeypatch):
    """The 300,000-word test sentence, in small: the limit lowered to 50 words."""
    from minivae.training import report

    monkeypatch.setattr(report, "REPORT_MAX_WORDS", 50)
    corpus, valid, test = (tmp_path / f"{n}.txt" for n in ("train", "valid", "test"))
    corpus.write_text("".join(f"the cat number {i} sat down\n" for i in range(40)))
    valid.write_text("the cat sat down\n" + "the cat " * 50 + "\n")  # 100 words
    test.write_text("the cat sat down\n" + "the cat " * 30 + "\n")  # 60 words
    out = tmp_path / "r"
    args = ["train", *CLI_SMALL, "--corpus", str(corpus), "--valid", str(valid)]
    assert main([*args, "--test", str(test), "--epochs", "1", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "note: 1 test sentences over 50 words are left out of this report's test" in text
    assert "Test metrics (1 sentences" in text
    assert "... (40 more words)" in text  # the 100-word validation sentence, shown cut
    assert json.loads((out / "report.json").read_text())["test"]["left_out_over_max_words"] == 1
    # minivae eval still scores every test sentence
    assert main(["eval", str(out), "--split", "test"]) == 0
    assert "2 sentences" in capsys.readouterr().out
