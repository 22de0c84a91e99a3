"""A run folder: the files a run owns, made ready before any work is done, and the checks
and clean-up of what a resumed run reads back (optimizer state, metrics rows past the
checkpoint)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from minivae.files import make_writable_folder
from minivae.training import checkpoint as ckpt
from minivae.training.checkpoint import CheckpointError
from minivae.training.lock import lock_run_folder

RUN_FILES = (
    "best.npz",
    "last.npz",
    "metrics.jsonl",
    "report.json",
    "curves.png",
    "latent.png",
    "attention.png",  # a translation model's (minivae.translation.tasks)
)
TRAINED = "train"  # with --ema, the trained weights' prefix in a checkpoint's optimizer state


def field_of(meta: dict, key: str, path) -> dict:
    return ckpt.field(meta, key, dict, path)


def check_optimizer_state(optim: dict, params: dict, optimizer, path) -> None:
    """The optimizer's arrays must be exactly those of its parameters: every slot of every
    one, same shapes and dtypes (a fused kernel must never be handed arrays it could write
    past, and a missing one would restart from zeros: the run would not continue exactly)."""
    expected = {f"{p}.{s}": params[p] for p in params for s in optimizer.SLOTS}
    if not optim and expected:
        raise CheckpointError(
            f"checkpoint {path} has no optimizer state: resuming would restart the optimizer "
            "from zeros and not continue the run exactly"
        )
    check_same_arrays(optim, expected, path, "optimizer state", "parameter")


def check_trained_weights(trained: dict, params: dict, path) -> None:
    """With ``--ema`` a checkpoint's parameters are the average and the trained weights
    travel as state: they must be there, one per parameter, same shape and dtype, finite."""
    check_same_arrays(trained, params, path, "trained-weight state (--ema)", "average")
    for name, w in trained.items():
        if not np.isfinite(w).all():
            raise CheckpointError(f"checkpoint {path}: trained weight {name} is not finite")


def pop_trained_weights(optim: dict, params: dict, path) -> dict:
    """With ``--ema`` the file's parameters are the average and the trained weights travel
    as optimizer state (``train.<name>``): take them out of ``optim``, checked."""
    prefix = TRAINED + "."
    trained = {k[len(prefix) :]: optim.pop(k) for k in list(optim) if k.startswith(prefix)}
    check_trained_weights(trained, params, path)
    return trained


def restore_optimizers(optimizers: dict, groups: dict, optim: dict, meta: dict, params, path, xp):
    """Load each optimizer group's slots (``<group>.<param>.<slot>``) and step count from a
    checkpoint; state of no group, or not matching its parameters, is refused."""
    counts = ckpt.field(field_of(meta, "optimizer", path), "step_counts", dict, path)
    stray = sorted(k for k in optim if not k.startswith(tuple(f"{g}." for g in optimizers)))
    if stray:
        raise CheckpointError(f"checkpoint {path}: unexpected optimizer state {stray[:5]}")
    for group, opt in optimizers.items():
        count = ckpt.field(counts, group, int, path, 0)
        state = {k[len(group) + 1 :]: v for k, v in optim.items() if k.startswith(group + ".")}
        check_optimizer_state(state, {n: params[n] for n in groups[group]}, opt, path)
        opt.load_state_dict({k: xp.asarray(v) for k, v in state.items()}, count)


def check_same_arrays(found: dict, expected: dict, path, what: str, owner: str) -> None:
    """``found`` must hold exactly ``expected``'s keys, each of the same shape and dtype."""
    missing, extra = sorted(set(expected) - set(found)), sorted(set(found) - set(expected))
    if missing or extra:
        raise CheckpointError(
            f"checkpoint {path}: {what} does not match the parameters: missing "
            f"{missing[:5]}, unexpected {extra[:5]}"
        )
    for key, p in expected.items():
        a = found[key]
        if a.shape != p.shape or a.dtype != p.dtype:
            raise CheckpointError(
                f"checkpoint {path}: {what} {key} is {a.dtype} {a.shape}, its {owner} "
                f"{p.dtype} {p.shape}"
            )


def prepare_out(out: Path, overwrite: bool, fresh: bool = True):
    """Make sure the run folder can be written before any work is done: created, writable,
    not in use by another process (``lock.py``), not another run's (a fresh run into a used
    folder needs ``overwrite``), and free of the temporary files a killed save may have left.
    -> the folder's lock, to keep while the run writes there."""
    try:
        make_writable_folder(out)
    except OSError as e:
        raise ValueError(f"cannot write to the run folder {out}: {e.strerror or e}") from None
    lock = lock_run_folder(out)  # before anything in it is replaced
    used = [name for name in RUN_FILES if (out / name).exists()]
    if fresh and used:
        if not overwrite:
            raise ValueError(
                f"{out} already holds a run ({', '.join(used)}): choose another --out, resume "
                "it with --resume, or pass --overwrite to replace it"
            )
        for name in used:
            (out / name).unlink()
    for tmp in out.glob(".*.tmp"):
        if any(tmp.name.startswith(f".{name}.") for name in RUN_FILES):
            tmp.unlink(missing_ok=True)
    return lock


def check_resume_target(out: Path, own: Path) -> None:
    """A resumed run may continue in another folder (``--resume A --out B``) only if that
    folder holds no run: B's checkpoints and metrics are never replaced by A's."""
    if not out.exists() or out.resolve() == own.resolve():
        return
    used = [name for name in RUN_FILES if (out / name).exists()]
    if used:
        raise ValueError(
            f"{out} already holds another run ({', '.join(used)}): a run resumed from {own} "
            "continues in its own folder or in an empty one; choose another --out"
        )


def drop_rows_after(path: Path, step: int) -> None:
    """Forget metrics rows written after ``step`` (a run killed after its last checkpoint
    resumes from that step, and would write those rows again)."""
    if not path.exists():
        return
    lines = path.read_text().splitlines()
    kept = []
    for line in lines:
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # a row cut short by the kill
        if isinstance(row, dict) and isinstance(row.get("step"), int) and row["step"] <= step:
            kept.append(line)
    if len(kept) != len(lines):
        text = "".join(line + "\n" for line in kept)
        ckpt.write_atomic(path, lambda f: f.write(text.encode("utf-8")))
