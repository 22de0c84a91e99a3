"""The process that runs one item's functions from a student's copy. It judges nothing.

The grader copies this file, and the ``items`` package as ``_minivae_items``, into a folder of
its own, and its supervisor runs

    python -I -S child.py STUDENT_DIR [SITE_DIR ...]     (or --probe [SITE_DIR ...])

with the item's request on stdin (an .npz: the task's name, its inputs, the points of a
gradient check) and an empty working folder as the current one. The child puts this folder,
the student's copy and the site folders (NumPy, nothing of the grader's minivae) on sys.path,
evaluates the task with the student's minivae (``items.evaluate``) and writes the arrays to
``out.npz``, or the error that stopped it as ``error``. The grader compares those arrays with
reference values the child never sees: nothing written here can pass for a verdict, so
nothing here has to be trusted.

With ``--probe`` it checks its surroundings instead, with no student code on its path: that
NumPy imports, and which of the paths named on stdin it can read.
"""

import io
import os
import sys

OUT = os.path.join(os.getcwd(), "out.npz")  # here, wherever the student's code moves to


def _save(arrays: dict) -> None:
    """Write the arrays and end at once: no thread or exit handler of the student's runs on."""
    import numpy as np

    with open(OUT + ".part", "wb") as f:
        np.savez(f, **arrays)
    os.replace(OUT + ".part", OUT)
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
    here = os.path.dirname(os.path.abspath(__file__))
    if args[:1] == ["--probe"]:  # no student code on the path
        sys.path[:0] = [here]
        sys.path.extend(args[1:])
        probe()
        return
    student_dir, *site_dirs = args
    sys.path[:0] = [here, student_dir]
    sys.path.extend(site_dirs)
    run(student_dir)


if __name__ == "__main__":
    main()
