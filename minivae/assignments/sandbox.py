"""Where and how the grader runs a child process: the grader's side of the isolation.

One ``Sandbox`` per grading run, in a fresh temporary folder holding

* ``program/``: ``child.py`` and a copy of the ``items`` package as ``_minivae_items``;
* per item, ``N.private/`` (the request and the child's log: the grader's alone) and
  ``N.work/``: an empty folder, the child's working folder, owned by the child's user;

and a site folder shared by the runs of this process: NumPy, hard-linked (or copied) from
the grader's installation, and nothing else. The child's sys.path is this program folder,
the student's copy, the interpreter's standard library and that site folder: no folder
from which the grader's minivae (the solution) could be imported.

Each child runs under ``supervise.py`` with a time limit, a memory limit and, when the
grader runs as root, as an unprivileged user (``nobody`` by default); the supervisor kills
whatever the child left running before the grader reads the child's ``out.npz``. The
grader reads it as plain arrays only: no symlink, no pickle, bounded in size.
"""

from __future__ import annotations

import atexit
import importlib.util
import io
import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SUPERVISOR = (HERE / "supervise.py").read_text()
CHILD_PACKAGES = ("numpy",)  # all a student's copy of minivae imports
DEFAULT_USER = "nobody"  # the child's user when the grader runs as root
MAX_OUTPUT = 32 * 2**20  # bytes of the arrays a child may return
BASE_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
THREADS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


class SetupError(ValueError):
    """The grader cannot run children here: the instructor's problem, not the student's."""


class ExchangeError(Exception):
    """A file from the child that is not what it must be."""


def default_python() -> str:
    """The interpreter for the children: this one's base, outside any virtual environment
    (the children get their packages from the site folder, not from a venv)."""
    return os.path.realpath(getattr(sys, "_base_executable", "") or sys.executable)


def child_user(name: str | None) -> tuple[int, int] | None:
    """(uid, gid) the children run as: ``name`` (default nobody) when root, else None."""
    if os.geteuid() != 0:
        if name is not None:
            raise SetupError(f"--user {name}: only a grader running as root can switch users")
        return None
    try:
        entry = pwd.getpwnam(name or DEFAULT_USER)
    except KeyError:
        raise SetupError(f"no user {name or DEFAULT_USER!r} to run the students' code as") from None
    if entry.pw_uid == 0:
        raise SetupError(f"user {entry.pw_name!r} is root: the students' code must not run as root")
    return entry.pw_uid, entry.pw_gid


@cache
def site_folder(packages: tuple[str, ...] = CHILD_PACKAGES) -> Path:
    """A folder holding only ``packages`` (and their ``.libs`` of bundled libraries), hard-linked
    where possible: the children import NumPy from here, and find nothing else beside it."""
    site = Path(tempfile.mkdtemp(prefix="minivae-site-"))
    atexit.register(shutil.rmtree, site, ignore_errors=True)
    site.chmod(0o755)
    for name in packages:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise SetupError(f"{name} is not installed: the students' code needs it")
        source = Path(spec.origin).resolve().parent
        for folder in (source, source.with_name(f"{name}.libs")):
            if folder.is_dir():
                shutil.copytree(
                    folder,
                    site / folder.name,
                    copy_function=_link_or_copy,
                    ignore=shutil.ignore_patterns("__pycache__", "tests"),
                )
    for folder, _, _ in os.walk(site):
        os.chmod(folder, 0o755)
    return site


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system, or not allowed
        shutil.copyfile(source, target)
        os.chmod(target, 0o755 if os.access(source, os.X_OK) else 0o644)


def write_npz(path: Path, arrays: dict) -> None:
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def read_npz(path: Path, max_bytes: int = MAX_OUTPUT) -> dict:
    """Arrays from an .npz written by a child: a regular file (never through a symlink, never a
    FIFO), bounded in size packed and unpacked, plain arrays (no pickles)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        raise ExchangeError("no output was written") from None
    except OSError as e:
        raise ExchangeError(f"the output could not be opened ({e.strerror})") from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ExchangeError("the output is not a regular file")
        if info.st_size > max_bytes:
            raise ExchangeError(f"the output is larger than {max_bytes // 2**20} MB")
        data = f.read(max_bytes + 1)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            members = z.infolist()
        if sum(m.file_size for m in members) > max_bytes:
            raise ExchangeError(f"the output unpacks to more than {max_bytes // 2**20} MB")
        if not all(m.filename.endswith(".npy") for m in members):
            raise ExchangeError("the output holds something other than arrays")
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except ExchangeError:
        raise
    except Exception as e:  # noqa: BLE001 - any malformed file is the child's failure
        raise ExchangeError(f"the output is not a valid .npz ({type(e).__name__})") from None


@dataclass(frozen=True)
class ChildRun:
    """What came back from one child: its arrays, or why there are none."""

    arrays: dict | None
    failure: str | None = None


def printable(text: str, limit: int = 300) -> str:
    """Text from a child, safe to show: printable characters only, bounded."""
    text = "".join(c if c.isprintable() else " " for c in text).strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."


def closed_folder(paths, uid: int, gid: int) -> Path | None:
    """The first folder on the way to any of ``paths`` that user ``uid`` (group ``gid``)
    may not pass through (no x permission for them), or None."""
    for path in paths:
        for folder in reversed(Path(path).parents):
            st = folder.stat()
            bit = 0o100 if st.st_uid == uid else 0o010 if st.st_gid == gid else 0o001
            if not st.st_mode & bit:
                return folder
    return None


class Sandbox:
    """The children of one grading run: in ``root`` (a fresh folder, removed by the caller),
    run by ``python`` as ``user`` ((uid, gid) or None: the grader's own) with the limits."""

    def __init__(self, root: Path, python: str, user, timeout: float, memory_mb: int):
        self.root, self.python, self.user = Path(root), python, user
        self.timeout, self.memory_mb = timeout, memory_mb
        self.site = site_folder()
        self.root.chmod(0o711)  # the child's user may pass through, not list
        self.program = self.root / "program"
        self.program.mkdir(mode=0o755)
        (self.program / "child.py").write_text((HERE / "child.py").read_text())
        items = self.program / "_minivae_items"
        items.mkdir(mode=0o755)
        for source in (HERE / "items").glob("*.py"):
            (items / source.name).write_text(source.read_text())
        for path in (self.program / "child.py", *items.iterdir()):
            path.chmod(0o644)
        self._runs = 0

    def run(self, request: dict, student_dir: Path) -> ChildRun:
        """Run child.py on ``request`` (arrays) with the student's copy; read its arrays."""
        return self._run([str(student_dir)], request)

    def probe(self, paths: list[Path]) -> dict:
        """Run child.py --probe: no student code; -> its arrays (numpy, readable)."""
        run = self._run(["--probe"], {"paths": np.array([str(p) for p in paths])})
        if run.arrays is None or "readable" not in run.arrays:
            user = f" as user {pwd.getpwuid(self.user[0]).pw_name}" if self.user else ""
            closed = self.user and closed_folder([self.root, self.site], *self.user)
            if closed:  # not the interpreter's fault: the child cannot reach its files
                raise SetupError(
                    f"the students' code cannot run here: {closed} (mode "
                    f"{closed.stat().st_mode & 0o777:o}) is closed to the user the code runs"
                    f"{user}, and the grader's temporary files are inside it; set TMPDIR to a "
                    "folder every user may pass through (such as /tmp)"
                )
            raise SetupError(
                f"the students' code cannot run here: {self.python} -I -S{user} failed "
                f"({run.failure}). Give --python an interpreter"
                f"{' that user can run' if self.user else ''}, of the Python version this "
                f"NumPy ({np.__version__}) was built for"
            )
        return run.arrays

    def _run(self, args: list[str], request: dict) -> ChildRun:
        self._runs += 1
        private = self.root / f"{self._runs}.private"
        work = self.root / f"{self._runs}.work"
        private.mkdir(mode=0o700)
        work.mkdir(mode=0o700)
        if self.user:
            os.chown(work, *self.user)
        write_npz(private / "request.npz", request)
        env = {**BASE_ENV, "HOME": str(work), "TMPDIR": str(work), **dict.fromkeys(THREADS, "1")}
        job = {
            "argv": [
                self.python,
                "-I",
                "-S",
                str(self.program / "child.py"),
                *args,
                str(self.site),
            ],
            "cwd": str(work),
            "env": env,
            "stdin": str(private / "request.npz"),
            "log": str(private / "log"),
            "timeout": self.timeout,
            "memory_mb": self.memory_mb,
            "user": list(self.user) if self.user else None,
        }
        try:
            return self._supervise(job, work, private / "log")
        finally:
            shutil.rmtree(work, ignore_errors=True)
            shutil.rmtree(private, ignore_errors=True)

    def _supervise(self, job: dict, work: Path, log: Path) -> ChildRun:
        try:
            done = subprocess.run(
                [self.python, "-I", "-S", "-c", SUPERVISOR],
                input=json.dumps(job),
                capture_output=True,
                text=True,
                timeout=self.timeout + 60,
                cwd="/",
                env=BASE_ENV,
            )
            report = json.loads(done.stdout)
        except (subprocess.TimeoutExpired, ValueError, OSError) as e:
            return ChildRun(None, f"the grading process failed ({type(e).__name__})")
        if report["error"]:
            return ChildRun(None, f"could not start ({report['error']})")
        if report["timed_out"]:
            return ChildRun(None, f"timed out after {self.timeout:g} s (an endless loop?)")
        out = work / "out.npz"
        try:
            return ChildRun(read_npz(out))
        except ExchangeError as e:
            code = report["returncode"]
            if os.path.lexists(out):
                why = f"left an output the grader cannot read: {e}"
            elif code is not None and code < 0:
                why = f"was killed (signal {-code})"
            else:
                why = f"exited with code {code} before it finished"
            tail = _last_line(log)
            return ChildRun(None, why + (f": {tail}" if tail else ""))


def _last_line(log: Path) -> str:
    try:
        with open(log, "rb") as f:
            f.seek(max(0, f.seek(0, 2) - 4096))
            lines = f.read().decode("utf-8", "replace").strip().splitlines()
    except OSError:
        return ""
    return printable(lines[-1], 200) if lines else ""
