"""Pieces shared by the commands that use a trained checkpoint."""

from __future__ import annotations

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
    """-> TrainedModel with its parameters on the chosen device (and a warning if they are
    not all finite)."""
    from minivae.backend import resolve_device, xp_for
    from minivae.loading import load_model

    trained = load_model(args.checkpoint)
    xp = xp_for(resolve_device(args.device))
    bad = [k for k, v in trained.params.items() if not bool(xp.isfinite(v).all())]
    if bad:
        print(
            f"minivae: warning: {trained.path} has non-finite weights ({', '.join(bad[:3])}): "
            "its numbers and samples are meaningless",
            file=sys.stderr,
        )
    return trained._replace(params={k: xp.asarray(v) for k, v in trained.params.items()})


def fail(command: str, error: Exception) -> int:
    print(f"minivae {command}: error: {error}", file=sys.stderr)
    return 2
