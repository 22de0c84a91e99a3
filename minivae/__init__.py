"""minivae: a text variational autoencoder written from scratch in array code.

``minivae.load(path)`` gives a trained model to use from Python (see ``minivae.api``).
"""

__version__ = "0.1.0"


def _refuse_to_grade_from_inside_a_copy() -> None:
    """``python -m minivae assignment ...`` run as root from inside a student's copy (made by
    ``minivae assignment make``, with its marker beside this package) imports the copy's
    package, not the grader's: Python looks in the current folder first. Stop here, before
    any module of the copy that a student writes is imported, rather than run it as root.
    (Students running their own copy as root, in a container, are not stopped: only the
    grader's command.)"""
    import os
    import sys

    argv = getattr(sys, "argv", [])
    if argv[:2] != ["-m", "assignment"] or getattr(os, "geteuid", lambda: 1)() != 0:
        return
    copy = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if os.path.lexists(os.path.join(copy, ".assignment.json")):
        sys.stderr.write(
            f"minivae assignment: error: this minivae is the student's copy in {copy}, "
            "imported because Python looks in the current folder first; its code must not "
            "run as root: run the grader from another folder (cd /)\n"
        )
        raise SystemExit(2)


_refuse_to_grade_from_inside_a_copy()


def __getattr__(name):
    # Loaded on first use: ``import minivae`` stays light (no NumPy, Numba, matplotlib).
    if name in ("load", "Model"):
        from minivae import api

        return getattr(api, name)
    raise AttributeError(f"module 'minivae' has no attribute {name!r}")
