"""Pieces shared by the commands that use a trained checkpoint."""

from __future__ import annotations

import os
import sys

USE_ERRORS = (ValueError, OSError)  # CheckpointError, CorpusError, DeviceError are ValueErrors


def add_checkpoint_args(p, seed_default=0, seed_help="random seed of the draws") -> None:
    p.add_argument(
        "checkpoint",
        help="a checkpoint .npz written by minivae train (or a run folder: its best.npz)",
    )
    p.add_argument("--device", default="auto", choices=["cpu", "gpu", "auto"], help="where to run")
    p.add_argument(
        "--kernel",
        default="auto",
        choices=["auto", "fused", "array"],
        help="fused Numba kernels where they run, or the array code",
    )
    p.add_argument("--seed", type=int, default=seed_default, help=seed_help)


def load_for_use(args):
    """-> TrainedModel with its parameters on the chosen device; a checkpoint with weights
    that are not all finite is refused (its numbers and samples would be meaningless)."""
    from minivae.backend import resolve_device, xp_for
    from minivae.loading import load_model
    from minivae.training.checkpoint import check_finite

    trained = load_model(args.checkpoint)
    xp = xp_for(resolve_device(args.device))
    check_finite(trained.params, trained.path)
    return trained._replace(params={k: xp.asarray(v) for k, v in trained.params.items()})


def fail(command: str, error: Exception) -> int:
    print(f"minivae {command}: error: {error}", file=sys.stderr)
    return 2


def tolerant_output() -> None:
    """Words a terminal's encoding cannot show (``PYTHONIOENCODING=ascii``, a C locale) are
    written as escapes rather than raising UnicodeEncodeError halfway through the output."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError):  # not a text file of ours (a notebook's, say)
            pass


def closed_pipe() -> int:
    """The reader of our output went away (``minivae sample ... | head -1``): stop quietly,
    as the Python docs advise (signal module, "Note on SIGPIPE"): point stdout at devnull so
    that the flush at exit does not fail again, and exit 1."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout without a file descriptor
        pass
    return 1
