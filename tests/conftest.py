"""Test-session setup, run before any test module imports NumPy."""

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

# The suite's arrays are small: BLAS threads only add contention on a shared 2-core machine
# (seen: a test 10x slower with two threads spinning against another process).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def child_python():
    """The interpreter for the assignment grader's child processes. As root they run as
    nobody, who may not be able to run this interpreter (pyenv under /root): then the system
    Python of the same version, which loads the same NumPy. None (the grader's default) when
    not root."""
    if os.geteuid() != 0:
        return None
    from minivae.assignments.sandbox import default_python

    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    for python in (
        default_python(),
        f"/usr/bin/python{version}",
        f"/usr/local/bin/python{version}",
    ):
        try:
            subprocess.run([python, "-I", "-S", "-c", ""], user="nobody", check=True, timeout=60)
        except (OSError, subprocess.SubprocessError):
            continue
        return python
    pytest.skip(f"no Python {version} that user nobody can run, for the grader's children")


@pytest.fixture(scope="session")
def readable_base():
    """A folder for student copies that the grader's children (nobody, as root) can read:
    pytest's own temporary folders are private to their user. Other users may pass through it
    to a folder whose name they know, not list it."""
    base = Path(tempfile.mkdtemp(prefix="minivae-test-"))
    base.chmod(0o711)
    yield base
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def new_readable_folder(readable_base):
    """-> a function making a fresh folder under ``readable_base``, named so none can guess."""

    def make() -> Path:
        path = readable_base / secrets.token_hex(8)
        path.mkdir(mode=0o755)
        return path

    return make


@pytest.fixture
def readable_tmp(new_readable_folder):
    return new_readable_folder()


@pytest.fixture(scope="module")
def solutions(new_readable_folder):
    """One solution copy per assignment (made with --solution), to plant mistakes in."""
    from minivae.assignments.make import make_assignment
    from minivae.assignments.spec import ASSIGNMENTS

    base = new_readable_folder()
    return {name: make_assignment(name, base / name, solution=True) for name in ASSIGNMENTS}


@pytest.fixture(scope="session")
def sandbox_works(child_python):
    """Whether the grader's sandbox (bubblewrap in user namespaces) can run here. CI installs
    bubblewrap (.ci/run), so there every grading test runs confined; elsewhere the grading
    tests run --unconfined and the tests of the sandbox itself are skipped."""
    from minivae.assignments import confine

    try:
        command = [confine.bwrap(), "--unshare-all", "--unshare-user", "--disable-userns"]
    except confine.ConfinementError:
        return False
    command += ["--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "true"]
    user = "nobody" if os.geteuid() == 0 else None
    try:
        return subprocess.run(command, user=user, capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@pytest.fixture
def sandbox(sandbox_works):
    """For the tests of the sandbox itself: skipped where it cannot run."""
    if not sandbox_works:
        pytest.skip("the grader's sandbox needs bubblewrap and user namespaces")


@pytest.fixture
def grader(child_python, sandbox_works):
    """``grade`` with the children's interpreter of this machine (see ``child_python``),
    confined where the sandbox works."""
    from functools import partial

    from minivae.assignments.grade import grade

    return partial(grade, python=child_python, unconfined=not sandbox_works)


@pytest.fixture
def grade_options(child_python, sandbox_works):
    """The command line's options for this machine: as ``grader``."""
    return ["--python", child_python] * bool(child_python) + ["--unconfined"] * (not sandbox_works)
