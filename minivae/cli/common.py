"""Pieces shared by the commands that use a trained checkpoint."""

from __future__ import annotations

import sys


def add_checkpoint_args(p) -> None:
    p.add_argument(
        "checkpoint", help="a checkpoint .npz written by minivae train (or a run folder)"
    )
    p.add_argument("--device", default="auto", choices=["cpu", "gpu", "auto"])
    p.add_argument("--seed", type=int, default=0)


def load_for_use(args):
    """-> (params on the chosen device, model config, vocab, meta, array module)"""
    from pathlib import Path

    from minivae.backend import resolve_device, xp_for
    from minivae.training.trainer import load_model

    path = Path(args.checkpoint)
    if path.is_dir():
        path = path / "best.npz"
    params, config, vocab, meta = load_model(path)
    xp = xp_for(resolve_device(args.device))
    return {k: xp.asarray(v) for k, v in params.items()}, config, vocab, meta, xp


def encode_text(vocab, text: str, lowercase: bool):
    """One sentence typed by a person -> (tokens (1, T), lengths (1,)); all-unknown is an error."""
    import numpy as np

    from minivae.data import UNK, tokenize

    words = tokenize(text, lowercase=lowercase)
    if not words:
        raise ValueError(f"the sentence {text!r} is empty")
    ids = vocab.encode(words)
    if all(i == UNK for i in ids):
        raise ValueError(f"every word of {text!r} is unknown to the model's vocabulary")
    return np.array([ids], dtype=np.int64), np.array([len(ids)])


def fail(command: str, error: Exception) -> int:
    print(f"minivae {command}: error: {error}", file=sys.stderr)
    return 2
