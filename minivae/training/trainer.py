"""The training loop for every model: batches, KL schedule, clipping, validation,
checkpoints, exact resume, and a stop with the last good checkpoint named when the loss
diverges.

A run folder (``run_folder.py``) holds ``last.npz`` (after every epoch, and every
``save_every`` steps), ``best.npz`` (the best validation score: the lowest negative ELBO, or
the highest BLEU with ``--select bleu``; ``--lr-decay`` lowers the learning rate after an
epoch that does not beat it), ``metrics.jsonl`` (one JSON object per
line: training rows every few steps, a validation row per epoch) and the plots.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from minivae import ops
from minivae.backend import make_rng, resolve_device, xp_for
from minivae.data import iterate_batches
from minivae.evaluation import evaluate
from minivae.progress import progress_bar
from minivae.training.checkpoint import (
    CheckpointError,
    check_finite,
    check_meta_size,
    load_checkpoint,
    save_checkpoint,
)
from minivae.training.config import RunConfig
from minivae.training.loading import read_model
from minivae.training.memory import peak_memory_mb
from minivae.training.optim import clip_by_global_norm, make_optimizer
from minivae.training.progress import Progress, read_progress
from minivae.training.run_folder import (
    TRAINED,
    check_resume_target,
    drop_rows_after,
    pop_trained_weights,
    prepare_out,
    restore_optimizers,
)
from minivae.training.schedules import kl_weight

LOG_EVERY = 10  # steps between training rows in metrics.jsonl


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


def check_savable(meta: dict, path) -> None:
    """Refuse, before training, a run whose checkpoints could not be loaded back."""
    check_meta_size(len(json.dumps(meta).encode("utf-8")), path)


def epoch_batches(encoded, cfg: RunConfig, epoch: int) -> list:
    """The batches of one epoch: a fixed order for (seed, epoch), so a resumed run sees the same."""
    rng = np.random.default_rng([cfg.seed, epoch])
    return list(iterate_batches(encoded, cfg.batch_size, rng=rng, shuffle=True, bucket=True))


def eval_batches(encoded, batch_size: int) -> list:
    return list(iterate_batches(encoded, batch_size, rng=None, shuffle=False, bucket=True))


class Trainer:
    """Holds a run's data, model, optimizer and progress; ``run()`` trains to the last epoch.

    resume: a checkpoint (or run folder) to continue instead of ``cfg``: its settings win,
    except ``overrides`` (epochs, max_minutes, device, kernel); the run continues in its own folder
    unless ``out`` says otherwise. overwrite: a fresh run may replace the run files already
    in ``cfg.out`` (otherwise a used folder is refused). data: an already prepared Dataset.
    """

    def __init__(
        self,
        cfg: RunConfig | None = None,
        resume=None,
        progress_bar=True,
        log=print,
        data=None,
        out=None,
        overwrite: bool = False,
        overrides: dict | None = None,
    ):
        self.log = log
        self.progress_bar = progress_bar
        if resume is not None:
            self._load(Path(resume), out, overrides or {})
        else:
            self.device = resolve_device(cfg.device)
            self.xp = xp_for(self.device)
            self.cfg = cfg
            self.out = Path(out or cfg.out)
            self.lock = prepare_out(self.out, overwrite)
            self.data = data if data is not None else cfg.prepare_data()
            self.model = cfg.build_model(self.data)
            dtype = np.dtype(cfg.dtype)
            self.params = self.model.init_params(seed=cfg.seed, dtype=dtype, xp=self.xp)
            self.averaged = {k: v.copy() for k, v in self.params.items()} if cfg.ema else None
            self._make_optimizers()
            self.noise_rng = make_rng(cfg.seed, self.device)
            self.progress = Progress(aggressive=cfg.aggressive, lr=cfg.lr)
            check_savable(self._meta(), self.out / "last.npz")

    @property
    def steps_per_epoch(self) -> int:
        return max(1, math.ceil(len(self.data.train.ids) / self.cfg.batch_size))

    # -- checkpoints ---------------------------------------------------------------------
    def _meta(self) -> dict:
        rng_state = (
            self.noise_rng.bit_generator.state if hasattr(self.noise_rng, "bit_generator") else None
        )
        return {
            "model": {"kind": self.model.kind, "config": self.model.to_dict()},
            "train_config": self.cfg.to_dict(),
            "vocab": self.data.vocab.to_dict(),
            "condition": None if self.data.condition is None else self.data.condition.to_dict(),
            **self.progress.to_meta(),
            "optimizer": {
                "name": self.cfg.optimizer,
                "step_counts": {g: opt.step_count for g, opt in self.optimizers.items()},
            },
            "noise_rng_state": rng_state,
        }

    @property
    def eval_params(self) -> dict:
        """The weights that are validated, saved as the model and reported: the running
        average with ``--ema``, else the trained weights themselves."""
        return self.params if self.averaged is None else self.averaged

    def save(self, name: str) -> Path:
        """Write a checkpoint; parameters that are not all finite are never written. Its
        parameters are ``eval_params``; with ``--ema`` the trained weights go with the
        optimizer state (``train.<name>``), for a resume."""
        bad = [k for k, v in self.params.items() if not bool(self.xp.isfinite(v).all())]
        if bad:
            raise TrainingDiverged(
                f"parameters {bad[:3]} are not finite at step {self.progress.step}; "
                f"{name} not written. {self._last_good()}"
            )
        self._check_evaluates(name)
        state = {
            f"{group}.{key}": value
            for group, opt in self.optimizers.items()
            for key, value in opt.state_dict().items()
        }
        if self.averaged is not None:
            state.update({f"{TRAINED}.{k}": v for k, v in self.params.items()})
        return save_checkpoint(self.out / name, self.eval_params, self._meta(), state)

    def _check_evaluates(self, name: str) -> None:
        """Finite weights may still score NaN (a log-variance of 1e4: exp overflows). Before
        a checkpoint is written, its weights score a validation batch as ``minivae eval``
        would (importance samples included): a checkpoint kept as "the last good one" must
        evaluate finite."""
        batch = eval_batches(self.data.valid, self.cfg.batch_size)[:1]
        c = self.cfg
        m = evaluate(
            self.model, self.eval_params, batch, c.iw_samples, seed=c.seed, kernel=c.kernel
        )
        if not (math.isfinite(m["nelbo"]) and math.isfinite(m["nll"])):
            raise TrainingDiverged(
                f"the weights at step {self.progress.step} score {m['nelbo']} on a validation "
                f"batch; {name} not written. {self._last_good()} Try a lower --lr."
            )

    def _make_optimizers(self) -> None:
        """One optimizer for the encoder's own parameters and one for the rest: they step
        together, except in aggressive training, where the encoder's steps alone in between."""
        c = self.cfg
        encoder = self.model.encoder_param_names()
        self.groups = {"encoder": encoder, "rest": set(self.params) - encoder}
        self.optimizers = {}
        for group, names in self.groups.items():
            opt = make_optimizer(c.optimizer, c.lr, fused=c.kernel != "array")
            opt.init_state({n: self.params[n] for n in names})
            self.optimizers[group] = opt

    def _set_lr(self, lr: float) -> None:
        self.progress.lr = lr
        for opt in self.optimizers.values():
            opt.lr = lr

    def _step(self, grads: dict, groups=("encoder", "rest")) -> None:
        for group in groups:
            part = {k: g for k, g in grads.items() if k in self.groups[group]}
            self.optimizers[group].step(self.params, part)
        if self.averaged is not None:
            self._average()

    def _average(self) -> None:
        """avg <- avg + (1 - d)(w - avg): Polyak averaging, d = ``--ema`` once the run is
        under way; early on d = (1 + t) / (10 + t) (TensorFlow's warm-up), so the average is
        not held at the random initialization for thousands of steps."""
        t = self.progress.step
        d = min(self.cfg.ema, (1 + t) / (10 + t))
        for name, w in self.params.items():
            avg = self.averaged[name]
            avg += (1 - d) * (w - avg)

    def best_params(self) -> tuple[dict, int]:
        """The parameters of best.npz (``cfg.selection_name``) and their epoch, or the
        current ones where there is none yet."""
        path = self.out / "best.npz"
        if not path.exists():
            return self.eval_params, self.progress.epoch
        params, meta, _ = load_checkpoint(path)
        return {k: self.xp.asarray(v) for k, v in params.items()}, int(meta["epoch"])

    def _last_good(self) -> str:
        last = self.out / "last.npz"
        if last.exists():
            return f"The last good checkpoint is {last}."
        return "No checkpoint was written yet."

    def _load(self, path: Path, out, overrides: dict) -> None:
        if path.is_dir():
            path = path / "last.npz"
        params, meta, optim = load_checkpoint(path)
        trained = read_model(params, meta, path)
        check_finite(params, path)
        check_finite(optim, path, "optimizer state")
        if "noise_rng_state" not in meta:
            raise CheckpointError(
                f"checkpoint {path} has no random state (noise_rng_state): the run would not "
                "continue exactly"
            )
        # Everything that shapes the run comes from the checkpoint; only how long to train,
        # where to run and which kernels may change. The run continues in its own folder.
        unknown = set(overrides) - {"epochs", "max_minutes", "device", "kernel"}
        if unknown:
            raise ValueError(f"a resumed run keeps its settings; cannot change {sorted(unknown)}")
        saved = replace(trained.train_config, **overrides, out=str(out or path.parent))
        self.device = resolve_device(saved.device)
        self.xp = xp_for(self.device)
        self.cfg, self.out, self.model = saved, Path(saved.out), trained.model
        check_resume_target(self.out, path.parent)
        self.lock = prepare_out(self.out, overwrite=True, fresh=False)
        self.data = saved.prepare_data(vocab=trained.vocab, condition=trained.condition)
        if len(self.data.vocab) != self.model.vocab_size:
            raise CheckpointError(f"{path}: the data's vocabulary does not fit the model")
        self.params = {k: self.xp.asarray(v) for k, v in params.items()}
        self.averaged = None
        if saved.ema:  # the file's parameters are the average; the trained ones are state
            self.averaged = self.params
            weights = pop_trained_weights(optim, params, path)
            self.params = {k: self.xp.asarray(v) for k, v in weights.items()}
        self._make_optimizers()
        restore_optimizers(self.optimizers, self.groups, optim, meta, params, path, self.xp)
        self.noise_rng = make_rng(saved.seed, self.device)
        state = meta.get("noise_rng_state")
        if state is not None and isinstance(self.noise_rng, np.random.Generator):
            try:
                self.noise_rng.bit_generator.state = state
            except (TypeError, ValueError, KeyError) as e:
                raise CheckpointError(f"checkpoint {path}: bad random state ({e})") from None
        self.progress = read_progress(meta, path, self.steps_per_epoch, saved.lr)
        self._set_lr(self.progress.lr)
        drop_rows_after(self.out / "metrics.jsonl", self.progress.step)
        p = self.progress
        self.log(f"resumed from {path} at step {p.step} (epoch {p.epoch + 1})")

    # -- training ------------------------------------------------------------------------
    def beta(self, step: int) -> float:
        """The KL weight at ``step``: 0 while pre-training an autoencoder, then the schedule,
        counted from the end of pre-training."""
        c = self.cfg
        pretrain_steps = c.ae_pretrain_epochs * self.steps_per_epoch
        if step < pretrain_steps:
            return 0.0
        return kl_weight(
            step - pretrain_steps,
            c.kl_schedule,
            warmup=c.kl_warmup,
            beta_max=c.beta_max,
            cycles=c.kl_cycles,
            total_steps=(c.epochs - c.ae_pretrain_epochs) * self.steps_per_epoch,
        )

    def loss_and_grads(self, batch):
        """The model's loss and gradients at this step, with weight decay's L2 term added to
        the gradients (its value goes to ``extra``)."""
        c, p = self.cfg, self.progress
        terms, grads = self.model.loss_and_grads(
            self.params,
            batch,
            beta=self.beta(p.step),
            rng=self.noise_rng,
            word_dropout=c.word_dropout,
            free_bits=c.free_bits,
            kernel=c.kernel,
            dropout=c.dropout,
            label_smoothing=c.label_smoothing,
        )
        if c.weight_decay:
            penalty, cache = ops.l2_penalty_forward(self.params, c.weight_decay)
            ops.l2_penalty_backward(1.0, cache, grads=grads)
            terms = terms._replace(extra={**terms.extra, "l2": float(penalty)})
        return terms, grads

    def train_step(self, batch) -> tuple:
        """One update; -> (LossTerms, gradient norm before clipping).

        While aggressive (He et al. 2019), the encoder is first trained on other batches until
        its loss stops falling, and this step then updates the rest of the model only.
        """
        c, p = self.cfg, self.progress
        if p.aggressive:
            self._train_encoder()
        terms, grads = self.loss_and_grads(batch)
        if p.aggressive:
            grads = {k: g for k, g in grads.items() if k in self.groups["rest"]}
        norm = clip_by_global_norm(grads, c.clip)
        if not (math.isfinite(terms.loss) and math.isfinite(norm)):
            raise TrainingDiverged(
                f"loss became {terms.loss} (gradient norm {norm}) at step {p.step + 1} "
                f"(epoch {p.epoch + 1}, batch {p.batch_in_epoch + 1}); stopped. "
                f"{self._last_good()} Try a lower --lr or a smaller --clip."
            )
        self._step(grads, ("rest",) if p.aggressive else ("encoder", "rest"))
        return terms, norm

    def _train_encoder(self) -> None:
        """He et al.'s inner loop: encoder-only updates on random training batches, at most
        ``aggressive_steps``, until the mean loss of the last 5 is no lower than of the 5
        before. The batches are drawn by (seed, step), so a resumed run draws the same."""
        c, p = self.cfg, self.progress
        batches = epoch_batches(self.data.train, c, p.epoch)
        pick = np.random.default_rng([c.seed, p.step, 1])
        losses = []
        for i in range(c.aggressive_steps):
            terms, grads = self.loss_and_grads(batches[pick.integers(len(batches))])
            grads = {k: g for k, g in grads.items() if k in self.groups["encoder"]}
            norm = clip_by_global_norm(grads, c.clip)
            if not (math.isfinite(terms.loss) and math.isfinite(norm)):
                break  # the outer step reports it
            self._step(grads, ("encoder",))
            losses.append(terms.loss)
            if (i + 1) % 5 == 0 and len(losses) >= 10:
                if np.mean(losses[-5:]) >= np.mean(losses[-10:-5]):
                    break

    def _reset_decoder(self) -> None:
        """The end of autoencoder pre-training (Li et al. 2019): the decoder starts afresh
        (the encoder keeps what it learned), and so does the optimizer."""
        c = self.cfg
        fresh = self.model.init_params(seed=c.seed + 1, dtype=np.dtype(c.dtype), xp=self.xp)
        for name in self.model.decoder_param_names():
            self.params[name][...] = fresh[name]
            if self.averaged is not None:
                self.averaged[name][...] = fresh[name]
        self._make_optimizers()
        self.log(f"epoch {self.progress.epoch + 1}: autoencoder pre-training done; decoder reset")

    def evaluate(
        self, split: str = "valid", iw_samples: int = 0, progress: bool = False, params=None
    ) -> dict:
        """Every metric on a split, of ``eval_params`` (or of ``params``)."""
        return evaluate(
            self.model,
            self.eval_params if params is None else params,
            eval_batches(self.data.split(split), self.cfg.batch_size),
            iw_samples=iw_samples,
            seed=self.cfg.seed,
            kernel=self.cfg.kernel,
            progress=progress,
        )

    def validate(self, iw_samples: int = 0) -> dict:
        return self.evaluate("valid", iw_samples)

    def run(self) -> Progress:
        c, p = self.cfg, self.progress
        with (self.out / "metrics.jsonl").open("a") as metrics:
            while p.epoch < c.epochs:
                if self.out_of_time():
                    self.log(
                        f"stopping after epoch {p.epoch}: another one would end past "
                        f"--max-minutes {c.max_minutes:g} ({self.minutes_used():.1f} used)"
                    )
                    break
                self._run_epoch(metrics)
        return p

    def minutes_used(self) -> float:
        """Minutes of training and validation so far (this run's epochs, resumed ones too)."""
        rows = self.progress.history
        return sum(r.get("seconds", 0.0) + r.get("valid_seconds", 0.0) for r in rows) / 60

    def out_of_time(self) -> bool:
        """Whether the next epoch, as long as the last one, would end past ``max_minutes``
        (an epoch begun before a resume is always finished)."""
        c, p = self.cfg, self.progress
        if not c.max_minutes or not p.history or p.batch_in_epoch:
            return False
        last = p.history[-1]
        epoch = (last.get("seconds", 0.0) + last.get("valid_seconds", 0.0)) / 60
        return self.minutes_used() + epoch > c.max_minutes

    def _run_epoch(self, metrics) -> None:
        c, p = self.cfg, self.progress
        if c.ae_pretrain_epochs and p.epoch == c.ae_pretrain_epochs and p.batch_in_epoch == 0:
            self._reset_decoder()
        batches = epoch_batches(self.data.train, c, p.epoch)
        bar = progress_bar(
            show=self.progress_bar,
            total=len(batches),
            initial=p.batch_in_epoch,
            desc=f"epoch {p.epoch + 1}/{c.epochs}",
            leave=True,
        )
        window, start, tokens = [], time.perf_counter(), 0
        for batch in batches[p.batch_in_epoch :]:
            terms, norm = self.train_step(batch)
            p.step += 1
            p.batch_in_epoch += 1
            tokens += terms.num_tokens
            window.append((terms.loss, terms.rec, terms.kl))
            bar.update(1)
            if p.step % LOG_EVERY == 0 or p.batch_in_epoch == len(batches):
                loss, rec, kl = np.mean(window, axis=0)
                window = []
                speed = tokens / max(time.perf_counter() - start, 1e-9)
                bar.set_postfix(
                    loss=f"{loss:.2f}",
                    rec=f"{rec:.2f}",
                    kl=f"{kl:.2f}",
                    beta=f"{terms.beta:.2f}",
                    tok_s=f"{speed:.0f}",
                )
                row = {
                    "split": "train",
                    "step": p.step,
                    "epoch": p.epoch + 1,
                    "loss": loss,
                    "rec": rec,
                    "kl": kl,
                    "beta": terms.beta,
                    "grad_norm": norm,
                    **terms.extra,
                }
                metrics.write(json.dumps(row) + "\n")
            if c.save_every and p.step % c.save_every == 0:
                metrics.flush()
                self.save("last.npz")
        bar.close()
        seconds = time.perf_counter() - start
        p.epoch += 1
        p.batch_in_epoch = 0
        start_valid = time.perf_counter()
        row = {"split": "valid", "step": p.step, "epoch": p.epoch, **self.validate()}
        task = c.epoch_metrics(self.model, self.eval_params, self.data)
        row.update(task)
        row["seconds"], row["tokens_per_second"] = seconds, tokens / max(seconds, 1e-9)
        row["peak_mb"] = peak_memory_mb()
        row["valid_seconds"] = time.perf_counter() - start_valid
        if not math.isfinite(row["nelbo"]):
            raise TrainingDiverged(
                f"the validation loss became {row['nelbo']} after epoch {p.epoch} "
                f"(step {p.step}); stopped. {self._last_good()} Try a lower --lr."
            )
        row["aggressive"] = p.aggressive
        if p.aggressive:  # the phase ends once the validation MI stops rising
            if row["mi"] > p.best_mi:
                p.best_mi = row["mi"]
            else:
                p.aggressive = False
                self.log(f"epoch {p.epoch}: MI stopped rising; aggressive training ends")
        p.history.append(row)
        metrics.write(json.dumps(row) + "\n")
        metrics.flush()
        self.log(format_epoch(row, self.model.latent_sizes, self.beta(p.step), task))
        score = c.selection_score(row)
        if score < p.best_valid:
            p.best_valid = score
            self.save("best.npz")
        elif c.lr_decay < 1:  # no better than before: a smaller step may find better
            self._set_lr(p.lr * c.lr_decay)
            self.log(f"epoch {p.epoch}: no better {c.select}; learning rate now {p.lr:.3g}")
        self.save("last.npz")


def format_epoch(row: dict, latent_sizes: dict, beta: float, task: dict | None = None) -> str:
    units = f"{row['active_units']}/{sum(latent_sizes.values())}"
    if len(latent_sizes) > 1:  # each layer's KL and active units too
        kl = " + ".join(f"{name} {row[f'kl_{name}']:.2f}" for name in latent_sizes)
        layers = ", ".join(f"{row[f'active_units_{n}']}/{z} {n}" for n, z in latent_sizes.items())
        units += f" ({layers}), KL {kl}"
    extra = "".join(f", {k} {v:.2f}" for k, v in (task or {}).items())
    return (
        f"epoch {row['epoch']}: valid -ELBO {row['nelbo']:.2f} (rec {row['rec']:.2f}, "
        f"KL {row['kl']:.2f}), MI {row['mi']:.2f}, active units {units}, "
        f"beta {beta:.2f}{extra}; {row['seconds']:.0f} s, {row['tokens_per_second']:.0f} "
        f"tokens/s, peak memory {row['peak_mb']:.0f} MB"
    )


__all__ = ["Progress", "Trainer", "TrainingDiverged"]
