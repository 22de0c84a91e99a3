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
from dataclasses import fields
from itertools import islice
from pathlib import Path

import numpy as np

from minivae import ops
from minivae.backend import make_rng, resolve_device, xp_for
from minivae.data import iterate_batches
from minivae.evaluation import evaluate
from minivae.interface import Step
from minivae.progress import progress_bar
from minivae.remedies import aggressive, pretraining
from minivae.training.checkpoint import check_meta_size, load_checkpoint, save_checkpoint
from minivae.training.config import RunConfig
from minivae.training.memory import peak_memory_mb
from minivae.training.optim import clip_by_global_norm, make_optimizer
from minivae.training.progress import Progress
from minivae.training.resume import ResumePoint
from minivae.training.resume import resume as resume_run
from minivae.training.run_folder import TRAINED, prepare_out

LOG_EVERY = 10  # steps between training rows in metrics.jsonl
# The fields of a Step that a run config sets by name: the regularisers and the kernels (the
# KL weight comes from the schedule, the noise from the run's generator).
STEP_KNOBS = {f.name for f in fields(Step)} - {"beta", "eps", "rng", "training"}


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

    resume: a checkpoint read for a resume (``training.resume.ResumePoint``; from a path:
    ``minivae.loading.resume_trainer``) to continue instead of ``cfg``: its settings win,
    except ``overrides`` (epochs, max_minutes, device, kernel); the run continues in its own
    folder unless ``out`` says otherwise. overwrite: a fresh run may replace the run files already
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
        self._evaluated_step = None  # the step whose weights last scored finite (save)
        if resume is not None:
            if not isinstance(resume, ResumePoint):
                raise TypeError(
                    "resume takes a ResumePoint: resume a run folder or checkpoint with "
                    "minivae.loading.resume_trainer(path)"
                )
            resume_run(self, resume, out, overrides or {})
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
            aggressive_phase = cfg.aggressive or cfg.aggressive_capped
            self.progress = Progress(aggressive=aggressive_phase, lr=cfg.lr)
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
        evaluate finite. best.npz and last.npz of one epoch hold the same weights: they are
        scored once."""
        if self._evaluated_step == self.progress.step:
            return
        c = self.cfg
        # The first of eval_batches' batches, without padding the others.
        batches = iterate_batches(self.data.valid, c.batch_size, shuffle=False, bucket=True)
        first = list(islice(batches, 1))
        m = evaluate(
            self.model, self.eval_params, first, c.iw_samples, seed=c.seed, kernel=c.kernel
        )
        if not (math.isfinite(m["nelbo"]) and math.isfinite(m["nll"])):
            raise TrainingDiverged(
                f"the weights at step {self.progress.step} score {m['nelbo']} on a validation "
                f"batch; {name} not written. {self._last_good()} Try a lower --lr."
            )
        self._evaluated_step = self.progress.step

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

    # -- training ------------------------------------------------------------------------
    def beta(self, step: int) -> float:
        """The KL weight at ``step`` (``remedies/pretraining.py``: 0 while pre-training an
        autoencoder, then the schedule of ``remedies/kl_schedules.py``)."""
        return pretraining.kl_weight_at(self.cfg, step, self.steps_per_epoch)

    def step_context(self) -> Step:
        """The ``Step`` of the current update: the schedule's KL weight, the run's noise and
        every regulariser of ``Step`` that the run config sets (a field of the same name)."""
        c = self.cfg
        knobs = {f.name: getattr(c, f.name) for f in fields(Step) if f.name in STEP_KNOBS}
        return Step(beta=self.beta(self.progress.step), rng=self.noise_rng, **knobs)

    def loss_and_grads(self, batch):
        """The model's loss and gradients at this step, with weight decay's L2 term added to
        the gradients (its value goes to ``extra``)."""
        c = self.cfg
        terms, grads = self.model.loss_and_grads(self.params, batch, self.step_context())
        if c.weight_decay:
            penalty, cache = ops.l2_penalty_forward(self.params, c.weight_decay)
            ops.l2_penalty_backward(1.0, cache, grads=grads)
            terms = terms._replace(extra={**terms.extra, "l2": float(penalty)})
        return terms, grads

    def clip(self, grads: dict) -> float:
        """Scale ``grads`` in place to a global norm of at most --clip; -> the norm before."""
        return clip_by_global_norm(grads, self.cfg.clip)

    def train_step(self, batch) -> tuple:
        """One update; -> (LossTerms, gradient norm before clipping).

        While aggressive (``remedies/aggressive.py``), the encoder is first trained alone
        until its loss stops falling, and this step then updates the rest of the model only:
        He et al.'s loop with --aggressive (the gradient clipped by every parameter's norm,
        as their code does), the capped variant with --aggressive-capped.
        """
        c, p = self.cfg, self.progress
        batches = epoch_batches(self.data.train, c, p.epoch) if p.aggressive else None
        inner = None
        if p.aggressive and c.aggressive:
            inner = aggressive.train_encoder(self, batch, batches)
        elif p.aggressive:
            aggressive.train_encoder_capped(self, batches)
        terms, grads = self.loss_and_grads(batch)
        if inner is not None:  # the training rows of metrics.jsonl show the inner loop's length
            terms = terms._replace(extra={**terms.extra, "encoder_steps": float(inner)})
        if p.aggressive and c.aggressive:  # text.py: clip all, then dec_optimizer.step()
            norm = self.clip(grads)
            grads = {k: g for k, g in grads.items() if k in self.groups["rest"]}
        else:
            if p.aggressive:
                grads = {k: g for k, g in grads.items() if k in self.groups["rest"]}
            norm = self.clip(grads)
        if not (math.isfinite(terms.loss) and math.isfinite(norm)):
            raise TrainingDiverged(
                f"loss became {terms.loss} (gradient norm {norm}) at step {p.step + 1} "
                f"(epoch {p.epoch + 1}, batch {p.batch_in_epoch + 1}); stopped. "
                f"{self._last_good()} Try a lower --lr or a smaller --clip."
            )
        self._step(grads, ("rest",) if p.aggressive else ("encoder", "rest"))
        return terms, norm

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
        if pretraining.pretraining_ends(c, p):
            pretraining.reset_decoder(self)
        if c.lr_cycles:  # Fu et al.'s cosine rate, restarted with each KL cycle, per epoch
            factor = pretraining.lr_factor_at(c, p.step, self.steps_per_epoch)
            for opt in self.optimizers.values():
                opt.lr = p.lr * factor
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
        if c.aggressive:
            aggressive.after_validation(p, row, self.log)
        else:  # --aggressive-capped, or no aggressive phase (the row says so)
            aggressive.after_validation_capped(p, row, self.log)
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
