"""``minivae nmt train|translate|eval``: machine translation with attention (Multi30k
German -> English and any parallel files), the conditional VAE's commands with the
translation model's config: ``train`` is ``minivae train``'s code, ``translate`` is
``minivae sample`` with a source sentence, ``eval`` is ``minivae cvae eval``'s."""

from __future__ import annotations


def add_parser(sub) -> None:
    from minivae.cli.cvae import add_eval_parser
    from minivae.cli.generate import add_sample_parser
    from minivae.cli.train import add_training_parser, run_training
    from minivae.translation.run_config import NMTTrainConfig

    p = sub.add_parser(
        "nmt",
        help="machine translation with attention (a conditional VAE)",
        description="An attention encoder-decoder with the conditional VAE's latent variable: "
        "a bidirectional LSTM over the source, an LSTM decoder attending at every step.",
    )
    cmds = p.add_subparsers(dest="nmt_command", metavar="{train,translate,eval}")
    p.set_defaults(func=lambda args: p.print_help() or 2)
    add_training_parser(
        cmds,
        "train",
        NMTTrainConfig,
        help="train on parallel files (--source/--target) or built-in toy pairs",
        description="Train a translation model. Prints a progress bar, each epoch's time, "
        "tokens per second and validation BLEU; at the end BLEU (greedy and beam) on the test "
        "pairs (--test-source/--test-target), sampled translations and their diversity; "
        "writes checkpoints, metrics.jsonl, report.json, plots and attention.png to --out.",
        run=lambda args: run_training(args, NMTTrainConfig, "nmt train"),
    )
    add_sample_parser(
        cmds,
        "translate",
        "translate source sentences (--condition); --prior-mean for the model's translation, "
        "else -n translations with z drawn from p(z|x)",
        required_condition=True,
        command="nmt translate",
    )
    add_eval_parser(cmds, "nmt")
