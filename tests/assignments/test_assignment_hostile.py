"""Hostile submissions: every attack of issue 13, on every assignment where it applies, scores 0
for the item it fakes, while an item it does not touch keeps its points; the grader finishes
promptly, its results stand, and nothing the student started outlives the grading.

The attacks themselves are in hostile_code.py. Each hostile copy is a solution copy with the
target item's planted mistake (assignment_helpers.MISTAKES) and an attack added to the same
module: an attack that worked would hide the mistake and earn the item's points.
"""

from __future__ import annotations

import ast
import inspect
import json
import os
import shutil
import subprocess
import tempfile
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import hostile_code
import pytest
from assignment_helpers import MISTAKES, cli, cli_command, plant

from minivae.assignments.make import blank_source, make_assignment, module_file
from minivae.assignments.spec import ASSIGNMENTS

ROOT = Path(__file__).resolve().parents[2]
AS_ROOT = os.geteuid() == 0


class Target(NamedTuple):
    item: str  # the item the attack fakes
    control: str  # an item of the same assignment the attack does not touch
    outputs: tuple[str, ...]  # what the function under attack returns
    returns_cache: bool


TARGETS = {
    "lstm": Target(
        "lstm_step backward gradcheck",
        "lstm_forward values",
        ("dx", "dprev_h", "dprev_c", "dWx", "dWh", "db"),
        False,
    ),
    "gru": Target("gru_step forward values", "gru_forward values", ("next_h",), True),
    "vae_pieces": Target("reparameterize forward", "kl forward", ("z",), True),
    "attention": Target(
        "additive attention backward gradcheck",
        "attend forward values and masking",
        ("dquery", "dkeys", "dWq", "dWk", "dv"),
        False,
    ),
}


def mistake(assignment: str, item: str):
    """-> (module, function, old, new): the planted mistake for ``item``."""
    return next(m[2:] for m in MISTAKES if m[:2] == (assignment, item))


def inject(path: Path, function: str, code: str) -> None:
    """Put ``code`` at the start of the body of ``function`` (after its docstring)."""
    source = path.read_text()
    node = next(
        n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and n.name == function
    )
    first = node.body[0]
    docstring = isinstance(first, ast.Expr) and isinstance(
        getattr(first, "value", None), ast.Constant
    )
    cut = first.end_lineno if docstring else first.lineno - 1
    lines = source.splitlines(keepends=True)
    block = textwrap.indent(textwrap.dedent(code).strip() + "\n", " " * first.col_offset)
    path.write_text("".join(lines[:cut]) + block + "".join(lines[cut:]))


def hostile_copy(solution: Path, out: Path, assignment: str, attack, call: str, blank=False):
    """A copy of ``solution`` with the target's planted mistake (or, with ``blank``, the
    function blanked), the source of ``attack`` added to its module, and ``call`` at the start
    of the function."""
    module, function, old, new = mistake(assignment, TARGETS[assignment].item)
    copy = plant(solution, out, module, old, new)
    path = module_file(copy, module)
    if blank:
        path.write_text(blank_source(path.read_text(), function, "blank"))
    path.write_text(path.read_text() + "\n\n" + inspect.getsource(attack))
    inject(path, function, call)
    return copy


def scores(report) -> dict[str, float]:
    return {r.item.name: r.score for r in report.results}


def assert_faked_item_scores_zero(report, assignment: str, attack: str) -> None:
    target = TARGETS[assignment]
    got = scores(report)
    assert got[target.item] == 0, f"{attack} earned points on {assignment}:\n{report.table()}"
    control = next(i for i in ASSIGNMENTS[assignment].items if i.name == target.control)
    assert got[target.control] == control.points, f"{attack} cost the control\n{report.table()}"


def grade_target(grader, copy: Path, assignment: str, **kwargs):
    target = TARGETS[assignment]
    return grader(copy, assignment, only=[target.item, target.control], **kwargs)


@pytest.mark.parametrize("assignment", list(TARGETS))
def test_stealing_references_patching_the_judge_and_walking_the_stack_score_zero(
    assignment, solutions, grader, readable_tmp
):
    target = TARGETS[assignment]
    steal = f"""
        stolen = steal_references({target.outputs!r}, {target.returns_cache!r})
        if stolen is not None:
            return stolen
    """
    attacks = {
        "stealing reference files": (hostile_code.steal_references, steal),
        "patching the judge": (hostile_code.patch_the_judge, "patch_the_judge()"),
        "walking the stack": (hostile_code.walk_the_stack, "walk_the_stack()"),
    }
    copies = {
        name: hostile_copy(solutions[assignment], readable_tmp / str(i), assignment, *attack)
        for i, (name, attack) in enumerate(attacks.items())
    }
    with ThreadPoolExecutor(2) as pool:
        reports = dict(
            zip(copies, pool.map(lambda c: grade_target(grader, c, assignment), copies.values()))
        )
    for name, report in reports.items():
        assert_faked_item_scores_zero(report, assignment, name)


@pytest.mark.parametrize("assignment", list(TARGETS))
def test_the_graders_solution_cannot_be_imported_through_any_path_it_mounts(
    assignment, solutions, grader, readable_tmp
):
    """The function is blank; the attack looks for the grader's minivae on the child's
    sys.path, in the files and folders of its loaded modules, in what /proc shows of the child
    and of its parent (the supervisor), and in the installed distributions. The grader itself
    is the test runner here, whose command line (public on Linux) names this checkout, which
    is readable by every user of a developer's machine: the documented deployment, where the
    solution is not, is test_the_documented_gradescope_recipe's."""
    module, function, _, _ = mistake(assignment, TARGETS[assignment].item)
    call = f"""
        return import_the_solution(
            {module.replace(".", "/") + ".py"!r}, {function!r}, dict(locals()), 1, []
        )
    """
    copy = hostile_copy(
        solutions[assignment],
        readable_tmp / "c",
        assignment,
        hostile_code.import_the_solution,
        call,
        blank=True,
    )
    report = grade_target(grader, copy, assignment)
    assert_faked_item_scores_zero(report, assignment, "importing the solution")


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if text.encode() in f.read():
                    found.append(pid)
        except OSError:
            pass
    return found


@pytest.mark.parametrize("assignment", list(TARGETS))
def test_a_daemon_cannot_rewrite_the_results_after_grading(
    assignment, solutions, grade_options, readable_tmp
):
    """The daemon's heartbeat is a file it can write: in the sandbox, in its own /tmp (the
    child reports its size), unconfined, a file of the test's."""
    confined = "--unconfined" not in grade_options
    heartbeat = "/tmp/heartbeat" if confined else str(readable_tmp / "heartbeat")
    if not confined:
        Path(heartbeat).touch()
        Path(heartbeat).chmod(0o666)  # the child may run as nobody
    marker = f"30.{os.getpid()}{len(assignment)}"
    copy = hostile_copy(
        solutions[assignment],
        readable_tmp / "c",
        assignment,
        hostile_code.leave_a_daemon,
        f"leave_a_daemon({heartbeat!r}, {marker!r})",
    )
    target = TARGETS[assignment]
    proc = cli("grade", str(copy), "--assignment", assignment, "--item", target.item,
               *grade_options)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    written = (copy / "results.json").read_text()
    message = json.loads(written)["tests"][0]["output"]
    assert "HEARTBEAT" in message, message
    assert int(message.split("HEARTBEAT ")[1].split()[0]) > 0, "the daemon never ran"
    time.sleep(0.6)
    if not confined:
        size = Path(heartbeat).stat().st_size
        time.sleep(0.6)
        assert Path(heartbeat).stat().st_size == size, "the daemon outlived the grading"
    assert not _processes_mentioning(marker), "a process of the student's is still running"
    assert (copy / "results.json").read_text() == written
    assert json.loads(written)["score"] == 0


@pytest.mark.parametrize("assignment", list(TARGETS))
def test_processes_holding_the_output_pipes_do_not_stall_the_grading(
    assignment, solutions, grader, readable_tmp
):
    marker = f"29.{os.getpid()}{len(assignment)}"  # 29.<pid><n>1: findable in /proc
    copy = hostile_copy(
        solutions[assignment],
        readable_tmp / "c",
        assignment,
        hostile_code.hold_the_pipes,
        f"hold_the_pipes({marker!r})",
    )
    start = time.monotonic()
    report = grade_target(grader, copy, assignment, timeout=30.0)
    assert time.monotonic() - start < 15, "the grading waited for the pipes"
    assert_faked_item_scores_zero(report, assignment, "holding the pipes")
    assert not _processes_mentioning(marker), "the sleeps outlived the grading"


def test_the_fused_kernels_are_out_of_reach(solutions, grader, readable_tmp):
    """The old student copies shipped the fused LSTM cell, which solves lstm_pointwise_*."""
    copy = shutil.copytree(solutions["lstm"], readable_tmp / "c")
    path = module_file(copy, "minivae.ops.lstm")
    source = blank_source(path.read_text(), "lstm_pointwise_forward", "blank")
    path.write_text(source + "\n\n" + inspect.getsource(hostile_code.call_the_fused_kernels))
    inject(path, "lstm_pointwise_forward", "return call_the_fused_kernels(a, prev_c)")
    report = grader(
        copy, "lstm", only=["lstm_pointwise forward values", "lstm_step forward values"]
    )
    assert report.score == 0, report.table()
    assert "the fused kernels are not installed" in report.results[0].message, report.table()
    assert not (copy / "kernels").exists()


@pytest.mark.parametrize("assignment", list(TARGETS))
def test_a_results_symlink_is_replaced_not_written_through(
    assignment, solutions, grade_options, readable_tmp
):
    victim = readable_tmp / "victim.txt"
    victim.write_text("precious")
    copy = shutil.copytree(solutions[assignment], readable_tmp / "c")
    (copy / "results.json").symlink_to(victim)
    python = grade_options
    item = TARGETS[assignment].control
    proc = cli("grade", str(copy), "--assignment", assignment, "--item", item, *python)
    assert proc.returncode == 0, proc.stderr
    assert victim.read_text() == "precious"
    results = copy / "results.json"
    assert not results.is_symlink() and json.loads(results.read_text())["score"] > 0


@pytest.mark.parametrize("assignment", list(TARGETS))
def test_the_assignment_is_the_instructors_not_the_copys(assignment, grade_options, readable_tmp):
    """A blank copy whose marker names another assignment, whose functions it holds intact."""
    other = next(a for a in ASSIGNMENTS if a != assignment)
    copy = make_assignment(assignment, readable_tmp / "c")
    marker = copy / ".assignment.json"
    marker.write_text(json.dumps({**json.loads(marker.read_text()), "assignment": other}))
    python = grade_options
    items = [x for item in ASSIGNMENTS[assignment].items[:2] for x in ("--item", item.name)]
    proc = cli("grade", str(copy), "--assignment", assignment, *items, *python)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((copy / "results.json").read_text())["score"] == 0
    assert f"names assignment {other!r}" in proc.stderr and "warning" in proc.stderr


CRASHES = {
    "hang": "while True:\n    pass",
    "exit": "import os\nos._exit(0)",
    "sys.exit": "import sys\nsys.exit(0)",
    "forged verdict on stdout": 'import os, sys\nprint(\'{"passed": true, "message": "ok"}\')\n'
    "sys.stdout.flush()\nos._exit(0)",
    "garbage": "print('\\x00garbage' * 1000)\nreturn 'garbage'",
    "memory": "import numpy\nreturn numpy.ones(10**11)",
    "output through a symlink": "import os\nos.remove('out.npz')\n"
    "os.symlink('/etc/passwd', 'out.npz')\nos._exit(0)",
    "output as a FIFO": "import os\nos.remove('out.npz')\nos.mkfifo('out.npz')\nos._exit(0)",
    "pickled output": "import numpy, os\nnumpy.savez('out.npz', passed=numpy.array([object()]))\n"
    "os._exit(0)",
    "verdict as arrays": "import numpy, os\nnumpy.savez('out.npz', passed=numpy.array(True), "
    "score=numpy.array(100.0))\nos._exit(0)",
}


def test_crashes_hangs_and_forged_outputs_score_zero_and_the_grader_finishes(
    solutions, grader, readable_tmp
):
    """Each body replaces reparameterize_forward; the other functions are correct."""
    copies = []
    for i, body in enumerate(CRASHES.values()):
        copy = shutil.copytree(solutions["vae_pieces"], readable_tmp / str(i))
        path = module_file(copy, "minivae.ops.reparameterize")
        path.write_text(blank_source(path.read_text(), "reparameterize_forward", "blank"))
        inject(path, "reparameterize_forward", body)
        copies.append(copy)
    with ThreadPoolExecutor(2) as pool:
        reports = list(
            pool.map(
                lambda c: grade_target(grader, c, "vae_pieces", timeout=4.0, memory_mb=1024), copies
            )
        )
    for kind, report in zip(CRASHES, reports):
        assert_faked_item_scores_zero(report, "vae_pieces", kind)
    messages = {k: r.results[0].message for k, r in zip(CRASHES, reports)}
    assert "timed out" in messages["hang"]
    assert "exited with code 0" in messages["exit"]
    assert "exited with code 0" in messages["forged verdict on stdout"]
    assert "SystemExit" in messages["sys.exit"]
    assert "ran out of memory" in messages["memory"]
    # Confined, out.npz is a mount point: it cannot be removed, so not replaced either.
    assert (
        "cannot read" in messages["output through a symlink"]
        or "busy" in messages["output through a symlink"]
    )
    assert (
        "not a regular file" in messages["output as a FIFO"]
        or "busy" in messages["output as a FIFO"]
    )
    assert "not a valid .npz" in messages["pickled output"]
    assert "missing" in messages["verdict as arrays"]


def test_the_child_runs_unprivileged_with_nothing_of_the_graders_on_its_path(
    solutions, grader, readable_tmp, sandbox_works
):
    """What the child sees, reported by the student's code in its error message."""
    copy = shutil.copytree(solutions["vae_pieces"], readable_tmp / "c")
    path = module_file(copy, "minivae.ops.reparameterize")
    path.write_text(blank_source(path.read_text(), "reparameterize_forward", "blank"))
    report_facts = """
        import json, os, resource, sys
        import minivae
        copy = os.path.realpath(os.path.join(os.path.dirname(minivae.__file__), ".."))
        others = [p for p in sys.path if os.path.isdir(os.path.join(p, "minivae"))
                  and os.path.realpath(p) != copy]
        try:
            open(os.path.join(copy, "written"), "w").close()
            writes = True
        except OSError:
            writes = False
        facts = {"uid": os.getuid(), "groups": os.getgroups(), "writes": writes,
                 "own": os.path.realpath(minivae.__file__).startswith(copy + os.sep),
                 "others": others, "cwd": sorted(os.listdir(".")),
                 "memory": resource.getrlimit(resource.RLIMIT_AS)[0] // 2**20}
        raise RuntimeError("FACTS" + json.dumps(facts) + "END")
    """
    inject(path, "reparameterize_forward", report_facts)
    report = grader(copy, "vae_pieces", only=["reparameterize forward"], memory_mb=1024)
    message = report.results[0].message
    facts = json.loads(message[message.index("FACTS") + 5 : message.index("END")])
    assert facts["own"], "import minivae must give the student's copy"
    assert facts["others"] == [], "a folder of the grader's minivae is on the child's path"
    assert facts["cwd"] == ["out.npz"], "the child's working folder must start empty"
    # Confined without a cgroup, the processes of the child share the limit (a quarter each);
    # in a cgroup (which counts them together) or unconfined, each process has all of it.
    shared = sandbox_works and not report.sandbox["cgroup_v2"].startswith("used")
    assert facts["memory"] == (1024 // 4 if shared else 1024)
    if AS_ROOT:
        assert facts["uid"] == 65534 and facts["groups"] == [] and not facts["writes"]


def documented_script(name: str) -> str:
    """The ```bash block after ``<!-- name -->`` in docs/assignments.md."""
    text = (ROOT / "docs" / "assignments.md").read_text()
    return text.split(f"<!-- {name} -->", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]


@pytest.mark.skipif(not AS_ROOT, reason="run_autograder runs as root, as on Gradescope")
def test_the_documented_gradescope_recipe(solutions, child_python, readable_tmp, sandbox):
    """run_autograder from the docs, on a fake /autograder. setup.sh needs the network: its
    'apt-get install' is .ci/run's, its 'pip install --target' is done by hand (the package
    copied, its dependencies linked from this environment), and its chmod by the script
    itself. Confined where the sandbox works (CI), as the recipe is written."""
    import numpy

    autograder, grader, bin_dir = readable_tmp / "ag", readable_tmp / "opt", readable_tmp / "bin"
    ignore = shutil.ignore_patterns("__pycache__")
    for folder, package in (("minivae", "minivae"), ("kernels", "minivae_kernels")):
        shutil.copytree(ROOT / folder, autograder / "source" / folder, ignore=ignore)
        shutil.copytree(ROOT / folder, grader / package, ignore=ignore)  # as pip installs it
    site = Path(numpy.__file__).resolve().parent.parent
    for name in ("numpy", "numpy.libs", "numba", "llvmlite", "threadpoolctl.py"):
        if (site / name).exists():
            (grader / name).symlink_to(site / name)
    grader.chmod(0o700)
    (autograder / "results").mkdir()
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(child_python)  # one the students' user can run
    script = readable_tmp / "run_autograder"
    script.write_text(documented_script("run_autograder"))
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "AUTOGRADER": str(autograder), "GRADER": str(grader)}

    def submit(**files) -> dict:
        submission = autograder / "submission"
        shutil.rmtree(submission, ignore_errors=True)
        submission.mkdir()
        for name, make in files.items():
            make(submission / name)
        proc = subprocess.run(
            ["bash", str(script)], env=env, capture_output=True, text=True, timeout=300
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "warning" not in proc.stderr, proc.stderr  # the solution is out of reach
        return json.loads((autograder / "results" / "results.json").read_text())

    solution = module_file(solutions["lstm"], "minivae.ops.lstm").read_text()
    assert submit(**{"lstm.py": lambda p: p.write_text(solution)})["score"] == 17
    module, function, _, _ = mistake("lstm", TARGETS["lstm"].item)
    known = [str(grader), str(autograder / "source")]
    call = f"""
        return import_the_solution(
            {module.replace(".", "/") + ".py"!r}, {function!r}, dict(locals()), 3, {known!r}
        )
    """
    hostile = hostile_copy(
        solutions["lstm"],
        readable_tmp / "h",
        "lstm",
        hostile_code.import_the_solution,
        call,
        blank=True,
    )
    source = module_file(hostile, module).read_text()
    results = submit(**{"lstm.py": lambda p: p.write_text(source)})
    scores = {t["name"]: t["score"] for t in results["tests"]}
    assert scores[TARGETS["lstm"].item] == 0 and results["score"] == 17 - 3, results
    link = autograder / "source" / "minivae" / "ops" / "lstm.py"
    assert submit(**{"lstm.py": lambda p: p.symlink_to(link)})["score"] == 0


# Issue 30: the sandbox. Each attack below worked against the grader before it confined the
# students' code by itself; each must now score 0 and leave nothing behind.


def _graded(report, item: str) -> tuple[float, str]:
    result = next(r for r in report.results if r.item.name == item)
    return result.score, result.message


def test_the_librarys_source_is_out_of_view_whatever_its_permissions(
    sandbox, solutions, grader, readable_tmp
):
    """The solution, world-readable in a shared folder, named in a process's command line,
    and linked from the copy: the attack (hostile_code.find_the_solution_anywhere) finds it
    unconfined (so the test tests something) and not in the sandbox."""
    import sys

    leak = Path(tempfile.mkdtemp(prefix="minivae-course-share-"))
    try:
        leak.chmod(0o755)
        shutil.copytree(solutions["lstm"] / "minivae", leak / "minivae")
        subprocess.run(["chmod", "-R", "a+rX", str(leak)], check=True)
        named = subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(120)", str(leak)],
            stdout=subprocess.DEVNULL,
        )
        module, function, _, _ = mistake("lstm", TARGETS["lstm"].item)
        call = f"return find_the_solution_anywhere('minivae/ops/lstm.py', {function!r}, locals())"
        copy = hostile_copy(
            solutions["lstm"],
            readable_tmp / "c",
            "lstm",
            hostile_code.find_the_solution_anywhere,
            call,
            blank=True,
        )
        (copy / "minivae" / "ops" / "shared.py").symlink_to(leak / "minivae/ops/lstm.py")
        unconfined = grade_target(grader, copy, "lstm", unconfined=True)
        assert _graded(unconfined, TARGETS["lstm"].item)[0] > 0, (
            "the attack does not find the solution even unconfined: the test tests nothing\n"
            + unconfined.table()
        )
        report = grade_target(grader, copy, "lstm")
        assert report.sandbox["confined"]
        assert_faked_item_scores_zero(report, "lstm", "finding the solution anywhere")
    finally:
        named.kill()
        named.wait()
        shutil.rmtree(leak)


def test_bytecode_in_the_copy_is_never_run_nor_written(solutions, grader, readable_tmp):
    """A blank lstm.py with the solution compiled beside it, as unchecked-hash bytecode in
    __pycache__ (which Python runs whatever the source says), or as lstm.pyc without a
    source: plain Python runs the solution; the grader runs the blank source, or nothing."""
    import py_compile
    import sys
    from importlib.util import cache_from_source

    item, control = "lstm_pointwise forward values", "lstm_step forward values"
    copies = {}
    for kind in ("__pycache__", "sourceless"):
        copy = shutil.copytree(solutions["lstm"], readable_tmp / kind)
        path = module_file(copy, "minivae.ops.lstm")
        target = cache_from_source(str(path)) if kind == "__pycache__" else str(path) + "c"
        mode = py_compile.PycInvalidationMode.UNCHECKED_HASH
        py_compile.compile(str(path), cfile=target, doraise=True, invalidation_mode=mode)
        if kind == "__pycache__":
            path.write_text(blank_source(path.read_text(), "lstm_pointwise_forward", "blank"))
        else:
            path.unlink()
        proof = subprocess.run(
            [sys.executable, "-B", "-c", "import numpy; from minivae.ops.lstm import "
             "lstm_pointwise_forward as f; f(numpy.zeros((1, 4)), numpy.zeros((1, 1)))"],
            cwd=copy, capture_output=True, text=True,
        )  # fmt: skip
        assert proof.returncode == 0, f"plain Python does not run the {kind} bytecode:\n{proof}"
        copies[kind] = copy
    for kind, copy in copies.items():
        before = sorted(str(p) for p in copy.rglob("*.pyc"))
        report = grader(copy, "lstm", only=[item, control])
        assert report.score == 0, f"{kind} bytecode was run:\n{report.table()}"
        assert sorted(str(p) for p in copy.rglob("*.pyc")) == before, "bytecode was written"
    message = _graded(report, item)[1]
    assert "No module named 'minivae.ops.lstm'" in message, report.table()


def test_memory_and_processes_are_limited_for_all_the_childs_processes_together(
    sandbox, solutions, grader, readable_tmp
):
    """Eight forked children each take all the memory they can: together they hold less than
    --memory-mb (or, in a cgroup v2, the kernel kills them: out of memory), and most forks
    are refused."""
    copy = shutil.copytree(solutions["vae_pieces"], readable_tmp / "c")
    path = module_file(copy, "minivae.ops.reparameterize")
    path.write_text(path.read_text() + "\n\n" + inspect.getsource(
        hostile_code.hold_memory_in_many_processes))  # fmt: skip
    inject(path, "reparameterize_forward", "hold_memory_in_many_processes(8, 32)")
    report = grade_target(grader, copy, "vae_pieces", memory_mb=1024)
    assert_faked_item_scores_zero(report, "vae_pieces", "holding memory")
    message = _graded(report, "reparameterize forward")[1]
    if report.sandbox["cgroup_v2"].startswith("used"):
        assert "5 processes" in report.sandbox["limits"]  # bubblewrap's monitor among them
        if "HELD" not in message:  # memory.oom.group: the kernel killed the whole sandbox
            assert "ran out of memory" in message and "forks refused" in message, message
            return
    else:
        assert "4 processes" in report.sandbox["limits"]
    assert "HELD" in message, report.table()
    held, refused = (int(w) for w in message.split("HELD ")[1].split(" forks")[0].split()[::3])
    assert 0 < held < 1024, f"the children held {held} MB together under --memory-mb 1024"
    assert refused >= 5, f"only {refused} of 8 forks refused"


def test_files_processes_and_namespaces_of_the_child_do_not_outlive_it(
    sandbox, solutions, grader, readable_tmp
):
    """Files in /tmp, /var/tmp, /dev/shm (200 MB of them), HOME, the working folder and the
    copy; a detached process; a user namespace: none of it is there after the grading."""
    import secrets

    token = "minivae-left-" + secrets.token_hex(6)
    marker = f"31.{os.getpid()}7"
    copy = shutil.copytree(solutions["vae_pieces"], readable_tmp / "c")
    path = module_file(copy, "minivae.ops.reparameterize")
    path.write_text(path.read_text() + "\n\n" + inspect.getsource(
        hostile_code.leave_files_everywhere))  # fmt: skip
    inject(path, "reparameterize_forward", f"leave_files_everywhere({token!r}, 200, {marker!r})")
    report = grade_target(grader, copy, "vae_pieces")
    assert_faked_item_scores_zero(report, "vae_pieces", "leaving files")
    message = _graded(report, "reparameterize forward")[1]
    assert "WROTE" in message and "'/tmp'" in message, report.table()  # it ran, and wrote
    shm = int(message.split("SHM ")[1].split()[0])
    assert shm <= 64, f"{shm} MB written to /dev/shm"
    assert "USERNS False" in message, "the child made a user namespace"
    for folder in ("/tmp", "/var/tmp", "/dev/shm"):
        assert not list(Path(folder).glob(token + "*")), f"a file was left in {folder}"
    assert not [p for p in copy.rglob("*") if token in p.name], "a file was left in the copy"
    assert not _processes_mentioning(marker), "a process of the student's outlived the grading"


def test_files_of_the_copy_are_read_without_links_fifos_or_echo(
    solutions, grade_options, readable_tmp
):
    """.assignment.json as a FIFO (the grader would wait forever), a link to /dev/zero (to
    memory exhaustion), a link to a root-only file (whose content the warning printed), and
    a file-size limit on the grader: each grading finishes, with no traceback, and echoes
    nothing of the file."""
    secret = readable_tmp / "root-only.txt"
    secret.write_text("TOP-SECRET-CONTENT\n")
    secret.chmod(0o600)
    makers = {
        "fifo": lambda m: os.mkfifo(m),
        "zero": lambda m: m.symlink_to("/dev/zero"),
        "secret": lambda m: m.symlink_to(secret),
    }
    item = ["--item", "kl forward"]
    for kind, make in makers.items():
        copy = shutil.copytree(solutions["vae_pieces"], readable_tmp / kind)
        (copy / ".assignment.json").unlink()
        make(copy / ".assignment.json")
        proc = cli("grade", str(copy), "--assignment", "vae_pieces", *item, *grade_options,
                   timeout=120)  # fmt: skip
        assert proc.returncode == 0, f"{kind}: {proc.stderr}"
        assert "Traceback" not in proc.stderr and "TOP-SECRET" not in proc.stdout + proc.stderr
        results = (copy / "results.json").read_text()
        assert json.loads(results)["score"] == 1 and "TOP-SECRET" not in results
    command = ["bash", "-c", 'ulimit -f 8 && exec "$@"', "-", *cli_command(
        "grade", str(readable_tmp / "fifo"), "--assignment", "vae_pieces", *item, *grade_options
    )]  # fmt: skip
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert "ulimit -f" in proc.stderr, proc.stderr


@pytest.mark.skipif(not AS_ROOT, reason="the guard is for a grader running as root")
def test_grading_from_inside_a_copy_runs_none_of_its_code_as_root(readable_tmp):
    """`python -m minivae assignment grade` in a copy's folder imports the copy's package:
    its code must not run (every module of it that the CLI would reach is booby-trapped)."""
    copy = make_assignment("lstm", readable_tmp / "c")
    trap = f"\nopen({str(readable_tmp / 'ran')!r}, 'w').close()\n"
    for name in ("__main__.py", "cli/__init__.py", "cli/assignment.py", "ops/lstm.py"):
        with open(copy / "minivae" / name, "a") as f:
            f.write(trap)
    proc = cli("grade", ".", "--assignment", "lstm", cwd=copy)
    assert proc.returncode == 2 and "student's copy" in proc.stderr, proc.stderr
    assert not (readable_tmp / "ran").exists(), "the copy's code ran as root"


def test_without_a_sandbox_the_grader_refuses_unless_told_and_the_results_say_so(
    solutions, grader, readable_tmp, monkeypatch
):
    from minivae.assignments import confine, grade
    from minivae.assignments.sandbox import SetupError

    def missing():
        raise confine.ConfinementError("bubblewrap is not installed")

    monkeypatch.setattr(confine, "bwrap", missing)
    with pytest.raises(SetupError, match="--unconfined"):
        grader(solutions["gru"], "gru", only=["gru_step forward values"], unconfined=False)
    report = grader(solutions["gru"], "gru", only=["gru_step forward values"], unconfined=True)
    assert report.score == report.max_score and not report.sandbox["confined"]
    results = readable_tmp / "results.json"
    grade.write_results(report, results)
    data = json.loads(results.read_text())
    assert data["output"].startswith("warning: UNCONFINED GRADING"), data
    assert data["extra_data"]["sandbox"]["confined"] is False


def test_the_sandbox_dies_with_the_grader(sandbox, solutions, grade_options, readable_tmp):
    """The grader killed (SIGKILL: no clean-up of its own) while a child and a detached
    grandchild spin: both are gone at once."""
    import signal
    import sys

    marker = f"33.{os.getpid()}1"
    spin = [sys.executable, "-c", "while True: pass", marker]
    code = f"""
        import os, sys
        if os.fork() == 0:
            os.setsid()
            os.execv(sys.executable, {spin!r})
        os.execv(sys.executable, {spin!r})
    """
    copy = shutil.copytree(solutions["vae_pieces"], readable_tmp / "c")
    inject(module_file(copy, "minivae.ops.reparameterize"), "reparameterize_forward", code)
    grading = subprocess.Popen(
        cli_command("grade", str(copy), "--assignment", "vae_pieces", "--timeout", "120",
                    "--item", "reparameterize forward", *grade_options),
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while len(_processes_mentioning(marker)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(_processes_mentioning(marker)) == 2, "the child never spun"
    finally:
        grading.send_signal(signal.SIGKILL)
        grading.wait()
    deadline = time.monotonic() + 5
    while _processes_mentioning(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _processes_mentioning(marker), "the student's processes outlived the grader"
