"""Where and how the grader runs a child process: the grader's side of the isolation.

One ``Sandbox`` per grading run, in a fresh temporary folder holding

* ``program/``: ``child.py`` and a copy of the ``items`` package as ``_minivae_items``;
* per item, ``N.private/`` (the request and the child's log: the grader's alone) and
  ``N.work/out.npz``: an empty file, the child's output, owned by the child's user;

and a site folder shared by the runs of this process: NumPy, hard-linked (or copied) from
the grader's installation, and nothing else. The child's sys.path is this program folder,
the student's copy, the interpreter's standard library and that site folder: no folder
from which the grader's minivae (the solution) could be imported.

Each child runs under ``supervise.py`` with a time limit, memory, CPU and process limits
(counted for all its processes together in a cgroup v2 of its own, ``cgroups.py``, where the
machine allows it; otherwise per process, with a process count) and, when the grader runs
as root, as an unprivileged user (``nobody`` by default), in a
bubblewrap sandbox (``confine.py``) that shows it only the Python runtime, NumPy, the copy
and an empty working folder (or, only where the instructor asks for it, unconfined). The
supervisor kills whatever the child left running before the grader reads ``out.npz``, as
plain arrays only: no symlink, no pickle, bounded in size, read with a timeout.
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
import threading
import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from minivae.assignments import cgroups, confine

HERE = Path(__file__).resolve().parent
SUPERVISOR = (HERE / "supervise.py").read_text()
CHILD_PACKAGES = ("numpy",)  # all a student's copy of minivae imports
DEFAULT_USER = "nobody"  # the child's user when the grader runs as root
MAX_OUTPUT = 32 * 2**20  # bytes of the arrays a child may return
READ_TIMEOUT = 30.0  # seconds to read a file the grader did not write
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


def read_untrusted(path: Path, max_bytes: int, timeout: float = READ_TIMEOUT) -> bytes:
    """The bytes of a file the grader did not write itself (the child's output, a file of the
    student's copy): opened without following a symlink and without waiting on a FIFO, a
    regular file of at most ``max_bytes``, read within ``timeout`` seconds (a file on a hung
    network or FUSE mount must not stall the grading). Raises ExchangeError, whose message
    says what was wrong with the file and never what is in it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY)
    except FileNotFoundError:
        raise ExchangeError("no output was written") from None
    except OSError as e:
        raise ExchangeError(f"the output could not be opened ({e.strerror})") from None
    result: list = []

    def read() -> None:
        try:
            with os.fdopen(fd, "rb") as f:
                info = os.fstat(f.fileno())
                if not stat.S_ISREG(info.st_mode):
                    result.append(ExchangeError("the output is not a regular file"))
                elif info.st_size > max_bytes:
                    result.append(ExchangeError(f"the output is larger than {max_bytes} bytes"))
                else:
                    data = f.read(max_bytes + 1)
                    result.append(
                        data
                        if len(data) <= max_bytes
                        else ExchangeError(f"the output is larger than {max_bytes} bytes")
                    )
        except OSError as e:
            result.append(ExchangeError(f"the output could not be read ({e.strerror})"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    if not result:
        raise ExchangeError(f"the output could not be read within {timeout:g} s")
    if isinstance(result[0], ExchangeError):
        raise result[0]
    return result[0]


def read_npz(path: Path, max_bytes: int = MAX_OUTPUT) -> dict:
    """Arrays from an .npz written by a child (``read_untrusted``), bounded in size packed
    and unpacked, plain arrays (no pickles)."""
    data = read_untrusted(path, max_bytes)
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
    """What came back from one child: its arrays, or why there are none; and what its cgroup
    refused it (out of memory, forks), in words, where it ran in one."""

    arrays: dict | None
    failure: str | None = None
    events: str | None = None


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


@dataclass(frozen=True)
class Limits:
    """What a grading's children may use, and how that is enforced: for the results."""

    confined: bool
    processes: int | None  # the child and all it starts, together (None: not counted)
    memory_mb: int  # address space of each process (with a cgroup: also all of them together)
    cpu_seconds: int  # CPU time of each process
    timeout: float  # wall time of the child and all it starts
    cgroup: cgroups.Parent | None = None  # where memory and processes were counted together
    no_cgroup: str = ""  # why not, when not

    def describe(self) -> str:
        if self.cgroup is not None:
            inside = "bubblewrap's monitor, the sandbox's init and threads" if self.confined \
                else "threads"  # fmt: skip
            cpu = (
                ", and one CPU's worth of CPU time (cpu.max): at most "
                f"{self.timeout:g} CPU-seconds in all"
            ) * self.cgroup.cpu
            return (
                f"cgroup v2 (a cgroup per child, in {self.cgroup.folder}): at most "
                f"{self.memory_mb} MB of memory, no swap, and {self.processes} processes "
                f"({inside} included) for the child and all it starts together{cpu}; each "
                f"process also at most {self.memory_mb} MB of address space and "
                f"{self.cpu_seconds} s of CPU time; {self.timeout:g} s of wall time for all."
            )
        if self.confined:
            together = self.processes * self.memory_mb
            return (
                f"at most {self.processes} processes in the sandbox (threads and its init "
                f"included) of at most "
                f"{self.memory_mb} MB of address space each, {together} MB together; "
                f"{self.cpu_seconds} s of CPU time each; {self.timeout:g} s of wall time "
                f"for all. Enforced with rlimits and a process count in the sandbox's user "
                f"namespace, not cgroup v2: {self.no_cgroup}."
            )
        per_user = f"at most {self.processes} processes of the child's user; " * bool(
            self.processes
        )
        return (
            f"{per_user}{self.memory_mb} MB of address space per process, not counted "
            f"together; {self.cpu_seconds} s of CPU time each; {self.timeout:g} s of wall time"
            f". Not cgroup v2: {self.no_cgroup}."
        )


SANDBOX_PROCESSES = 4  # the child and its descendants, threads included
MONITOR = 1  # bubblewrap's own process outside the sandbox, counted in the child's cgroup
UNCONFINED_PROCESSES = 256  # of the child's user, when an unconfined grading runs as root


class Sandbox:
    """The children of one grading run: in ``root`` (a fresh folder, removed by the caller),
    run by ``python`` as ``user`` ((uid, gid) or None: the grader's own), confined in their
    own namespaces (``confine``) unless ``confined`` is False, within the limits: ``timeout``
    seconds, ``memory_mb`` for the child and all it starts together (in a cgroup, or
    confined; unconfined without a cgroup, for each process). ``cgroup_root``: the grader's
    own cgroup v2 folder (default: found from /proc; the tests give a fake one)."""

    def __init__(
        self,
        root: Path,
        python: str,
        user,
        timeout: float,
        memory_mb: int,
        confined=True,
        cgroup_root: Path | None = None,
    ):
        self.root, self.python, self.user = Path(root), python, user
        self.timeout, self.confined = timeout, confined
        self.site = site_folder()
        if confined:
            try:
                confine.bwrap()
                confine.runtime_mounts(python, str(self.site))
            except confine.ConfinementError as e:
                raise SetupError(f"{e}{UNCONFINED_HINT}") from None
        cpu = int(timeout) + 1
        try:
            parent, no_cgroup = cgroups.parent(cgroup_root), ""
        except cgroups.Unavailable as e:
            parent, no_cgroup = None, str(e)
        if parent is not None:  # counted together by the kernel: each process may take all
            processes = SANDBOX_PROCESSES + MONITOR * confined
            self.limits = Limits(confined, processes, memory_mb, cpu, timeout, parent)
        elif confined:  # 4 processes of a quarter each: together at most memory_mb
            each = memory_mb // SANDBOX_PROCESSES
            self.limits = Limits(True, SANDBOX_PROCESSES, each, cpu, timeout, None, no_cgroup)
        else:
            processes = UNCONFINED_PROCESSES if user else None
            self.limits = Limits(False, processes, memory_mb, cpu, timeout, None, no_cgroup)
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

    def inside(self, path: Path, student_dir: Path) -> str:
        """Where the child sees ``path`` of the student's copy."""
        if not self.confined:
            return str(path)
        return os.path.join(confine.COPY, os.path.relpath(path, student_dir))

    def run(self, request: dict, student_dir: Path) -> ChildRun:
        """Run child.py on ``request`` (arrays) with the student's copy; read its arrays."""
        return self._run(request, student_dir)

    def probe(self, paths: list[str], student_dir: Path) -> dict:
        """Run child.py --probe (no student code) with the copy in view; -> its arrays
        (numpy, readable: whether it can read each of ``paths``, as the child sees them)."""
        run = self._run({"paths": np.array(paths)}, student_dir, probe=True)
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
            where = " in a bubblewrap sandbox" if self.confined else ""
            raise SetupError(
                f"the students' code cannot run here: {self.python} -I -S{user}{where} failed "
                f"({run.failure}). Give --python an interpreter"
                f"{' that user can run' if self.user else ''}, of the Python version this "
                f"NumPy ({np.__version__}) was built for"
                + (UNCONFINED_HINT if self.confined else "")
            )
        return run.arrays

    def _run(self, request: dict, student_dir: Path, probe: bool = False) -> ChildRun:
        self._runs += 1
        private = self.root / f"{self._runs}.private"
        work = self.root / f"{self._runs}.work"
        private.mkdir(mode=0o700)
        work.mkdir(mode=0o700)
        out = work / "out.npz"
        out.touch(mode=0o600)
        if self.user:
            os.chown(work, *self.user)
            os.chown(out, *self.user)
        write_npz(private / "request.npz", request)
        mode = ["--probe"] if probe else []
        if self.confined:
            ids = self.user or (os.getuid(), os.getgid())
            copy = confine.COPY
            argv = confine.command(self.python, self.site, self.program, student_dir, out, ids)
            argv += [self.python, "-I", "-S", "-B", f"{confine.PROGRAM}/child.py"]
            if self.limits.cgroup is None:  # else pids.max counts them
                argv += ["--processes", str(self.limits.processes)]
            argv += mode
            argv += [] if probe else [copy]
            argv += [confine.SITE]
            home, cwd = confine.WORK, "/"
        else:
            argv = [self.python, "-I", "-S", "-B", str(self.program / "child.py"), *mode]
            argv += [] if probe else [str(student_dir)]
            argv += [str(self.site)]
            home, cwd = str(work), str(work)
        env = {**BASE_ENV, "HOME": home, "TMPDIR": "/tmp" if self.confined else home}
        env.update(dict.fromkeys(THREADS, "1"))
        job = {
            "argv": argv,
            "cwd": cwd,
            "env": env,
            "stdin": str(private / "request.npz"),
            "log": str(private / "log"),
            "timeout": self.timeout,
            "memory_mb": self.limits.memory_mb,
            "cpu_seconds": self.limits.cpu_seconds,
            # an rlimit on the processes of the child's user, where nothing else counts them
            "processes": None if self.confined or self.limits.cgroup else self.limits.processes,
            "user": list(self.user) if self.user else None,
            "grader": os.getpid(),
            "cgroup": None,
        }
        cgroup = None
        try:
            if self.limits.cgroup is not None:
                try:
                    cgroup = cgroups.RunCgroup(
                        self.limits.cgroup, self.limits.memory_mb, self.limits.processes
                    )
                except OSError as e:
                    return ChildRun(None, f"could not start (its cgroup: {e.strerror})")
                job["cgroup"] = {
                    "run": str(cgroup.procs),
                    "home": str(self.limits.cgroup.home / "cgroup.procs"),
                }
            run = self._supervise(job, out, private / "log")
            if cgroup is not None:  # read before the cgroup goes
                run = ChildRun(run.arrays, run.failure, cgroup.events())
            return run
        finally:
            if cgroup is not None:
                cgroup.remove()
            shutil.rmtree(work, ignore_errors=True)
            shutil.rmtree(private, ignore_errors=True)

    def _supervise(self, job: dict, out: Path, log: Path) -> ChildRun:
        try:
            done = subprocess.run(
                [self.python, "-I", "-S", "-B", "-c", SUPERVISOR],
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
        try:
            return ChildRun(read_npz(out))
        except ExchangeError as e:
            code = report["returncode"]
            empty = _is_empty(out)
            if not empty:
                why = f"left an output the grader cannot read: {e}"
            elif code is not None and code < 0:
                why = f"was killed (signal {-code})"
            else:
                why = f"exited with code {code} before it finished"
            tail = _last_line(log)
            return ChildRun(None, why + (f": {tail}" if tail else ""))


UNCONFINED_HINT = (
    ". The grader confines the students' code with bubblewrap in user namespaces; where that "
    "is impossible, --unconfined grades without it (see docs/assignments.md: the results then "
    "say so)"
)


def _is_empty(out: Path) -> bool:
    """Whether ``out`` is still the empty regular file the grader made (not a link, a FIFO,
    something written)."""
    try:
        info = os.lstat(out)
    except OSError:
        return True
    return stat.S_ISREG(info.st_mode) and info.st_size == 0


def _last_line(log: Path) -> str:
    try:
        with open(log, "rb") as f:
            f.seek(max(0, f.seek(0, 2) - 4096))
            lines = f.read().decode("utf-8", "replace").strip().splitlines()
    except OSError:
        return ""
    return printable(lines[-1], 200) if lines else ""
