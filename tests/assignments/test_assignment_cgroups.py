"""The grader's cgroup v2 limits (minivae/assignments/cgroups.py).

The machines this is developed and tested on (and CI) have cgroup v1, or the hybrid layout
whose cgroup2 mount offers no memory controller: there the grader must say cgroup v2 is not
available and fall back to rlimits (tested here, on the real machine and on copies of its
/proc files). The cgroup v2 code runs on a fake tree of plain files, with a fake kernel
(``FakeKernel``) for what the kernel does on mkdir, rmdir and writes; the grading of a fork
bomb and a memory hog in a real cgroup runs only where real memory and pids controllers are
available to the grader.
"""

from __future__ import annotations

import errno
import inspect
import os
import shutil
from pathlib import Path

import hostile_code
import pytest
from test_assignment_hostile import inject

from minivae.assignments import cgroups, grade
from minivae.assignments.make import blank_source, make_assignment, module_file
from minivae.assignments.sandbox import Sandbox, child_user, default_python
from minivae.assignments.spec import get_assignment

# /proc/self/mountinfo and /proc/self/cgroup of this machine's kind: cgroup v1 for memory and
# pids, a cgroup2 mount beside them (systemd's "hybrid" layout) with hugetlb alone.
HYBRID_MOUNTS = """\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""
HYBRID_CGROUP = "8:pids:/\n4:memory:/process_api/e30f\n0::/\n"


def _proc_files(tmp_path: Path, mounts: str, cgroup: str) -> tuple[str, str]:
    (tmp_path / "mountinfo").write_text(mounts)
    (tmp_path / "cgroup").write_text(cgroup)
    return str(tmp_path / "mountinfo"), str(tmp_path / "cgroup")


def test_the_grader_finds_its_own_cgroup_v2_folder(tmp_path):
    mounts = "30 1 0:27 /a /sys/fs/cgroup\\040v2 rw - cgroup2 cgroup2 rw,nsdelegate\n"
    files = _proc_files(tmp_path, mounts, "0::/a/user.slice/grader.scope\n")
    assert cgroups.own_cgroup(*files) == Path("/sys/fs/cgroup v2/user.slice/grader.scope")
    files = _proc_files(tmp_path, HYBRID_MOUNTS, HYBRID_CGROUP)
    assert cgroups.own_cgroup(*files) == Path("/sys/fs/cgroup/unified")
    v1_only = "\n".join(line for line in HYBRID_MOUNTS.splitlines() if "cgroup2" not in line)
    with pytest.raises(cgroups.Unavailable, match="no cgroup v2 here"):
        cgroups.own_cgroup(*_proc_files(tmp_path, v1_only, HYBRID_CGROUP))


def test_a_cgroup_v2_without_memory_and_pids_controllers_is_not_used(tmp_path):
    """The hybrid layout: the cgroup2 folder exists, offers hugetlb alone."""
    own = tmp_path / "unified"
    own.mkdir()
    (own / "cgroup.controllers").write_text("hugetlb\n")
    (own / "cgroup.subtree_control").write_text("")
    with pytest.raises(cgroups.Unavailable, match="no memory or pids controller.*hugetlb"):
        cgroups.parent(own)
    assert (own / "cgroup.subtree_control").read_text() == "", "it wrote to the cgroup"


def test_on_this_machine_cgroup_v2_is_used_only_where_it_offers_memory_and_pids():
    """Detection on the real /proc and /sys (no side effect: ``check`` writes nothing). On
    cgroup v1 or hybrid machines, this one and CI included, it says not available."""
    try:
        own = cgroups.own_cgroup()
        offered = (own / "cgroup.controllers").read_text().split()
    except (cgroups.Unavailable, OSError):
        with pytest.raises(cgroups.Unavailable):
            cgroups.parent()
        return
    if not {"memory", "pids"} <= set(offered):
        with pytest.raises(cgroups.Unavailable, match="no .*controller"):
            cgroups.check(own)
        with pytest.raises(cgroups.Unavailable):
            cgroups.parent()
    else:  # a cgroup v2 machine: usable where the grader may write its cgroup
        writable = os.access(own / "cgroup.subtree_control", os.W_OK)
        if writable:
            assert "memory" in cgroups.check(own)
        else:
            with pytest.raises(cgroups.Unavailable, match="may not write"):
                cgroups.check(own)


class FakeKernel:
    """The kernel's side of a cgroup2 tree of plain files under ``own`` (the grader's cgroup,
    holding the grader): mkdir makes the interface files, a write of ``+controller`` to
    cgroup.subtree_control adds it (EBUSY while the cgroup holds a process: the no internal
    processes rule), a pid written to cgroup.procs moves it there, cgroup.kill empties the
    cgroup, rmdir of an unpopulated cgroup removes it (its last files kept in ``removed``).
    Only the grader's own writes go through it: the supervisor's (another process) simply
    overwrite cgroup.procs, which then shows what it wrote.
    ``events``: the memory.events and pids.events the next cgroups made will report."""

    def __init__(self, own: Path, monkeypatch, others: tuple[int, ...] = ()):
        self.own, self.removed, self.events = own, {}, {}
        own.mkdir()
        (own / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
        (own / "cgroup.subtree_control").write_text("\n")
        (own / "cgroup.procs").write_text("".join(f"{p}\n" for p in (os.getpid(), *others)))
        self._write = cgroups._write
        monkeypatch.setattr(cgroups, "_new_cgroup", self.mkdir)
        monkeypatch.setattr(cgroups, "_remove_cgroup", self.rmdir)
        monkeypatch.setattr(cgroups, "_write", self.write)

    def mkdir(self, path: Path) -> None:
        path.mkdir(mode=0o755)
        files = {
            "cgroup.procs": "", "cgroup.events": "populated 0\nfrozen 0\n", "cgroup.kill": "",
            "cgroup.subtree_control": "", "memory.max": "max\n", "memory.swap.max": "max\n",
            "memory.oom.group": "0\n", "pids.max": "max\n", "cpu.max": "max 100000\n",
            "memory.events": "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n",
            "pids.events": "max 0\n",
        }  # fmt: skip
        files.update(self.events)
        for name, text in files.items():
            (path / name).write_text(text)

    def rmdir(self, path: Path) -> None:
        if "populated 1" in (path / "cgroup.events").read_text():
            raise OSError(errno.EBUSY, "Device or resource busy")
        self.removed[path.name] = {p.name: p.read_text() for p in path.iterdir()}
        shutil.rmtree(path)

    def write(self, path: Path, text: str) -> None:
        path = Path(path)
        if path.name == "cgroup.subtree_control":
            if (path.parent / "cgroup.procs").read_text().split():
                raise OSError(errno.EBUSY, "Device or resource busy")
            enabled = set(path.read_text().split()) | {w[1:] for w in text.split()}
            text = " ".join(sorted(enabled))
        elif path.name == "cgroup.procs":
            for procs in self.own.rglob("cgroup.procs"):
                procs.write_text("".join(f"{p}\n" for p in procs.read_text().split() if p != text))
            text = (path.read_text() + text + "\n").lstrip()
        elif path.name == "cgroup.kill" and text == "1":
            (path.parent / "cgroup.procs").write_text("")
            (path.parent / "cgroup.events").write_text("populated 0\nfrozen 0\n")
        self._write(path, text)


def test_a_run_cgroup_gets_its_limits_reports_what_was_refused_and_is_removed(
    tmp_path, monkeypatch
):
    kernel = FakeKernel(tmp_path / "grader.scope", monkeypatch)
    kernel.events = {"memory.events": "max 7\noom 1\noom_kill 1\n", "pids.events": "max 3\n"}
    # The grader is in its cgroup: it moves itself into a leaf, then enables the controllers.
    parent = cgroups.parent(kernel.own)
    leaf = kernel.own / f"minivae-grader-{os.getpid()}"
    assert parent == cgroups.Parent(kernel.own, leaf, cpu=True)
    assert (kernel.own / "cgroup.subtree_control").read_text().split() == ["cpu", "memory", "pids"]
    assert (leaf / "cgroup.procs").read_text().split() == [str(os.getpid())]
    assert (kernel.own / "cgroup.procs").read_text().split() == []
    assert cgroups.parent(kernel.own) is parent, "once per process"

    run = cgroups.RunCgroup(parent, memory_mb=1024, processes=5)
    assert run.path.parent == kernel.own
    limits = {n: (run.path / n).read_text() for n in ("memory.max", "memory.swap.max",
              "memory.oom.group", "pids.max", "cpu.max")}  # fmt: skip
    assert limits == {
        "memory.max": str(1024 * 2**20),
        "memory.swap.max": "0",  # memory.max bounds memory, not what it pushes to swap
        "memory.oom.group": "1",
        "pids.max": "5",
        "cpu.max": "100000 100000",
    }
    events = run.events()
    assert "ran out of memory" in events and "1024 MB" in events, events
    assert "3 forks refused: at most 5 processes" in events, events
    # A process left inside: cgroup.kill, then the cgroup goes.
    (run.path / "cgroup.procs").write_text("999999\n")
    (run.path / "cgroup.events").write_text("populated 1\nfrozen 0\n")
    run.remove()
    assert not run.path.exists() and run.path.name in kernel.removed
    assert kernel.removed[run.path.name]["cgroup.kill"] == "1"


def test_other_processes_in_the_graders_cgroup_mean_no_cgroups(tmp_path, monkeypatch):
    """The no internal processes rule: a shell beside the grader in its cgroup (not ours to
    move) forbids controllers below it. The grader goes back where it was, and says why."""
    kernel = FakeKernel(tmp_path / "session.scope", monkeypatch, others=(1,))
    with pytest.raises(cgroups.Unavailable, match="holds other processes"):
        cgroups.parent(kernel.own)
    assert sorted((kernel.own / "cgroup.procs").read_text().split()) == sorted(
        ["1", str(os.getpid())]
    )
    assert not list(kernel.own.glob("minivae-*")), "the leaf was left behind"
    assert (kernel.own / "cgroup.subtree_control").read_text().split() == []


@pytest.fixture
def graded_copy(readable_tmp):
    """-> a function: a vae_pieces solution copy whose reparameterize_forward runs ``code``."""

    def make(name: str, code: str | None = None) -> Path:
        copy = make_assignment("vae_pieces", readable_tmp / name, solution=True)
        if code is not None:
            path = module_file(copy, "minivae.ops.reparameterize")
            path.write_text(blank_source(path.read_text(), "reparameterize_forward", "blank"))
            inject(path, "reparameterize_forward", code)
        return copy

    return make


def test_the_child_runs_in_its_cgroup_from_the_start_and_its_events_reach_the_message(
    tmp_path, monkeypatch, graded_copy, child_python, sandbox_works, readable_tmp
):
    """A real grading (the real supervisor and child, confined where the sandbox works) with
    a fake cgroup tree: the supervisor writes its pid into the run's cgroup.procs before the
    spawn and back into the grader's after; the limits are written; the cgroup is removed;
    what the kernel reports (an OOM kill) is in the message of a killed child."""
    kernel = FakeKernel(tmp_path / "grader.scope", monkeypatch)
    (readable_tmp / "box").mkdir()  # the children's user must pass through it
    box = Sandbox(
        readable_tmp / "box", child_python or default_python(), child_user(None),
        timeout=60.0, memory_mb=1024, confined=sandbox_works, cgroup_root=kernel.own,
    )  # fmt: skip
    assert box.limits.cgroup is not None and box.limits.describe().startswith("cgroup v2 (")
    processes = 5 if sandbox_works else 4  # bubblewrap's monitor outside the sandbox
    assert f"{processes} processes" in box.limits.describe()
    item = next(i for i in get_assignment("vae_pieces").items if i.name == "reparameterize forward")
    assert grade.grade_item(box, item, graded_copy("ok")) is None, "the solution failed"
    (name, files), *_ = kernel.removed.items()
    supervisor = files["cgroup.procs"].split()
    assert len(supervisor) == 1 and supervisor != [str(os.getpid())], files["cgroup.procs"]
    home = box.limits.cgroup.home / "cgroup.procs"
    assert supervisor[0] in home.read_text().split(), "the supervisor did not go back home"
    assert files["memory.max"] == str(1024 * 2**20) and files["pids.max"] == str(processes)
    assert not list(kernel.own.glob("minivae-[0-9]*")), "a run's cgroup was left"

    kernel.events = {"memory.events": "oom 1\noom_kill 1\n"}
    killed = graded_copy("killed", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")
    message = grade.grade_item(box, item, killed)
    assert "ran out of memory: its processes together reached the 1024 MB" in message, message
    kernel.events = {"pids.events": "max 12\n"}
    failed = graded_copy("failed", "raise RuntimeError('no fork')")
    message = grade.grade_item(box, item, failed)
    assert "RuntimeError: no fork" in message and "12 forks refused" in message, message


def test_a_fork_bomb_and_a_memory_hog_score_zero_in_a_real_cgroup(grader, graded_copy):
    """Where the machine allows it, the grader uses the cgroup, and the kernel's counts
    stop both: forks beyond pids.max are refused, memory beyond memory.max is an OOM kill.
    (Finding out moves this process into a leaf cgroup where it can, as a grading would.)"""
    try:
        cgroups.parent()
    except cgroups.Unavailable as e:
        pytest.skip(f"needs cgroup v2 memory and pids controllers for the grader: {e}")
    bomb = graded_copy("bomb", """
        import os, time
        refused = 0
        for _ in range(50):
            try:
                if os.fork() == 0:
                    time.sleep(30)
                    os._exit(0)
            except OSError:
                refused += 1
        raise RuntimeError(f"REFUSED {refused}")
    """)  # fmt: skip
    path = module_file(graded_copy("hog"), "minivae.ops.reparameterize")
    path.write_text(path.read_text() + "\n\n" + inspect.getsource(
        hostile_code.hold_memory_in_many_processes))  # fmt: skip
    inject(path, "reparameterize_forward", "hold_memory_in_many_processes(2, 64)")
    hog = path.parents[2]
    for copy in (bomb, hog):
        report = grader(copy, "vae_pieces", only=["reparameterize forward"], memory_mb=1024)
        assert report.sandbox["cgroup_v2"].startswith("used"), report.sandbox
        assert report.sandbox["limits"].startswith("cgroup v2 (")
        assert report.score == 0, report.table()
        message = report.results[0].message
        if copy == bomb:
            assert "forks refused" in message and int(message.split("REFUSED ")[1][:2]) >= 45
        else:  # two processes that each may map 1024 MB: together they cannot hold it
            held = message.split("HELD ")[1].split()[0] if "HELD" in message else "0"
            assert "ran out of memory" in message or 0 < int(held) < 1024, message
        parent = cgroups.parent()
        assert not list(parent.folder.glob(f"minivae-{os.getpid()}-*")), "a cgroup was left"


def _writable_cgroup2() -> Path | None:
    """The grader's real cgroup v2 folder, where it may make cgroups and move processes
    (root on a cgroup v2 or hybrid machine: this one and CI), controllers or not."""
    try:
        own = cgroups.own_cgroup()
    except cgroups.Unavailable:
        return None
    return own if os.access(own / "cgroup.procs", os.W_OK) and os.access(own, os.W_OK) else None


@pytest.mark.skipif(_writable_cgroup2() is None, reason="no cgroup v2 folder the grader may write")
def test_on_the_real_kernel_the_sandbox_and_all_it_starts_are_in_the_run_cgroup(
    monkeypatch, graded_copy, grader, readable_tmp
):
    """The mechanics on a real cgroup2 mount (on a hybrid machine, one without controllers:
    the limit files are missing there, so their writes are skipped; everything else is the
    kernel's): the supervisor joins the run's cgroup for the spawn and leaves it, so every
    process of the child's (bubblewrap's, the sandbox's, a detached grandchild) is inside and
    the supervisor is not; the cgroup is removed after the item."""
    import threading
    import time

    own = _writable_cgroup2()
    monkeypatch.setattr(cgroups, "parent", lambda root=None: cgroups.Parent(own, own, False))
    real_write = cgroups._write
    monkeypatch.setattr(
        cgroups, "_write", lambda path, text: Path(path).exists() and real_write(path, text)
    )
    marker = f"34.{os.getpid()}5"
    copy = graded_copy("inside", f"""
        import os, subprocess, sys, time
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(20)", {marker!r}],
                         start_new_session=True)
        time.sleep(4)
        raise RuntimeError("DONE")
    """)  # fmt: skip
    seen: dict[str, set[str]] = {"child": set(), "grandchild": set()}  # their cgroups
    late: dict[str, set[str]] = {}  # one look more, once the grandchild runs

    def descends(pid: str) -> bool:  # a descendant of this process (other graders may run)
        while pid not in ("0", "1"):
            try:
                pid = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]
            except (OSError, IndexError):
                return False
            if pid == str(os.getpid()):
                return True
        return False

    def look() -> dict[str, set[str]]:
        found: dict[str, set[str]] = {"child": set(), "grandchild": set(), "supervisor": set()}
        for pid in filter(str.isdigit, os.listdir("/proc")):
            if not descends(pid):
                continue
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes()
                lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
            except OSError:
                continue
            where = next((x[3:] for x in lines if x.startswith("0::")), "?")
            if marker.encode() in command:
                found["grandchild"].add(where)
            elif b"child.py" in command:  # bubblewrap, the sandbox's init, the child
                found["child"].add(where)
            elif b"PR_SET_CHILD_SUBREAPER" in command:  # the supervisor (its source)
                found["supervisor"].add(where)
        return found

    def watch() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not late:
            found = look()
            for kind in seen:
                seen[kind] |= found[kind]
            if found["grandchild"]:
                late.update(look())
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    report = grader(copy, "vae_pieces", only=["reparameterize forward"])
    watcher.join()
    assert "DONE" in report.results[0].message, report.table()
    assert late, "the grandchild was never seen"
    runs = seen["child"] | seen["grandchild"]
    ours = f"minivae-{os.getpid()}-"
    assert all(Path(g).name.startswith(ours) for g in runs), f"a process outside: {seen}"
    (run,) = late["grandchild"]
    assert late["child"] == {run}, f"the child and its grandchild apart: {late}"
    assert late["supervisor"] and run not in late["supervisor"], f"the supervisor stayed: {late}"
    assert not list(own.glob(ours + "*")), "a run's cgroup was left"
