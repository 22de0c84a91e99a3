"""The child process that runs one graded item against a student's copy.

Run by the grader as ``python child.py ITEM CHECK REFERENCE.npz RESULT.json STUDENT_DIR
MEMORY_MB`` with ``PYTHONPATH=STUDENT_DIR``, and a one-time token on stdin. It

1. caps its own address space (RLIMIT_AS), so a runaway allocation is a MemoryError;
2. imports ``minivae`` and refuses to go on unless it is the student's copy;
3. mounts the grader's own ``minivae.gradcheck`` and ``minivae.assignments`` over the
   student's copies, so edits there change nothing: only the blanked functions are
   the student's;
4. runs the check and writes ``{"token", "item", "passed", "message"}`` to RESULT.json.

The verdict goes to a file, never to stdout, and carries the token, so whatever the
student's code prints, or writes before it exits early, cannot pass for a verdict.
This file imports only the standard library at the top: it runs as a script.
"""

import json
import os
import sys
import traceback


def _limit_memory(megabytes: int) -> None:
    try:
        import resource
    except ImportError:  # not Linux/Unix: no limit
        return
    limit = megabytes * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _mount(name: str, path: str, package: bool) -> None:
    """Load the grader's file ``path`` as module ``name``, in place of the student's."""
    import importlib.util

    locations = [os.path.dirname(path)] if package else None
    spec = importlib.util.spec_from_file_location(name, path, submodule_search_locations=locations)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)


def _short(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}".strip()
    return text if len(text) <= 300 else text[:297] + "..."


def _where(error: BaseException, student_dir: str) -> str:
    """' (at minivae/ops/lstm.py:42)': the innermost frame in the student's code."""
    frames = [
        f for f in traceback.extract_tb(error.__traceback__) if f.filename.startswith(student_dir)
    ]
    if not frames:
        return ""
    return f" (at {os.path.relpath(frames[-1].filename, student_dir)}:{frames[-1].lineno})"


def run_item(check_ref: str, reference: str, student_dir: str) -> tuple[bool, str]:
    import numpy as np

    from minivae.assignments.checks import CheckFailed, load_check
    from minivae.gradcheck import rel_error

    check = load_check(check_ref)
    with np.load(reference, allow_pickle=False) as data:
        inputs = {k[3:]: np.array(data[k]) for k in data.files if k.startswith("in.")}
        expected = {k[4:]: np.array(data[k]) for k in data.files if k.startswith("out.")}
    try:
        if check.verify is not None:
            check.verify({k: v.copy() for k, v in inputs.items()})
        got = check.compute({k: v.copy() for k, v in inputs.items()})
        for name, want in expected.items():
            value = got.get(name)
            if value is None:
                raise CheckFailed(f"{name} is None: is the function finished?")
            value = np.asarray(value)
            if value.shape != want.shape:
                raise CheckFailed(f"{name} has shape {value.shape}, expected {want.shape}")
            if not np.all(np.isfinite(value)):
                raise CheckFailed(f"{name} has non-finite values")
            error = rel_error(value, want)
            if not error <= check.tol:
                raise CheckFailed(
                    f"{name} differs from the reference values (max rel error {error:.1e})"
                )
    except CheckFailed as e:
        return False, str(e)
    except NotImplementedError as e:
        return False, f"not implemented yet ({e})"
    except MemoryError as e:
        return False, f"ran out of memory{_where(e, student_dir)}"
    except BaseException as e:  # noqa: BLE001 - SystemExit and KeyboardInterrupt included
        return False, f"raised {_short(e)}{_where(e, student_dir)}"
    return True, "ok"


def main() -> int:
    item, check_ref, reference, result_path, student_dir, memory_mb = sys.argv[1:7]
    token = sys.stdin.readline().strip()
    sys.argv = sys.argv[:1]  # nothing for the student's code to read back
    del sys.path[0]  # this script's folder: the grader's minivae/assignments
    grader_pkg = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    student_dir = os.path.realpath(student_dir) + os.sep
    _limit_memory(int(memory_mb))

    import minivae

    where = os.path.realpath(minivae.__file__)
    if not where.startswith(student_dir):
        passed, message = False, f"import minivae found {where}, not the student's copy"
    else:
        _mount("minivae.gradcheck", os.path.join(grader_pkg, "gradcheck", "core.py"), package=False)
        assignments = os.path.join(grader_pkg, "assignments", "__init__.py")
        _mount("minivae.assignments", assignments, package=True)
        passed, message = run_item(check_ref, reference, student_dir)
    verdict = {"token": token, "item": item, "passed": passed, "message": message}
    with open(result_path, "w") as f:
        json.dump(verdict, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
