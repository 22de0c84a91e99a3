"""``minivae cvae train|generate|eval``: the conditional VAE on labels, translation, dialogue.

The same commands as for the plain VAE, with the conditional VAE's config: ``train`` is
``minivae train``'s code (resume, divergence stop, best.npz/last.npz), ``generate`` is
``minivae sample`` with a condition, ``eval`` adds the task's metrics to ``minivae eval``'s.
"""

from __future__ import annotations

from minivae.cli.common import USE_ERRORS, fail, load_for_use


def add_parser(sub) -> None:
    from minivae.cli.generate import add_sample_parser
    from minivae.cli.train import add_training_parser, run_training
    from minivae.conditional.run_config import CVAETrainConfig

    p = sub.add_parser(
        "cvae",
        help="conditional VAE: labels, translation, dialogue",
        description="A conditional text VAE: q(z|x,c), a learned prior p(z|c), p(x|z,c).",
    )
    cmds = p.add_subparsers(dest="cvae_command", metavar="{train,generate,eval}")
    p.set_defaults(func=lambda args: p.print_help() or 2)
    add_training_parser(
        cmds,
        "train",
        CVAETrainConfig,
        help="train on built-in paired data or a pairs file",
        description="Train a conditional VAE; each task's defaults take a minute or two on a "
        "2-core CPU. Writes best.npz, last.npz, metrics.jsonl, report.json and plots to --out "
        "and prints the task's metrics at the end.",
        run=lambda args: run_training(args, CVAETrainConfig, "cvae train"),
    )
    add_sample_parser(
        cmds,
        "generate",
        "several outputs per condition, z drawn from the prior network p(z|c)",
        required_condition=True,
        command="cvae generate",
    )
    add_eval_parser(cmds, "cvae")


def add_eval_parser(cmds, group: str):
    """``minivae GROUP eval``: a conditional model's likelihood and task metrics."""
    e = cmds.add_parser(
        "eval",
        help="likelihood metrics on the checkpoint's validation pairs, and the task's metrics",
    )
    e.add_argument(
        "checkpoint", help=f"a checkpoint written by minivae {group} train (or its folder)"
    )
    e.add_argument(
        "--iw-samples", type=int, default=None, help="importance samples (default: the run's)"
    )
    e.add_argument("--device", default="auto", choices=["cpu", "gpu", "auto"], help="where to run")
    e.add_argument("--json", action="store_true", help="print the metrics as JSON")
    e.set_defaults(func=lambda args: run_eval(args, f"{group} eval"))
    return e


def run_eval(args, command: str = "cvae eval") -> int:
    import json
    from dataclasses import replace

    from minivae.evaluation import evaluate
    from minivae.training.report import reconstruction_scores
    from minivae.training.trainer import eval_batches

    args.kernel = "auto"
    try:
        trained = load_for_use(args)
        if not trained.model.conditional:
            raise ValueError(f"{trained.path} is a {trained.model.kind} model: use minivae eval")
        cfg = trained.train_config
        if args.iw_samples is not None:
            cfg = replace(cfg, iw_samples=args.iw_samples)
        data = cfg.prepare_data(vocab=trained.vocab, condition=trained.condition)
        metrics = evaluate(
            trained.model,
            trained.params,
            eval_batches(data.valid, cfg.batch_size),
            iw_samples=cfg.iw_samples,
            seed=cfg.seed,
        )
        log = (lambda *_: None) if args.json else print
        metrics.update(
            reconstruction_scores(trained.model, trained.params, data, "valid", cfg.max_len + 5)
        )
        metrics.update(cfg.task_metrics(trained.model, trained.params, data, log))
    except USE_ERRORS as e:
        return fail(command, e)
    print(json.dumps(metrics, indent=2) if args.json else _lines(metrics))
    return 0


def _lines(metrics: dict) -> str:
    return "\n".join(
        f"{k:<30} {v:.3f}" if isinstance(v, float) else f"{k:<30} {v}" for k, v in metrics.items()
    )
