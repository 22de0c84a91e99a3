"""The process that runs one item's functions from a student's copy. It judges nothing.

The grader copies this file, and the ``items`` package as ``_minivae_items``, into a folder of
its own, and its supervisor runs

    python -I -S -B child.py [--processes N] STUDENT_DIR [SITE_DIR ...]
                                                    (or --probe [SITE_DIR ...])

with the item's request on stdin (an .npz: the task's name, its inputs, the points of a
gradient check) and an empty working folder as the current one. The child puts this folder,
the student's copy and the site folders (NumPy, nothing of the grader's minivae) on sys.path,
evaluates the task with the student's minivae (``items.evaluate``) and writes the arrays to
``out.npz``, or the error that stopped it as ``error``. The grader compares those arrays with
reference values the child never sees: nothing written here can pass for a verdict, so
nothing here has to be trusted.

With ``--probe`` it checks its surroundings instead, with no student code on its path: that
NumPy imports, and which of the paths named on stdin it can read.

Only the copy's source runs: no bytecode is written (``-B``) or read (``__pycache__`` is
looked for under an empty ``pycache_prefix`` instead), and the copy's folders are imported
from ``.py`` files alone (no ``.pyc`` without source, no compiled extension). ``--processes``
caps the processes of the child's user, this one and all it starts: in its own user
namespace (a confined grading) that count is the sandbox's alone.
"""

import io
import os
import sys

sys.dont_write_bytecode = True
sys.pycache_prefix = "/nonexistent/minivae-no-bytecode"  # never read a copy's __pycache__
OUT = os.path.join(os.getcwd(), "out.npz")  # here, wherever the student's code moves to


def _source_only(folder: str) -> None:
    """Import from ``folder`` and below it through ``.py`` files alone."""
    from importlib.machinery import SOURCE_SUFFIXES, FileFinder, SourceFileLoader

    inside = os.path.realpath(folder)
    source_hook = FileFinder.path_hook((SourceFileLoader, SOURCE_SUFFIXES))

    def hook(path: str):
        real = os.path.realpath(path or ".")
        if real == inside or real.startswith(inside + os.sep):
            return source_hook(path)
        raise ImportError  # not the copy's: the next hook (the standard one) takes it

    sys.path_hooks.insert(0, hook)
    sys.path_importer_cache.clear()


def _save(arrays: dict) -> None:
    """Write the arrays into out.npz (the grader made it; in a sandbox it cannot be replaced)
    and end at once: no thread or exit handler of the student's runs on."""
    import numpy as np

    with open(OUT, "r+b") as f:
        f.truncate(0)
        np.savez(f, **arrays)
    os._exit(0)


def _request() -> dict:
    import numpy as np

    with np.load(io.BytesIO(sys.stdin.buffer.read()), allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def probe() -> None:
    import numpy as np

    paths = [str(p) for p in _request()["paths"]]
    readable = [os.access(p, os.R_OK) for p in paths]
    _save({"numpy": np.array(np.__version__), "readable": np.array(readable, dtype=bool)})


def run(student_dir: str) -> None:
    import numpy as np
    from _minivae_items import describe_error, evaluate, load_task, parse_request

    try:
        task_ref, inputs, points = parse_request(_request())
        import minivae

        where = os.path.realpath(minivae.__file__)
        if not where.startswith(os.path.realpath(student_dir) + os.sep):
            raise ImportError(f"import minivae found {where}, not the student's copy")
        arrays = evaluate(load_task(task_ref), inputs, points)
    except BaseException as e:  # noqa: BLE001 - SystemExit and KeyboardInterrupt included
        arrays = {"error": np.array(describe_error(e, student_dir))}
    _save(arrays)


def main() -> None:
    args = sys.argv[1:]
    sys.argv = sys.argv[:1]  # nothing for the student's code to read back
    if args[:1] == ["--processes"]:
        import resource

        count = int(args[1])
        resource.setrlimit(resource.RLIMIT_NPROC, (count, count))
        args = args[2:]
    here = os.path.dirname(os.path.abspath(__file__))
    if args[:1] == ["--probe"]:  # no student code on the path
        sys.path[:0] = [here]
        sys.path.extend(args[1:])
        probe()
        return
    student_dir, *site_dirs = args
    _source_only(student_dir)
    sys.path[:0] = [here, student_dir]
    sys.path.extend(site_dirs)
    run(student_dir)


if __name__ == "__main__":
    main()
