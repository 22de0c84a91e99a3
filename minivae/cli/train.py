"""``minivae train``: train a text VAE (with no arguments, on the built-in corpus)."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import fields

from minivae.training.config import TrainConfig

HELP = {
    "corpus": "text file, one sentence per line (default: the built-in corpus)",
    "builtin_size": "number of sentences of the built-in corpus",
    "lowercase": "lowercase the corpus",
    "max_vocab": "vocabulary size cap, the 4 special tokens included",
    "min_count": "words seen fewer times become <unk>",
    "max_len": "longest sentence in words; longer ones are truncated or dropped",
    "overflow": "what to do with sentences over --max-len: truncate or drop",
    "valid_fraction": "fraction of sentences held out for validation",
    "embed_dim": "word embedding size E",
    "hidden_dim": "RNN hidden size H",
    "latent_dim": "latent size Z",
    "cell": "recurrent cell of encoder and decoder: lstm or gru",
    "z_mode": "how z reaches the decoder: init (first hidden state), concat (every input), both",
    "share_embeddings": "one embedding table for encoder and decoder",
    "epochs": "passes over the training set",
    "batch_size": "sentences per batch",
    "optimizer": "adam or sgd (with momentum 0.9)",
    "lr": "learning rate",
    "clip": "global gradient-norm clipping threshold (0: off)",
    "kl_schedule": "KL weight schedule: constant, linear, logistic or cyclical",
    "kl_warmup": "steps for the KL weight to reach --beta-max (linear, logistic)",
    "beta_max": "final KL weight",
    "kl_cycles": "number of cycles of the cyclical schedule",
    "free_bits": "nats per latent dimension the KL is not pushed below (0: off)",
    "word_dropout": "probability of replacing a decoder input word by <unk>",
    "iw_samples": "importance samples K for the final NLL estimate",
    "seed": "random seed (data split, initialization, noise)",
    "device": "cpu, gpu or auto (GPU if CuPy finds one)",
    "dtype": "float32 or float64",
    "kernel": "fused Numba kernels (LSTM cell, softmax, embedding gradient) or the array "
    "code: auto (fused where one runs), fused or array",
    "out": "run folder for checkpoints, metrics and plots",
    "save_every": "also write last.npz every this many steps (0: once per epoch)",
}
CHOICES = {
    "overflow": ["truncate", "drop"],
    "cell": ["lstm", "gru"],
    "z_mode": ["init", "concat", "both"],
    "optimizer": ["adam", "sgd"],
    "kl_schedule": ["constant", "linear", "logistic", "cyclical"],
    "device": ["cpu", "gpu", "auto"],
    "dtype": ["float32", "float64"],
    "kernel": ["auto", "fused", "array"],
}


def add_parser(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train a text VAE",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Train a text VAE. With no arguments: the built-in corpus, about 2 minutes "
        "on a 2-core CPU. Prints progress, validation metrics each epoch, and at the end "
        "samples, reconstructions, an interpolation and the final metrics; writes checkpoints, "
        "metrics.jsonl and PNG plots to --out.",
    )
    defaults = TrainConfig()
    for f in fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        default = getattr(defaults, f.name)
        if isinstance(default, bool):
            p.add_argument(
                flag, action=argparse.BooleanOptionalAction, default=default, help=HELP[f.name]
            )
        else:
            kind = str if default is None else type(default)
            p.add_argument(
                flag, type=kind, default=default, choices=CHOICES.get(f.name), help=HELP[f.name]
            )
    p.add_argument(
        "--resume",
        metavar="CHECKPOINT",
        help="continue a run from its last.npz "
        "(or a run folder); its settings win except --epochs, --out and --device",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument(
        "--blas-threads",
        type=int,
        default=1,
        help="threads for NumPy's matrix products; for the default model's small "
        "matrices one thread is faster than two fighting over a 2-core CPU",
    )
    p.set_defaults(func=run)


def run(args) -> int:
    from minivae.data import CorpusError
    from minivae.training.checkpoint import CheckpointError
    from minivae.training.report import final_report
    from minivae.training.trainer import Trainer, TrainingDiverged

    values = {f.name: getattr(args, f.name) for f in fields(TrainConfig)}
    try:
        cfg = TrainConfig(**values)
        start = time.perf_counter()
        trainer = Trainer(cfg, resume=args.resume, progress_bar=not args.no_progress)
        d = trainer.data
        print(
            f"data: {d.source}: {len(d.train.ids)} training and {len(d.valid.ids)} validation "
            f"sentences, vocabulary {len(d.vocab)}"
        )
        for line in d.train.report_lines():
            print(f"  {line}")
        from minivae.ops.lstm import select_pointwise

        cell = trainer.model_config.cell
        impl = select_pointwise(cfg.kernel, trainer.xp)[2] if cell == "lstm" else "array"
        print(
            f"model: {cell.upper()} VAE ({cell} cell: {impl}), E={cfg.embed_dim} "
            f"H={cfg.hidden_dim} Z={cfg.latent_dim}, z via {cfg.z_mode}; device "
            f"{trainer.device}, {cfg.dtype}; KL schedule {cfg.kl_schedule}, free bits "
            f"{cfg.free_bits}, word dropout {cfg.word_dropout}"
        )
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=args.blas_threads, user_api="blas"):
            trainer.run()
            final_report(trainer)
        print(f"\ntrained in {time.perf_counter() - start:.0f} s")
    except (CorpusError, CheckpointError, ValueError) as e:
        print(f"minivae train: error: {e}", file=sys.stderr)
        return 2
    except TrainingDiverged as e:
        print(f"minivae train: {e}", file=sys.stderr)
        return 1
    return 0
