"""Issue 31, hostile cases around run folders, checkpoints and the CLI: each reproduces what
a user met (lost work, a traceback, accepted nonsense, a misleading message) and checks
that it now gets a ``minivae COMMAND: error: ...`` line and exit 2, or works."""

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
import zipfile

import numpy as np
import pytest

from minivae.cli import main
from minivae.training.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from minivae.training.loading import load_model
from minivae.training.trainer import Trainer, TrainingDiverged
from test_hardening import CLI_SMALL, crafted, quiet, resume_error, saved, steps, trainer

__all__ = ["saved"]  # the module fixture, shared

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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


def test_a_run_folder_in_use_by_another_process_is_refused_and_freed_when_it_dies(
    tmp_path, capsys
):
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
    resumed = Trainer(resume=tmp_path / "run", progress_bar=False, log=quiet)
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
        box.probe([tmp_path])
    message = str(e.value)
    assert f"{closed} (mode 700) is closed to the user" in message
    assert "TMPDIR" in message and "--python" not in message
