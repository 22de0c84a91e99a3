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
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import hostile_code
import pytest
from assignment_helpers import MISTAKES, cli, plant

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
    assignment, solutions, child_python, readable_tmp
):
    heartbeat = readable_tmp / "heartbeat"
    heartbeat.touch()
    heartbeat.chmod(0o666)  # the child may run as nobody
    copy = hostile_copy(
        solutions[assignment],
        readable_tmp / "c",
        assignment,
        hostile_code.leave_a_daemon,
        f"leave_a_daemon({str(heartbeat)!r})",
    )
    target = TARGETS[assignment]
    python = ["--python", child_python] if child_python else []
    proc = cli("grade", str(copy), "--assignment", assignment, "--item", target.item, *python)
    assert proc.returncode == 0, proc.stderr
    written = (copy / "results.json").read_text()
    assert heartbeat.stat().st_size > 0, "the daemon never ran: the test tests nothing"
    size = heartbeat.stat().st_size
    time.sleep(0.6)
    assert heartbeat.stat().st_size == size, "a process of the student's outlived the grading"
    assert not _processes_mentioning(str(copy)), "a process of the student's is still running"
    assert (copy / "results.json").read_text() == written
    assert json.loads(written)["score"] == 0


@pytest.mark.parametrize("assignment", list(TARGETS))
def test_processes_holding_the_output_pipes_do_not_stall_the_grading(
    assignment, solutions, grader, readable_tmp
):
    marker = f"29.{os.getpid()}{len(assignment)}"  # sleep 29.<pid><n>1: findable in /proc
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
    assert not _processes_mentioning(f"sleep\0{marker}"), "the sleeps outlived the grading"


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
    assignment, solutions, child_python, readable_tmp
):
    victim = readable_tmp / "victim.txt"
    victim.write_text("precious")
    copy = shutil.copytree(solutions[assignment], readable_tmp / "c")
    (copy / "results.json").symlink_to(victim)
    python = ["--python", child_python] if child_python else []
    item = TARGETS[assignment].control
    proc = cli("grade", str(copy), "--assignment", assignment, "--item", item, *python)
    assert proc.returncode == 0, proc.stderr
    assert victim.read_text() == "precious"
    results = copy / "results.json"
    assert not results.is_symlink() and json.loads(results.read_text())["score"] > 0


@pytest.mark.parametrize("assignment", list(TARGETS))
def test_the_assignment_is_the_instructors_not_the_copys(assignment, child_python, readable_tmp):
    """A blank copy whose marker names another assignment, whose functions it holds intact."""
    other = next(a for a in ASSIGNMENTS if a != assignment)
    copy = make_assignment(assignment, readable_tmp / "c")
    marker = copy / ".assignment.json"
    marker.write_text(json.dumps({**json.loads(marker.read_text()), "assignment": other}))
    python = ["--python", child_python] if child_python else []
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
    "output through a symlink": "import os\nos.symlink('/etc/passwd', 'out.npz')\nos._exit(0)",
    "output as a FIFO": "import os\nos.mkfifo('out.npz')\nos._exit(0)",
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
    assert "cannot read" in messages["output through a symlink"]
    assert "not a regular file" in messages["output as a FIFO"]
    assert "not a valid .npz" in messages["pickled output"]
    assert "missing" in messages["verdict as arrays"]


def test_the_child_runs_unprivileged_with_nothing_of_the_graders_on_its_path(
    solutions, grader, readable_tmp
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
    assert facts["cwd"] == [], "the child's working folder must start empty"
    assert facts["memory"] == 1024
    if AS_ROOT:
        assert facts["uid"] == 65534 and facts["groups"] == [] and not facts["writes"]


def documented_script(name: str) -> str:
    """The ```bash block after ``<!-- name -->`` in docs/assignments.md."""
    text = (ROOT / "docs" / "assignments.md").read_text()
    return text.split(f"<!-- {name} -->", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]


@pytest.mark.skipif(not AS_ROOT, reason="run_autograder runs as root, as on Gradescope")
def test_the_documented_gradescope_recipe(solutions, child_python, readable_tmp):
    """run_autograder from the docs, on a fake /autograder. setup.sh needs the network: its
    'pip install --target' is done by hand (the package copied, its dependencies linked from
    this environment), and its chmod by the script itself."""
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
