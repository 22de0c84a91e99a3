"""Limits for a child and everything it starts, counted together: a cgroup v2 per child run.

Why: rlimits are per process. A process count times an address space bounds the sum (the
fallback, ``sandbox.Limits``), but loosely: four processes may each map a quarter of the
memory, and address space is not memory. A cgroup counts what its processes use together
(memory, tmpfs pages and kernel memory included; tasks, threads included; CPU time), and the
kernel says afterwards what it refused (``memory.events``, ``pids.events``).

Where: below the grader's own cgroup (``/proc/self/cgroup``'s ``0::`` line, under the
cgroup2 mount of ``/proc/self/mountinfo``), so that whatever limits the machine puts on the
grader still hold for its children. Usable when that cgroup offers the ``memory`` and
``pids`` controllers and the grader may write it: as root on a machine with the unified
hierarchy, or as any user in a delegated subtree (``systemd-run --scope -p Delegate=yes``).
On a machine with cgroup v1 (or the hybrid layout, whose cgroup2 mount offers no memory
controller) ``parent`` raises ``Unavailable``, and the grader falls back to rlimits.

cgroup v2's *no internal processes* rule: a cgroup can hand a controller to its children
only while it holds no process itself, and the grader is in its own cgroup. So the grader
moves itself into a leaf beside the children's (``minivae-grader-PID``), as nsjail does;
the root cgroup is exempt. Other processes in the grader's cgroup (a shell, a container's
init) are not ours to move: then cgroups are unavailable, and the reason says so.

Every function takes the cgroup folder as a parameter, so the tests can run it on a fake
tree of plain files (the kernel's part, making the interface files, is ``_new_cgroup``).
"""

from __future__ import annotations

import errno
import itertools
import os
import re
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

MOUNTINFO = "/proc/self/mountinfo"
SELF = "/proc/self/cgroup"
NEEDED = ("memory", "pids")
CPU_PERIOD = 100_000  # microseconds: cpu.max "PERIOD PERIOD" is one CPU's worth


class Unavailable(Exception):
    """No cgroup v2 the grader can use here; the message says why, for the results."""


def own_cgroup(mountinfo: str = MOUNTINFO, self_cgroup: str = SELF) -> Path:
    """The folder of this process's cgroup v2: the cgroup2 mount point joined with the path
    of the ``0::`` line (relative to the mount's own root, for a mount of a subtree)."""
    try:
        lines = Path(self_cgroup).read_text().splitlines()
        mounts = Path(mountinfo).read_text().splitlines()
    except OSError:
        raise Unavailable("no cgroup information (not Linux?)") from None
    path = next((line[3:] for line in lines if line.startswith("0::")), None)
    for line in mounts:
        fields = line.split()
        dash = fields.index("-")
        if fields[dash + 1] != "cgroup2" or path is None:
            continue
        root, point = _unescape(fields[3]), _unescape(fields[4])
        inside = os.path.relpath(path, root)
        if not inside.startswith(".."):
            return Path(point) / inside if inside != "." else Path(point)
    raise Unavailable("no cgroup v2 here (cgroup v1 only)")


def _unescape(field: str) -> str:
    """mountinfo writes a space in a path as \\040 (octal)."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def _read(path: Path) -> str:
    return path.read_text().strip()


def _write(path: Path, text: str) -> None:
    with open(path, "w") as f:  # one write(2): the kernel takes each line as it comes
        f.write(text)


def _new_cgroup(path: Path) -> None:
    """mkdir in a cgroup2 tree: the kernel fills the folder with the interface files."""
    path.mkdir(mode=0o755)


def _remove_cgroup(path: Path) -> None:
    """rmdir in a cgroup2 tree: allowed while the interface files are there, once empty."""
    path.rmdir()


@dataclass(frozen=True)
class Parent:
    """Where the children's cgroups go (``folder``, controllers enabled for its children),
    and the grader's own cgroup (``home``), which the supervisor returns to."""

    folder: Path
    home: Path
    cpu: bool  # whether the cpu controller is enabled too (cpu.max)


def check(own: Path) -> list[str]:
    """The controllers to enable below ``own``; raises Unavailable saying why ``own`` cannot
    hold the children's cgroups. Reads only: no side effect."""
    try:
        offered = _read(own / "cgroup.controllers").split()
    except OSError:
        raise Unavailable(f"{own} is not a cgroup v2 folder") from None
    missing = [c for c in NEEDED if c not in offered]
    if missing:
        raise Unavailable(
            f"the cgroup v2 at {own} offers no {' or '.join(missing)} controller (it offers: "
            f"{' '.join(offered) or 'none'}; on a cgroup v1 or hybrid machine they are v1's)"
        )
    if not all(os.access(p, os.W_OK) for p in (own, own / "cgroup.subtree_control")):
        raise Unavailable(f"the grader may not write its cgroup {own} (not root, not delegated)")
    return [*NEEDED, *(["cpu"] if "cpu" in offered else [])]


_lock = threading.Lock()
_parents: dict = {}


def parent(own: Path | None = None) -> Parent:
    """The cgroup below which this grader makes its children's (``own``: the grader's own
    cgroup folder, default found from /proc). Moves the grader into a leaf where the no
    internal processes rule requires it; once per process and folder. Raises Unavailable."""
    with _lock:
        if own not in _parents:
            try:
                _parents[own] = _delegate(own_cgroup() if own is None else Path(own))
            except Unavailable as e:
                _parents[own] = e
        found = _parents[own]
    if isinstance(found, Unavailable):
        raise found
    return found


def _delegate(own: Path) -> Parent:
    wanted = check(own)
    for stale in own.glob("minivae-*"):  # left by a grader killed earlier
        if not _alive(stale.name):
            try:  # rmdir: succeeds on an empty cgroup only, never kills anything
                _remove_cgroup(stale)
            except OSError:
                pass
    enabled = _read(own / "cgroup.subtree_control").split()
    if all(c in enabled for c in wanted):  # the root cgroup, exempt from the rule
        return Parent(own, own, "cpu" in wanted)
    enable = " ".join(f"+{c}" for c in wanted)
    try:
        _write(own / "cgroup.subtree_control", enable)
        return Parent(own, own, "cpu" in wanted)
    except OSError as e:
        if e.errno != errno.EBUSY:  # EBUSY: the rule; anything else: no cgroups
            raise Unavailable(f"cannot enable {' '.join(wanted)} in {own} ({e.strerror})") from None
    home = own / f"minivae-grader-{os.getpid()}"
    try:
        _new_cgroup(home)
        _write(home / "cgroup.procs", str(os.getpid()))
        _write(own / "cgroup.subtree_control", enable)
    except OSError as e:
        try:
            _write(own / "cgroup.procs", str(os.getpid()))  # back where it was
            _remove_cgroup(home)
        except OSError:
            pass
        if e.errno != errno.EBUSY:
            raise Unavailable(f"cannot move the grader into {home} ({e.strerror})") from None
        raise Unavailable(
            f"the grader's cgroup {own} holds other processes, so cgroup v2 allows no limits "
            "below it: run the grader in a cgroup of its own (systemd-run [--user] --scope "
            "-p Delegate=yes ...)"
        ) from None
    return Parent(own, home, "cpu" in wanted)


def _alive(name: str) -> bool:
    """Whether the grader that made ``name`` (minivae-[grader-]PID[-N]) is running."""
    found = re.match(r"minivae-(?:grader-)?(\d+)", name)
    if found is None:
        return True  # not ours: leave it
    try:
        os.kill(int(found.group(1)), 0)
    except ProcessLookupError:
        return False
    except OSError:
        pass
    return True


_runs = itertools.count(1)  # names unique in this process, whichever grading makes them


class RunCgroup:
    """The cgroup of one child run: made with its limits, joined by the supervisor for the
    spawn (so the child is in it from its first instruction), read and removed after."""

    def __init__(self, parent: Parent, memory_mb: int, processes: int):
        self.path = parent.folder / f"minivae-{os.getpid()}-{next(_runs)}"
        self.processes = processes
        self.memory_mb = memory_mb
        _new_cgroup(self.path)
        try:
            _write(self.path / "memory.max", str(memory_mb * 2**20))
            _write(self.path / "pids.max", str(processes))
            # Optional files (swap accounting, kernel >= 4.19, the cpu controller): where
            # they exist. No swap: memory.max must bound the memory, not push it to disk.
            # oom.group: one process out of memory kills the whole run, not a bystander.
            for name, value in (
                ("memory.swap.max", "0"),
                ("memory.oom.group", "1"),
                *((("cpu.max", f"{CPU_PERIOD} {CPU_PERIOD}"),) if parent.cpu else ()),
            ):
                if (self.path / name).exists():
                    _write(self.path / name, value)
        except OSError:
            self.remove()
            raise

    @property
    def procs(self) -> Path:
        return self.path / "cgroup.procs"

    def events(self) -> str | None:
        """What the kernel refused during the run, in words, or None."""
        said = []
        memory = _counters(self.path / "memory.events")
        if memory.get("oom_kill", 0) or memory.get("oom_group_kill", 0):
            said.append(
                f"the sandbox ran out of memory: its processes together reached the "
                f"{self.memory_mb} MB limit and the kernel killed them"
            )
        refused = _counters(self.path / "pids.events").get("max", 0)
        if refused:
            said.append(
                f"{refused} fork{'s' * (refused > 1)} refused: at most {self.processes} "
                "processes (threads included)"
            )
        return "; ".join(said) or None

    def remove(self, patience: float = 10.0) -> None:
        """Kill whatever is left in the cgroup (cgroup.kill, kernel >= 5.14; else each pid,
        until none is left), then remove it."""
        deadline = time.monotonic() + patience
        while time.monotonic() < deadline:
            if not self.path.exists():
                return
            if "populated 1" not in _read_or_empty(self.path / "cgroup.events"):
                try:
                    _remove_cgroup(self.path)
                    return
                except OSError as e:
                    if e.errno != errno.EBUSY:
                        raise
            if (self.path / "cgroup.kill").exists():
                _write(self.path / "cgroup.kill", "1")
            else:
                for pid in _read_or_empty(self.procs).split():
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except (OSError, ValueError):
                        pass
            time.sleep(0.01)
        raise OSError(errno.EBUSY, f"the cgroup {self.path} could not be emptied")


def _read_or_empty(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _counters(path: Path) -> dict[str, int]:
    """``memory.events`` and the like: ``name value`` lines."""
    pairs = (line.split() for line in _read_or_empty(path).splitlines())
    return {p[0]: int(p[1]) for p in pairs if len(p) == 2 and p[1].isdigit()}
