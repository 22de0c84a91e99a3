"""Where a run stands (step, epoch, best score, learning rate, ...): saved in every
checkpoint, and read back, every field checked, so a resumed run continues exactly."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from minivae.training import checkpoint as ckpt
from minivae.training.checkpoint import CheckpointError


@dataclass
class Progress:
    """Where a run stands; saved in every checkpoint so a run can resume exactly."""

    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0  # batches of ``epoch`` already done
    best_valid: float = math.inf
    history: list = field(default_factory=list)  # validation rows, for the report
    aggressive: bool = False  # still in He et al.'s aggressive phase
    best_mi: float = -math.inf  # the highest validation MI so far (--aggressive-capped)
    last_mi: float = 0.0  # the MI of the previous check (--aggressive; He et al.'s pre_mi = 0)
    lr: float = 0.0  # the learning rate now (--lr, decayed by --lr-decay)

    def to_meta(self) -> dict:
        """The checkpoint fields (infinities, which JSON lacks, as null)."""
        return {
            "step": self.step,
            "epoch": self.epoch,
            "batch_in_epoch": self.batch_in_epoch,
            "best_valid": self.best_valid if math.isfinite(self.best_valid) else None,
            "history": self.history,
            "aggressive": self.aggressive,
            "best_mi": self.best_mi if math.isfinite(self.best_mi) else None,
            "last_mi": self.last_mi,
            "lr": self.lr,
        }


def read_progress(meta: dict, path, steps_per_epoch: int, default_lr: float) -> Progress:
    """A checkpoint's progress fields, each checked (a crafted file gets an error naming the
    field, not a run that misbehaves later). ``default_lr``: for files older than ``lr``."""
    best = meta.get("best_valid")
    best = math.inf if best is None else ckpt.field(meta, "best_valid", float, path)
    history = ckpt.field(meta, "history", list, path)
    if not all(isinstance(row, dict) for row in history):
        raise CheckpointError(f"checkpoint {path}: history must be a list of objects")
    best_mi = meta.get("best_mi")
    best_mi = -math.inf if best_mi is None else ckpt.field(meta, "best_mi", float, path)
    # files older than last_mi were never in He et al.'s phase (only the capped variant)
    last_mi = 0.0 if meta.get("last_mi") is None else ckpt.field(meta, "last_mi", float, path)
    lr = default_lr if meta.get("lr") is None else ckpt.field(meta, "lr", float, path)
    if lr <= 0:  # field() has already refused what is not a finite float
        raise CheckpointError(
            f"checkpoint {path}: field 'lr' (the learning rate) must be positive, got {lr!r}"
        )
    step = ckpt.field(meta, "step", int, path, 0)
    epoch = ckpt.field(meta, "epoch", int, path, 0)
    batch_in_epoch = ckpt.field(meta, "batch_in_epoch", int, path, 0, steps_per_epoch)
    check_step(step, epoch, batch_in_epoch, steps_per_epoch, path)
    return Progress(
        step=step,
        epoch=epoch,
        batch_in_epoch=batch_in_epoch,
        best_valid=best,
        history=history,
        aggressive=ckpt.field(meta, "aggressive", bool, path),
        best_mi=best_mi,
        last_mi=last_mi,
        lr=lr,
    )


def check_step(step: int, epoch: int, batch_in_epoch: int, steps_per_epoch: int, path) -> None:
    """Every step is a batch of an epoch: the step count must be the epochs done times the
    steps per epoch plus the batches of this one (a step of 1e30 is a crafted file, or data
    that changed since the run began)."""
    expected = epoch * steps_per_epoch + batch_in_epoch
    if step != expected:
        raise CheckpointError(
            f"checkpoint {path}: step {step} does not follow from epoch {epoch} and batch "
            f"{batch_in_epoch} at {steps_per_epoch} steps per epoch (expected {expected}): "
            "the file was altered, or the training data changed since the run began"
        )
