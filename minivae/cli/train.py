"""``minivae train``: train a text VAE (with no arguments, on the built-in corpus).

The same code trains every model: ``minivae cvae train`` is this command with the
conditional VAE's config (``add_training_parser``, ``run_training``).
"""

from __future__ import annotations

import time

from minivae.cli.common import fail
from minivae.cli.options import (
    add_config_options,
    config_from_args,
    given_options,
)


def add_training_parser(sub, name: str, cls, help: str, description: str, run):
    p = sub.add_parser(name, help=help, description=description)
    add_config_options(p, cls)
    p.add_argument(
        "--resume",
        metavar="CHECKPOINT",
        help="continue a run from its last.npz (or its run folder), in its own folder; its "
        "settings win except --epochs, --max-minutes, --device, --kernel and --out",
    )
    p.add_argument(
        "--overwrite", action="store_true", help="replace the run already in --out (if any)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)
    return p


def add_parser(sub) -> None:
    from minivae.model.run_config import TrainConfig

    add_training_parser(
        sub,
        "train",
        TrainConfig,
        help="train a text VAE",
        description="Train a text VAE. With no arguments: the built-in corpus, a few minutes "
        "on a 2-core CPU (README: What the default run gives). Prints progress, validation "
        "metrics each epoch, and at the end samples, reconstructions, an interpolation and the "
        "final metrics; writes checkpoints, metrics.jsonl and PNG plots to --out.",
        run=lambda args: run_training(args, TrainConfig, "train"),
    )


def run_training(args, cls, command: str, report=None) -> int:
    """Train (or resume), print the final report (``report(trainer)``; default the shared
    ``training.report.final_report``); user errors exit 2, divergence 1."""
    from minivae.data import CorpusError
    from minivae.loading import resume_trainer
    from minivae.training.checkpoint import CheckpointError
    from minivae.training.report import final_report
    from minivae.training.resume import RESUMABLE
    from minivae.training.trainer import Trainer, TrainingDiverged

    try:
        given = given_options(cls, args)
        start = time.perf_counter()
        if args.resume:
            fixed = sorted(set(given) - RESUMABLE - {"out"})
            if fixed:
                raise ValueError(
                    "--resume continues a run with its own settings; only --epochs, "
                    "--max-minutes, --device, --kernel and --out may change (given: "
                    f"{', '.join(fixed)})"
                )
            overrides = {k: v for k, v in given.items() if k != "out"}
            trainer = resume_trainer(
                args.resume,
                progress_bar=not args.no_progress,
                out=given.get("out"),
                overrides=overrides,
            )
        else:
            trainer = Trainer(
                config_from_args(cls, args),
                progress_bar=not args.no_progress,
                overwrite=args.overwrite,
            )
        print_banner(trainer)
        trainer.run()
        (report or final_report)(trainer)
        print(f"\ntrained in {time.perf_counter() - start:.0f} s; run folder {trainer.out}")
    except (CorpusError, CheckpointError, ValueError, OSError) as e:
        return fail(command, e)
    except TrainingDiverged as e:
        print(f"minivae {command}: {e}")
        return 1
    return 0


def print_banner(trainer) -> None:
    """What runs: the data, the model's sizes (the checkpoint's, when resumed), the device
    and the implementation of every kernel."""
    from minivae.ops.lstm import select_pointwise

    d, cfg, model = trainer.data, trainer.cfg, trainer.model
    print(
        f"data: {d.source}: {len(d.train.ids)} training and {len(d.valid.ids)} validation "
        f"examples{'' if d.test is None else f', {len(d.test.ids)} test'}, vocabulary "
        f"{len(d.vocab)}"
        + (
            ""
            if d.condition is None
            else f", condition {d.condition.kind} "
            f"({d.condition.size} {'classes' if d.condition.kind == 'label' else 'words'})"
        )
    )
    for name in ("train", "valid", "test"):
        part = getattr(d, name)
        if part is not None:
            print(f"  {name}: " + "; ".join(part.report_lines()))
    config = model.config
    cell = config.cell
    impl = select_pointwise(cfg.kernel, trainer.xp).name if cell == "lstm" else "array"
    budget = f" (at most {cfg.max_minutes:g} minutes)" if cfg.max_minutes else ""
    print(
        f"model: {model.kind} ({cell} cell: {impl}; softmax, embedding and Adam: "
        f"{'array code' if cfg.kernel == 'array' else 'fused where they run'}), "
        f"{model.describe()}; device {trainer.device}, {cfg.dtype}; {remedies_in_use(cfg)}; "
        f"{cfg.epochs} epochs{budget}, batch {cfg.batch_size}, {cfg.optimizer} lr {cfg.lr:g}, "
        + (f"clipping {cfg.clip:g}" if cfg.clip else "no clipping")
        + "".join(
            f", {label} {value:g}"
            for label, value in (
                ("dropout", cfg.dropout),
                ("weight decay", cfg.weight_decay),
                ("label smoothing", cfg.label_smoothing),
                ("weight average", cfg.ema),
            )
            if value
        )
    )


def remedies_in_use(cfg) -> str:
    """The banner's account of the KL weight and of every remedy the run uses, with its
    settings: a user checking a run against docs/remedies.md reads them here."""
    schedule = {
        "constant": "constant",
        "linear": f"linear over {cfg.kl_warmup} steps",
        "logistic": f"logistic over {cfg.kl_warmup} steps",
        "cyclical": f"cyclical (Fu et al.: M={cfg.kl_cycles}, R={cfg.kl_ratio:g}, from "
        f"{cfg.kl_cycle_start:g}{', learning-rate cycles' if cfg.lr_cycles else ''})",
    }.get(cfg.kl_schedule, cfg.kl_schedule)
    parts = [f"KL schedule {schedule}", f"free bits {cfg.free_bits}"]
    if cfg.kl_threshold:
        parts.append(f"KL threshold (Li et al.) {cfg.kl_threshold:g} nats")
    parts.append(f"word dropout {cfg.word_dropout}")
    if cfg.aggressive:
        parts.append("aggressive encoder training (He et al.)")
    if cfg.aggressive_capped:
        parts.append(f"capped aggressive loop (at most {cfg.aggressive_steps} steps)")
    if cfg.ae_pretrain_epochs:
        parts.append(f"autoencoder pre-training {cfg.ae_pretrain_epochs} epochs")
    return ", ".join(parts)
