"""The training loop: batches, KL schedule, clipping, validation, checkpoints, resume.

A run folder holds ``last.npz`` (after every epoch, and every ``save_every`` steps),
``best.npz`` (lowest validation negative ELBO), ``metrics.jsonl`` (one JSON object per
line: training rows every few steps, a validation row per epoch) and the plots.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from minivae.backend import make_rng, resolve_device, xp_for
from minivae.data import Vocab, iterate_batches
from minivae.evaluation import evaluate
from minivae.model import ModelConfig, init_params, loss_and_grads, param_shapes
from minivae.training.checkpoint import (
    CheckpointError,
    check_param_shapes,
    load_checkpoint,
    save_checkpoint,
)
from minivae.training.config import TrainConfig
from minivae.training.dataset import Dataset, prepare_data
from minivae.training.optim import clip_by_global_norm, make_optimizer
from minivae.training.schedules import kl_weight

LOG_EVERY = 10  # steps between training rows in metrics.jsonl


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


@dataclass
class Progress:
    """Where a run stands; saved in every checkpoint so a run can resume exactly."""

    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0  # batches of ``epoch`` already done
    best_valid: float = math.inf
    history: list = field(default_factory=list)  # validation rows, for the report


def model_config_for(cfg: TrainConfig, vocab_size: int) -> ModelConfig:
    return ModelConfig(
        vocab_size=vocab_size,
        embed_dim=cfg.embed_dim,
        hidden_dim=cfg.hidden_dim,
        latent_dim=cfg.latent_dim,
        cell=cfg.cell,
        z_mode=cfg.z_mode,
        share_embeddings=cfg.share_embeddings,
    )


def epoch_batches(encoded, cfg: TrainConfig, epoch: int) -> list:
    """The batches of one epoch: a fixed order for (seed, epoch), so a resumed run sees the same."""
    rng = np.random.default_rng([cfg.seed, epoch])
    return list(iterate_batches(encoded, cfg.batch_size, rng=rng, shuffle=True, bucket=True))


def valid_batches(encoded, batch_size: int) -> list:
    return list(iterate_batches(encoded, batch_size, rng=None, shuffle=False, bucket=True))


class Trainer:
    """Holds a run's data, model, optimizer and progress; ``run()`` trains to the last epoch."""

    def __init__(
        self, cfg: TrainConfig, resume: str | Path | None = None, progress_bar=True, log=print
    ):
        self.log = log
        self.progress_bar = progress_bar
        self.device = resolve_device(cfg.device)
        self.xp = xp_for(self.device)
        if resume is not None:
            self._load(cfg, Path(resume))
        else:
            self.cfg = cfg
            self.data = prepare_data(cfg)
            self.model_config = model_config_for(cfg, len(self.data.vocab))
            self.params = init_params(
                self.model_config, seed=cfg.seed, dtype=np.dtype(cfg.dtype), xp=self.xp
            )
            self.optimizer = make_optimizer(cfg.optimizer, cfg.lr)
            self.noise_rng = make_rng(cfg.seed, self.device)
            self.progress = Progress()
        self.out = Path(self.cfg.out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.steps_per_epoch = max(1, math.ceil(len(self.data.train.ids) / self.cfg.batch_size))

    # -- checkpoints ---------------------------------------------------------------------
    def _meta(self) -> dict:
        p = self.progress
        rng_state = (
            self.noise_rng.bit_generator.state if hasattr(self.noise_rng, "bit_generator") else None
        )
        return {
            "train_config": self.cfg.to_dict(),
            "model_config": self.model_config.to_dict(),
            "vocab": self.data.vocab.to_dict(),
            "step": p.step,
            "epoch": p.epoch,
            "batch_in_epoch": p.batch_in_epoch,
            "best_valid": p.best_valid if math.isfinite(p.best_valid) else None,
            "history": p.history,
            "optimizer": {"name": self.cfg.optimizer, "step_count": self.optimizer.step_count},
            "noise_rng_state": rng_state,
        }

    def save(self, name: str) -> Path:
        return save_checkpoint(
            self.out / name, self.params, self._meta(), self.optimizer.state_dict()
        )

    def _load(self, cfg: TrainConfig, path: Path) -> None:
        if path.is_dir():
            path = path / "last.npz"
        params, meta, optim = load_checkpoint(path)
        if "train_config" not in meta:
            raise CheckpointError(f"{path} is a model checkpoint without training state")
        saved = TrainConfig.from_dict(meta["train_config"])
        # Everything that shapes the run comes from the checkpoint; only how long to train,
        # where to write and which device may change.
        saved.epochs, saved.out, saved.device = cfg.epochs, cfg.out, cfg.device
        self.cfg = saved
        vocab = Vocab.from_dict(meta["vocab"])
        self.data = prepare_data(saved, vocab=vocab)
        self.model_config = ModelConfig.from_dict(meta["model_config"])
        check_param_shapes(params, param_shapes(self.model_config), path)
        self.params = {k: self.xp.asarray(v) for k, v in params.items()}
        self.optimizer = make_optimizer(saved.optimizer, saved.lr)
        self.optimizer.load_state_dict(
            {k: self.xp.asarray(v) for k, v in optim.items()}, meta["optimizer"]["step_count"]
        )
        self.noise_rng = make_rng(saved.seed, self.device)
        if meta.get("noise_rng_state") and isinstance(self.noise_rng, np.random.Generator):
            self.noise_rng.bit_generator.state = meta["noise_rng_state"]
        best = meta.get("best_valid")
        self.progress = Progress(
            meta["step"],
            meta["epoch"],
            meta["batch_in_epoch"],
            math.inf if best is None else best,
            meta.get("history", []),
        )
        self.log(f"resumed from {path} at step {meta['step']} (epoch {meta['epoch'] + 1})")

    # -- training ------------------------------------------------------------------------
    def beta(self, step: int) -> float:
        c = self.cfg
        return kl_weight(
            step,
            c.kl_schedule,
            warmup=c.kl_warmup,
            beta_max=c.beta_max,
            cycles=c.kl_cycles,
            total_steps=c.epochs * self.steps_per_epoch,
        )

    def train_step(self, batch) -> tuple:
        """One update; -> (LossTerms, gradient norm before clipping)."""
        c, p = self.cfg, self.progress
        terms, grads = loss_and_grads(
            self.params,
            batch,
            self.model_config,
            beta=self.beta(p.step),
            rng=self.noise_rng,
            word_dropout=c.word_dropout,
            free_bits=c.free_bits,
        )
        norm = clip_by_global_norm(grads, c.clip)
        if not (math.isfinite(terms.loss) and math.isfinite(norm)):
            last = self.out / "last.npz"
            kept = f"the last good checkpoint is {last}" if last.exists() else "no checkpoint yet"
            raise TrainingDiverged(
                f"loss became {terms.loss} (gradient norm {norm}) at step {p.step + 1} "
                f"(epoch {p.epoch + 1}, batch {p.batch_in_epoch + 1}); stopped, {kept}. "
                "Try a lower --lr or a smaller --clip."
            )
        self.optimizer.step(self.params, grads)
        return terms, norm

    def validate(self, iw_samples: int = 0) -> dict:
        return evaluate(
            self.params,
            self.model_config,
            valid_batches(self.data.valid, self.cfg.batch_size),
            iw_samples=iw_samples,
            seed=self.cfg.seed,
        )

    def run(self) -> Progress:
        c, p = self.cfg, self.progress
        metrics = (self.out / "metrics.jsonl").open("a")
        try:
            while p.epoch < c.epochs:
                self._run_epoch(metrics)
        finally:
            metrics.close()
        return p

    def _run_epoch(self, metrics) -> None:
        c, p = self.cfg, self.progress
        batches = epoch_batches(self.data.train, c, p.epoch)
        bar = tqdm(
            total=len(batches),
            initial=p.batch_in_epoch,
            desc=f"epoch {p.epoch + 1}/{c.epochs}",
            disable=not self.progress_bar,
            leave=True,
            file=sys.stderr,
            dynamic_ncols=True,
        )
        window = []
        for batch in batches[p.batch_in_epoch :]:
            terms, norm = self.train_step(batch)
            p.step += 1
            p.batch_in_epoch += 1
            window.append((terms.loss, terms.rec, terms.kl))
            bar.update(1)
            if p.step % LOG_EVERY == 0 or p.batch_in_epoch == len(batches):
                loss, rec, kl = np.mean(window, axis=0)
                window = []
                bar.set_postfix(
                    loss=f"{loss:.2f}", rec=f"{rec:.2f}", kl=f"{kl:.2f}", beta=f"{terms.beta:.2f}"
                )
                metrics.write(
                    json.dumps(
                        {
                            "split": "train",
                            "step": p.step,
                            "epoch": p.epoch + 1,
                            "loss": loss,
                            "rec": rec,
                            "kl": kl,
                            "beta": terms.beta,
                            "grad_norm": norm,
                        }
                    )
                    + "\n"
                )
            if c.save_every and p.step % c.save_every == 0:
                self.save("last.npz")
        bar.close()
        p.epoch += 1
        p.batch_in_epoch = 0
        row = {"split": "valid", "step": p.step, "epoch": p.epoch, **self.validate()}
        p.history.append(row)
        metrics.write(json.dumps(row) + "\n")
        metrics.flush()
        self.log(
            f"epoch {p.epoch}: valid -ELBO {row['nelbo']:.2f} (rec {row['rec']:.2f}, "
            f"KL {row['kl']:.2f}), MI {row['mi']:.2f}, active units "
            f"{row['active_units']}/{self.model_config.latent_dim}, beta {self.beta(p.step):.2f}"
        )
        if row["nelbo"] < p.best_valid:
            p.best_valid = row["nelbo"]
            self.save("best.npz")
        self.save("last.npz")


def load_model(path) -> tuple[dict, ModelConfig, Vocab, dict]:
    """A trained model from a checkpoint: -> (params on the host, config, vocab, meta)."""
    params, meta, _ = load_checkpoint(path)
    for key in ("model_config", "vocab"):
        if key not in meta:
            raise CheckpointError(f"{path} has no {key}: not a text-VAE checkpoint")
    config = ModelConfig.from_dict(meta["model_config"])
    vocab = Vocab.from_dict(meta["vocab"])
    if len(vocab) != config.vocab_size:
        raise CheckpointError(
            f"{path}: vocabulary has {len(vocab)} words, the model {config.vocab_size}"
        )
    check_param_shapes(params, param_shapes(config), path)
    return params, config, vocab, meta


__all__ = ["Dataset", "Progress", "Trainer", "TrainingDiverged", "load_model"]
