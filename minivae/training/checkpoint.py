"""Checkpoints: one ``.npz`` of arrays (no pickle) with the run's JSON inside, written atomically.

Layout inside the archive: ``param/<name>`` and ``optim/<key>`` arrays, and ``meta.json``
(UTF-8 bytes as a uint8 array) with the format tag, the model (kind and config), the
training config, the vocabularies, the progress and the random state.

Writing goes to a temporary file in the same folder, then ``os.replace``: a crash leaves
either the old checkpoint or the new one, never half a file. Reading trusts nothing: every
array's header is checked against the bytes actually stored before anything is allocated,
the JSON is size- and depth-limited, and every field is checked by ``read_model`` or the
trainer. Anything wrong is a ``CheckpointError`` that names the file.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import tokenize
import zipfile
from pathlib import Path

import numpy as np

from minivae.backend import to_numpy

FORMAT = "minivae-checkpoint"
VERSION = 2
MAX_META_BYTES = 64 << 20  # a vocabulary of a million words fits many times over
MAX_JSON_DEPTH = 32
HEADER_READERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: missing, corrupt, truncated, foreign or mismatched."""


def write_atomic(path, write, mode: int = 0o666) -> Path:
    """Write a file through ``write(binary file)`` into a temporary file beside it, then
    rename it over ``path``: readers see the old file or the new one, never half of one.

    The file gets the usual permissions (``mode`` less the umask), not mkstemp's 0600.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, mode & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json_atomic(path, obj) -> Path:
    text = json.dumps(obj, indent=2) + "\n"
    return write_atomic(path, lambda f: f.write(text.encode("utf-8")))


def save_checkpoint(path, params: dict, meta: dict, optim_state: dict | None = None) -> Path:
    """Write params, optimizer state and JSON-able ``meta`` to ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"format": FORMAT, "version": VERSION, **meta}
    arrays = {f"param/{k}": to_numpy(v) for k, v in params.items()}
    arrays.update({f"optim/{k}": to_numpy(v) for k, v in (optim_state or {}).items()})
    raw = json.dumps(meta).encode("utf-8")
    check_meta_size(len(raw), path)  # never write what load_checkpoint would refuse
    arrays["meta.json"] = np.frombuffer(raw, dtype=np.uint8)
    return write_atomic(path, lambda f: np.savez(f, **arrays))


def check_meta_size(size: int, path) -> None:
    """A checkpoint's metadata (vocabularies, settings, history) must fit ``MAX_META_BYTES``,
    the most ``load_checkpoint`` reads: a run whose checkpoint could not be loaded back is
    refused before it trains (``Trainer``), and such a file is never written."""
    if size > MAX_META_BYTES:
        raise CheckpointError(
            f"the checkpoint {path} would hold {size / 2**20:.1f} MiB of metadata (mostly the "
            f"vocabulary), above the {MAX_META_BYTES / 2**20:.0f} MiB a checkpoint may hold: "
            "it could not be loaded back. Use --max-vocab or --min-count for a smaller "
            "vocabulary"
        )


def _read_arrays(path: Path) -> dict:
    """The archive's arrays, each header checked against the bytes stored before reading."""
    arrays = {}
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if not info.filename.endswith(".npy"):
                raise CheckpointError(f"{path}: unexpected member {info.filename!r}")
            with archive.open(info) as f:
                read_header = HEADER_READERS.get(np.lib.format.read_magic(f))
                if read_header is None:
                    raise CheckpointError(f"{path}: {info.filename} has an unknown .npy version")
                try:
                    shape, fortran, dtype = read_header(f)
                except (ValueError, TypeError, SyntaxError, tokenize.TokenError) as e:
                    # numpy parses the header as a Python literal: a damaged one fails there
                    raise CheckpointError(
                        f"{path}: {info.filename} has a damaged array header ({e}): the file "
                        "is corrupt or crafted"
                    ) from None
                if dtype.hasobject:
                    raise CheckpointError(f"{path}: {info.filename} holds Python objects")
                claimed = math.prod(shape) * dtype.itemsize
                stored = info.file_size - f.tell()
                if claimed != stored:
                    raise CheckpointError(
                        f"{path}: {info.filename} claims {claimed} bytes of data but holds "
                        f"{stored}: the file is corrupt or crafted"
                    )
                raw = bytearray(f.read(stored))  # writable, unlike bytes
                data = np.frombuffer(raw, dtype=dtype, count=math.prod(shape))
                order = "F" if fortran else "C"
                arrays[info.filename.removesuffix(".npy")] = data.reshape(shape, order=order)
    return arrays


def _depth(obj, limit: int) -> int:
    """Nesting depth of JSON data, without recursing past ``limit``."""
    stack, deepest = [(obj, 1)], 0
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        )
        stack.extend((child, depth + 1) for child in children)
    return deepest


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
        arrays = _read_arrays(path)
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, KeyError, ValueError) as e:
        raise CheckpointError(f"checkpoint {path} is corrupt or truncated ({e})") from None
    except MemoryError:
        raise CheckpointError(f"checkpoint {path} is too large to load") from None
    raw = arrays.pop("meta.json", None)
    if raw is None:
        raise CheckpointError(f"{path} is not a minivae checkpoint (no meta.json inside)")
    if raw.dtype != np.uint8 or raw.ndim != 1 or raw.size > MAX_META_BYTES:
        raise CheckpointError(f"checkpoint {path} has unreadable metadata (not JSON bytes)")
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise CheckpointError(f"checkpoint {path} has unreadable metadata ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(
            f"{path} is not a minivae checkpoint (format "
            f"{meta.get('format') if isinstance(meta, dict) else None!r})"
        )
    if meta.get("version") != VERSION:
        raise CheckpointError(
            f"{path} has checkpoint version {meta.get('version')!r}, this "
            f"minivae reads version {VERSION}"
        )
    if _depth(meta, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise CheckpointError(f"checkpoint {path} has metadata nested too deeply")
    params = {k.removeprefix("param/"): v for k, v in arrays.items() if k.startswith("param/")}
    optim = {k.removeprefix("optim/"): v for k, v in arrays.items() if k.startswith("optim/")}
    return params, meta, optim


def field(meta: dict, key: str, kind, path, low=None, high=None):
    """``meta[key]``, required to be of ``kind`` (and within [low, high] for numbers)."""
    value = meta.get(key) if isinstance(meta, dict) else None
    ok = isinstance(value, kind) and not (isinstance(value, bool) and kind in (int, float))
    if ok and isinstance(value, int | float):
        ok = (
            math.isfinite(value)
            and (low is None or value >= low)
            and (high is None or value <= high)
        )
    if not ok:
        bounds = f" in [{low}, {high}]" if low is not None or high is not None else ""
        raise CheckpointError(
            f"checkpoint {path}: field {key!r} must be a {getattr(kind, '__name__', kind)}"
            f"{bounds}, got {value!r}"[:300]
        )
    return value


def check_finite(arrays: dict, path, what: str = "parameter") -> None:
    """Refuse a checkpoint holding NaN or infinite numbers: its run had diverged, and every
    number computed from it would be meaningless."""
    for name, a in arrays.items():
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            raise CheckpointError(
                f"checkpoint {path}: {what} {name} holds NaN or infinite values (its run had "
                "diverged); use an earlier checkpoint of the run, such as its best.npz"
            )


def check_param_shapes(params: dict, expected: dict, path) -> None:
    """Every expected parameter present with its shape and a float dtype, and nothing else."""
    missing = sorted(set(expected) - set(params))
    extra = sorted(set(params) - set(expected))
    if missing or extra:
        raise CheckpointError(
            f"checkpoint {path} does not match the model: missing parameters "
            f"{missing}, unexpected {extra}"
        )
    dtypes = {params[name].dtype for name in expected}
    for name, shape in expected.items():
        p = params[name]
        if tuple(p.shape) != tuple(shape):
            raise CheckpointError(
                f"checkpoint {path}: parameter {name} has shape "
                f"{tuple(p.shape)}, the model needs {tuple(shape)}"
            )
        if p.dtype not in (np.float32, np.float64):
            raise CheckpointError(
                f"checkpoint {path}: parameter {name} has dtype {p.dtype}, not float32/float64"
            )
    if len(dtypes) > 1:
        raise CheckpointError(
            f"checkpoint {path}: parameters mix dtypes {sorted(map(str, dtypes))}"
        )
