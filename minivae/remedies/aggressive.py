"""Aggressive encoder training (He et al. 2019, "Lagging Inference Networks and Posterior
Collapse in Variational Autoencoders"): while the phase lasts, every decoder update is
preceded by encoder-only updates on other batches until the encoder's loss stops falling;
the phase ends once the validation mutual information stops rising."""

from __future__ import annotations

import math

import numpy as np


def train_encoder(trainer, batches) -> None:
    """He et al.'s inner loop: encoder-only updates on random training ``batches``, at most
    ``aggressive_steps``, until the mean loss of the last 5 is no lower than of the 5
    before. The batches are drawn by (seed, step), so a resumed run draws the same."""
    c, p = trainer.cfg, trainer.progress
    pick = np.random.default_rng([c.seed, p.step, 1])
    losses = []
    for i in range(c.aggressive_steps):
        terms, grads = trainer.loss_and_grads(batches[pick.integers(len(batches))])
        grads = {k: g for k, g in grads.items() if k in trainer.groups["encoder"]}
        norm = trainer.clip(grads)
        if not (math.isfinite(terms.loss) and math.isfinite(norm)):
            break  # the outer step reports it
        trainer._step(grads, ("encoder",))
        losses.append(terms.loss)
        if (i + 1) % 5 == 0 and len(losses) >= 10:
            if np.mean(losses[-5:]) >= np.mean(losses[-10:-5]):
                break


def after_validation(progress, row: dict, log) -> None:
    """The phase ends once the validation MI stops rising (``row``: the epoch's validation)."""
    row["aggressive"] = progress.aggressive
    if progress.aggressive:
        if row["mi"] > progress.best_mi:
            progress.best_mi = row["mi"]
        else:
            progress.aggressive = False
            log(f"epoch {progress.epoch}: MI stopped rising; aggressive training ends")
