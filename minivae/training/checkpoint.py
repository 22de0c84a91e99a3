"""Checkpoints: one ``.npz`` of arrays (no pickle) with the run's JSON inside, written atomically.

Layout inside the archive: ``param/<name>`` and ``optim/<key>`` arrays, and ``meta.json``
(UTF-8 bytes as a uint8 array) with the format tag, config, vocabulary, step and RNG state.
Writing goes to a temporary file in the same folder, then ``os.replace``: a crash leaves
either the old checkpoint or the new one, never half a file.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from minivae.backend import to_numpy

FORMAT = "minivae-checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: missing, corrupt, truncated, foreign or mismatched."""


def save_checkpoint(path, params: dict, meta: dict, optim_state: dict | None = None) -> Path:
    """Write params, optimizer state and JSON-able ``meta`` to ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"format": FORMAT, "version": VERSION, **meta}
    arrays = {f"param/{k}": to_numpy(v) for k, v in params.items()}
    arrays.update({f"optim/{k}": to_numpy(v) for k, v in (optim_state or {}).items()})
    arrays["meta.json"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path) -> tuple[dict, dict, dict]:
    """-> (params, meta, optim_state), all arrays on the host.  Never unpickles anything."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"checkpoint {path} does not exist"
            if not path.exists()
            else f"checkpoint {path} is not a file"
        )
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in archive.files}
    except (zipfile.BadZipFile, EOFError, OSError, KeyError) as e:
        raise CheckpointError(f"checkpoint {path} is corrupt or truncated ({e})") from None
    except ValueError as e:  # np.load's refusal of pickled object arrays, among others
        raise CheckpointError(f"checkpoint {path} cannot be read safely ({e})") from None
    if "meta.json" not in arrays:
        raise CheckpointError(f"{path} is not a minivae checkpoint (no meta.json inside)")
    try:
        meta = json.loads(arrays.pop("meta.json").tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"checkpoint {path} has unreadable metadata ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(
            f"{path} is not a minivae checkpoint (format "
            f"{meta.get('format') if isinstance(meta, dict) else None!r})"
        )
    if meta.get("version") != VERSION:
        raise CheckpointError(
            f"{path} has checkpoint version {meta.get('version')}, this "
            f"minivae reads version {VERSION}"
        )
    params = {k.removeprefix("param/"): v for k, v in arrays.items() if k.startswith("param/")}
    optim = {k.removeprefix("optim/"): v for k, v in arrays.items() if k.startswith("optim/")}
    return params, meta, optim


def check_param_shapes(params: dict, expected: dict, path) -> None:
    """Every expected parameter present with its shape, and nothing else."""
    missing = sorted(set(expected) - set(params))
    extra = sorted(set(params) - set(expected))
    if missing or extra:
        raise CheckpointError(
            f"checkpoint {path} does not match the model: missing parameters "
            f"{missing}, unexpected {extra}"
        )
    for name, shape in expected.items():
        if tuple(params[name].shape) != tuple(shape):
            raise CheckpointError(
                f"checkpoint {path}: parameter {name} has shape "
                f"{tuple(params[name].shape)}, the model needs {tuple(shape)}"
            )
