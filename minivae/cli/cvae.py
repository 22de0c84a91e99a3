"""``minivae cvae train|generate|eval``: the conditional VAE on labels, translation, dialogue."""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields

from minivae.conditional.config import CVAETrainConfig

HELP = {
    "task": "label: sentences from a class; translate: a toy second language; dialogue: "
    "several answers per question",
    "pairs": "a source<TAB>target file, one pair per line, instead of the built-in data "
    "(for --task label the source is the class name)",
    "num_pairs": "built-in pairs to generate (0: the task's default)",
    "label_attrs": "label task: the built-in corpus attributes that make up a class",
    "lowercase": "lowercase both sides",
    "max_len": "longest sentence in words (longer ones are cut)",
    "valid_fraction": "fraction of pairs held out for validation and the metrics",
    "embed_dim": "word embedding size E",
    "hidden_dim": "RNN hidden size H (also the size of a source sentence's condition vector)",
    "latent_dim": "latent size Z",
    "prior_dim": "hidden size of the prior network p(z|c)",
    "cond_dim": "label embedding size (label task)",
    "cell": "recurrent cell: lstm or gru",
    "z_mode": "how [z; c] reaches the decoder: init (first state), concat (every input), both",
    "bow": "add the bag-of-words loss (Zhao et al. 2017) that keeps z in use",
    "epochs": "passes over the training pairs (0: the task's default)",
    "batch_size": "pairs per batch",
    "lr": "Adam learning rate",
    "clip": "global gradient-norm clipping threshold (0: off)",
    "kl_schedule": "KL weight schedule: constant, linear, logistic or cyclical",
    "kl_warmup": "steps for the KL weight to reach --beta-max",
    "beta_max": "final KL weight",
    "free_bits": "nats per latent dimension the KL is not pushed below (0: off)",
    "word_dropout": "probability of replacing a decoder input word by <unk>",
    "iw_samples": "importance samples for the final NLL estimate",
    "num_samples": "responses sampled per context for the dialogue metrics",
    "seed": "random seed (data, split, initialization, noise)",
    "device": "cpu, gpu or auto",
    "dtype": "float32 or float64",
    "out": "run folder for model.npz, config.json and the metrics",
}
CHOICES = {
    "task": ["label", "translate", "dialogue"],
    "cell": ["lstm", "gru"],
    "z_mode": ["init", "concat", "both"],
    "kl_schedule": ["constant", "linear", "logistic", "cyclical"],
    "device": ["cpu", "gpu", "auto"],
    "dtype": ["float32", "float64"],
}


def add_parser(sub) -> None:
    p = sub.add_parser(
        "cvae",
        help="conditional VAE: labels, translation, dialogue",
        description="A conditional text VAE: q(z|x,c), a learned prior p(z|c), p(x|z,c).",
    )
    cmds = p.add_subparsers(dest="cvae_command", metavar="{train,generate,eval}")
    p.set_defaults(func=lambda args: p.print_help() or 2)

    t = cmds.add_parser(
        "train",
        help="train on built-in paired data or a pairs file",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Train a conditional VAE; each task's defaults take a minute or two on a "
        "2-core CPU. Writes model.npz, config.json, metrics.jsonl and metrics.json to --out "
        "and prints the metrics at the end.",
    )
    defaults = CVAETrainConfig()
    for f in fields(CVAETrainConfig):
        flag = "--" + f.name.replace("_", "-")
        default = getattr(defaults, f.name)
        if isinstance(default, bool):
            t.add_argument(
                flag, action=argparse.BooleanOptionalAction, default=default, help=HELP[f.name]
            )
        else:
            kind = str if default is None else type(default)
            t.add_argument(
                flag, type=kind, default=default, choices=CHOICES.get(f.name), help=HELP[f.name]
            )
    t.add_argument("--no-progress", action="store_true", help="no progress bars")
    t.set_defaults(func=run_train)

    g = cmds.add_parser(
        "generate",
        help="several outputs per condition, z drawn from the prior network p(z|c)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    g.add_argument("checkpoint", help="model.npz written by minivae cvae train (or its folder)")
    g.add_argument(
        "--condition",
        action="append",
        required=True,
        help="a class name (label task) or a source sentence; repeat for several",
    )
    g.add_argument("-n", "--num", type=int, default=5, help="outputs per condition")
    g.add_argument("--method", default="greedy", choices=["greedy", "sample", "beam"])
    g.add_argument("--temperature", type=float, default=1.0, help="softmax temperature (sample)")
    g.add_argument("--top-k", type=int, default=0, help="sample among the k likeliest (0: all)")
    g.add_argument("--beam-size", type=int, default=5)
    g.add_argument("--max-len", type=int, default=40)
    g.add_argument(
        "--prior-mean", action="store_true", help="decode z = the prior mean (one output)"
    )
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--device", default="auto", choices=["cpu", "gpu", "auto"])
    g.set_defaults(func=run_generate)

    e = cmds.add_parser(
        "eval",
        help="the task's metrics on the checkpoint's validation pairs",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    e.add_argument("checkpoint", help="model.npz written by minivae cvae train (or its folder)")
    e.add_argument("--iw-samples", type=int, default=None, help="default: the training run's")
    e.add_argument("--device", default="auto", choices=["cpu", "gpu", "auto"])
    e.set_defaults(func=run_eval)


def _fail(what: str, error: Exception) -> int:
    print(f"minivae cvae {what}: error: {error}", file=sys.stderr)
    return 2


def run_train(args) -> int:
    from minivae.conditional.train import train
    from minivae.data import CorpusError

    values = {f.name: getattr(args, f.name) for f in fields(CVAETrainConfig)}
    try:
        metrics = train(CVAETrainConfig(**values), progress_bar=not args.no_progress)
    except (CorpusError, ValueError, FloatingPointError) as e:
        return _fail("train", e)
    print(f"trained in {metrics['train_seconds']:.0f} s; model and metrics in {args.out}")
    return 0


def _load(args):
    from minivae.backend import resolve_device, xp_for
    from minivae.conditional.train import load_cvae

    params, config, vocab, condition, cfg = load_cvae(args.checkpoint)
    xp = xp_for(resolve_device(args.device, quiet=True))
    return {k: xp.asarray(v) for k, v in params.items()}, config, vocab, condition, cfg


def run_generate(args) -> int:
    import numpy as np

    from minivae.conditional.generate import encode_conditions, generate
    from minivae.training.checkpoint import CheckpointError

    try:
        params, config, vocab, condition, cfg = _load(args)
        src, lengths = encode_conditions(condition, args.condition, cfg.max_len, cfg.lowercase)
        num = 1 if args.prior_mean else args.num
        if num < 1:
            raise ValueError(f"-n must be at least 1, got {num}")
        out = generate(
            params,
            config,
            src,
            lengths,
            num,
            method=args.method,
            rng=np.random.default_rng(args.seed),
            use_mean=args.prior_mean,
            max_len=args.max_len,
            temperature=args.temperature,
            top_k=args.top_k,
            beam_size=args.beam_size,
        )
    except (CheckpointError, ValueError) as e:
        return _fail("generate", e)
    for text, group in zip(args.condition, out):
        print(f"[{text}]")
        for ids in group:
            print("  " + (" ".join(vocab.decode(ids)) or "(empty)"))
    return 0


def run_eval(args) -> int:
    from dataclasses import replace

    from minivae.conditional.train import evaluate_task, prepare_data
    from minivae.training.checkpoint import CheckpointError

    try:
        params, config, vocab, condition, cfg = _load(args)
        if args.iw_samples is not None:
            cfg = replace(cfg, iw_samples=args.iw_samples)
        data = prepare_data(cfg, vocab, condition)
        evaluate_task(params, config, data, cfg)
    except (CheckpointError, ValueError) as e:
        return _fail("eval", e)
    return 0
