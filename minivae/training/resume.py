"""Resuming a run: a checkpoint's model, weights, optimizer state, noise generator and
progress put back into a ``Trainer``, so the run goes on exactly where it stopped.

The checkpoint is read and its model found by the layer above (``minivae.loading``, which
knows every model family through the registry); this module knows only the model interface.
What a resumed run may change is ``RESUMABLE``; everything else comes from the checkpoint.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

import numpy as np

from minivae.backend import make_rng, resolve_device, xp_for
from minivae.training.checkpoint import CheckpointError, check_finite
from minivae.training.progress import read_progress
from minivae.training.run_folder import (
    check_resume_target,
    drop_rows_after,
    pop_trained_weights,
    prepare_out,
    restore_optimizers,
)

# What a resumed run may change: how long to train, where to run and which kernels.
RESUMABLE = {"epochs", "max_minutes", "device", "kernel"}


class ResumePoint(NamedTuple):
    """A checkpoint read for a resume: ``trained`` (``minivae.loading.TrainedModel``: the
    model, its host parameters, vocabularies, run config, meta and path) and the optimizer
    state saved with it."""

    trained: object
    optim: dict


def resume(trainer, point: ResumePoint, out, overrides: dict) -> None:
    """Fill ``trainer`` from ``point``: its settings win, except ``overrides`` (RESUMABLE);
    the run continues in its own folder unless ``out`` says otherwise."""
    trained, optim = point.trained, point.optim
    params, meta, path = trained.params, trained.meta, trained.path
    check_finite(params, path)
    check_finite(optim, path, "optimizer state")
    if "noise_rng_state" not in meta:
        raise CheckpointError(
            f"checkpoint {path} has no random state (noise_rng_state): the run would not "
            "continue exactly"
        )
    unknown = set(overrides) - RESUMABLE
    if unknown:
        raise ValueError(f"a resumed run keeps its settings; cannot change {sorted(unknown)}")
    saved = replace(trained.train_config, **overrides, out=str(out or Path(path).parent))
    trainer.device = resolve_device(saved.device)
    trainer.xp = xp = xp_for(trainer.device)
    trainer.cfg, trainer.out, trainer.model = saved, Path(saved.out), trained.model
    check_resume_target(trainer.out, Path(path).parent)
    trainer.lock = prepare_out(trainer.out, overwrite=True, fresh=False)
    trainer.data = saved.prepare_data(vocab=trained.vocab, condition=trained.condition)
    if len(trainer.data.vocab) != trainer.model.vocab_size:
        raise CheckpointError(f"{path}: the data's vocabulary does not fit the model")
    trainer.params = {k: xp.asarray(v) for k, v in params.items()}
    trainer.averaged = None
    if saved.ema:  # the file's parameters are the average; the trained ones are state
        trainer.averaged = trainer.params
        weights = pop_trained_weights(optim, params, path)
        trainer.params = {k: xp.asarray(v) for k, v in weights.items()}
    trainer._make_optimizers()
    restore_optimizers(trainer.optimizers, trainer.groups, optim, meta, params, path, xp)
    trainer.noise_rng = make_rng(saved.seed, trainer.device)
    state = meta.get("noise_rng_state")
    if state is not None and isinstance(trainer.noise_rng, np.random.Generator):
        try:
            trainer.noise_rng.bit_generator.state = state
        except (TypeError, ValueError, KeyError) as e:
            raise CheckpointError(f"checkpoint {path}: bad random state ({e})") from None
    trainer.progress = read_progress(meta, path, trainer.steps_per_epoch, saved.lr)
    trainer._set_lr(trainer.progress.lr)
    drop_rows_after(trainer.out / "metrics.jsonl", trainer.progress.step)
    p = trainer.progress
    trainer.log(f"resumed from {path} at step {p.step} (epoch {p.epoch + 1})")
