"""``minivae dialog train|respond|chat|eval``: the dialogue model (a kgCVAE on a hierarchical
encoder) on DailyDialog. ``train`` is ``minivae train``'s code with the dialogue run config
and its own final report; ``respond``, ``chat`` and ``eval`` load a run as every command does
(``cli.common.load_for_use``)."""

from __future__ import annotations

import json
import sys

from minivae.cli.common import USE_ERRORS, add_checkpoint_args, fail, load_for_use


def add_parser(sub) -> None:
    from minivae.cli.train import add_training_parser, run_training
    from minivae.dialogue.data import ACTS
    from minivae.dialogue.run_config import DialogueTrainConfig
    from minivae.dialogue.tasks import dialogue_report

    p = sub.add_parser(
        "dialog",
        help="dialogue: a kgCVAE on a hierarchical encoder (DailyDialog)",
        description="Responses to multi-turn contexts: a bidirectional utterance encoder, a "
        "context RNN, a prior and a recognition network, the dialogue act as a knowledge-"
        "guided variable (Zhao et al. 2017). docs/dialogue.md.",
    )
    cmds = p.add_subparsers(dest="dialog_command", metavar="{train,respond,chat,eval}")
    p.set_defaults(func=lambda args: p.print_help() or 2)
    add_training_parser(
        cmds,
        "train",
        DialogueTrainConfig,
        help="train on DailyDialog (--data, default the shared folder)",
        description="Train the dialogue model on whole dialogues. Prints a progress bar, each "
        "epoch's validation metrics and BLEU, and at the end the test -ELBO, KL, active "
        "units, BLEU recall/precision/F1 and distinct-n of 10 sampled responses per context, "
        "with samples; writes checkpoints, metrics.jsonl, report.json and curves.png to --out.",
        run=lambda args: run_training(args, DialogueTrainConfig, "dialog train", dialogue_report),
    )

    r = cmds.add_parser(
        "respond",
        help="responses to a context",
        description="Sample -n responses to a context (each from its own z ~ p(z|c), decoded "
        "greedily).",
    )
    add_checkpoint_args(r)
    r.add_argument(
        "--context",
        action="append",
        required=True,
        metavar="TURN",
        help="a turn of the context, oldest first; repeat for several (or separate turns "
        "with __eou__)",
    )
    r.add_argument("--act", choices=list(ACTS), help="the act the responses must have")
    r.add_argument("-n", "--num", type=int, default=5, help="responses")
    r.set_defaults(func=run_respond)

    c = cmds.add_parser(
        "chat",
        help="a conversation in the terminal (reads turns from standard input)",
        description="Each line read from standard input is a turn; the model answers it. "
        "Works piped (no prompt then). An empty line or end of input ends the chat.",
    )
    add_checkpoint_args(c)
    c.add_argument("--act", choices=list(ACTS), help="the act every answer must have")
    c.set_defaults(func=run_chat)

    e = cmds.add_parser(
        "eval",
        help="-ELBO, KL, BLEU and distinct-n of a run on a split",
        description="The likelihood metrics of a split's responses and BLEU recall/precision/"
        "F1, intra/inter/corpus distinct-1/2 of --samples responses per context.",
    )
    add_checkpoint_args(e)
    e.add_argument("--split", default="test", choices=["valid", "test"], help="which split")
    e.add_argument("--limit", type=int, default=0, help="score the first N pairs (0: all)")
    e.add_argument("--samples", type=int, default=None, help="responses per context")
    e.add_argument("--dump", metavar="FILE", help="write every scored pair as a JSON line")
    e.add_argument(
        "--act-control",
        type=int,
        default=0,
        metavar="N",
        help="also: with y set to each act, the share of N responses an act classifier "
        "(naive Bayes, trained on the training turns) assigns to it, against no control",
    )
    e.add_argument("--json", action="store_true", help="print the metrics as JSON")
    e.set_defaults(func=run_eval)


def _loaded(args):
    trained = load_for_use(args)
    if trained.model.kind != "dialogue":
        raise ValueError(f"{trained.path} is a {trained.model.kind} model, not a dialogue model")
    return trained


def encode_context(trained, turns: list, what: str = "--context"):
    """Turns typed by a person -> id arrays; an empty turn, or more turns than the model
    reads, is an error naming the value."""
    import numpy as np

    from minivae.dialogue.data import EOU, tokenize

    vocab, limit = trained.vocab, trained.model.config.max_context
    pieces = [piece for text in turns for piece in text.split(EOU)]
    if len(pieces) > limit:
        raise ValueError(
            f"{what}: the context has {len(pieces)} turns; the model reads at most {limit} "
            f"(max_context {limit}): give the last {limit}"
        )
    ids = []
    for piece in pieces:
        tokens = tokenize(piece)
        if not tokens:
            raise ValueError(f"{what}: an empty turn {piece!r}")
        # words the model does not know are read as <unk>, as in training
        ids.append(np.array(vocab.encode(tokens[: trained.train_config.max_words]), np.int64))
    return ids


def _act_id(name):
    from minivae.dialogue.data import ACTS

    return None if name is None else [ACTS.index(name)]


def run_respond(args) -> int:
    import numpy as np

    from minivae.dialogue.tasks import context_batch, respond

    try:
        if args.num < 1:
            raise ValueError(f"-n must be at least 1, got {args.num}")
        trained = _loaded(args)
        turns = encode_context(trained, args.context)
        batch = context_batch(turns, trained.model.config.max_context)
        rng = np.random.default_rng(args.seed)
        how = {"acts": _act_id(args.act), "kernel": args.kernel}
        out = respond(trained.model, trained.params, batch, args.num, rng, how)[0]
    except USE_ERRORS as e:
        return fail("dialog respond", e)
    for ids in out:
        print(trained.vocab.text(ids))
    return 0


def run_chat(args) -> int:
    import numpy as np

    from minivae.dialogue.tasks import context_batch, respond

    try:
        trained = _loaded(args)
    except USE_ERRORS as e:
        return fail("dialog chat", e)
    vocab, limit = trained.vocab, trained.model.config.max_context
    rng = np.random.default_rng(args.seed)
    tty = sys.stdin.isatty()
    history = []
    while True:
        if tty:
            print("you: ", end="", flush=True)
        line = sys.stdin.readline()
        if not line.strip():
            break
        try:
            history += encode_context(trained, [line.strip()], "input")
        except ValueError as e:  # more turns than the model reads on one line: say so
            print(f"(not understood: {e})", flush=True)
            continue
        history = history[-limit:]
        batch = context_batch(history, limit)
        how = {"acts": _act_id(args.act), "kernel": args.kernel}
        ids = respond(trained.model, trained.params, batch, 1, rng, how)[0][0]
        print(f"{'model: ' if tty else ''}{vocab.text(ids)}", flush=True)
        history = (history + [np.array(ids or [1], dtype=np.int64)])[-limit:]
    return 0


def run_eval(args) -> int:
    from dataclasses import replace

    from minivae.dialogue.tasks import act_control, dump_rows, response_metrics
    from minivae.evaluation import evaluate
    from minivae.training.trainer import eval_batches

    try:
        for name in ("limit", "act_control"):
            if getattr(args, name) < 0:
                flag = name.replace("_", "-")
                raise ValueError(f"--{flag} must be at least 0, got {getattr(args, name)}")
        trained = _loaded(args)
        cfg = replace(trained.train_config, kernel=args.kernel, seed=args.seed)
        if args.samples is not None:
            if args.samples < 1:
                raise ValueError(f"--samples must be at least 1, got {args.samples}")
            cfg = replace(cfg, num_samples=args.samples)
        data = cfg.prepare_data(vocab=trained.vocab)
        corpus = data.split(args.split)
        metrics = evaluate(
            trained.model,
            trained.params,
            eval_batches(corpus, cfg.batch_size),
            iw_samples=cfg.iw_samples,
            seed=cfg.seed,
            kernel=cfg.kernel,
        )
        scores, rows = response_metrics(
            trained.model, trained.params, cfg, data, args.split, args.limit
        )
        metrics.update(scores)
        if args.act_control:
            metrics.update(act_control(trained.model, trained.params, cfg, data, args.act_control))
        if args.dump:
            with open(args.dump, "w", encoding="utf-8") as f:
                for row in dump_rows(data.vocab, corpus, rows, cfg.max_len):
                    f.write(json.dumps(row) + "\n")
    except USE_ERRORS as e:
        return fail("dialog eval", e)
    if args.json:
        print(json.dumps(metrics, indent=2))
    else:
        for k, v in metrics.items():
            print(f"{k:<24} {v:.4f}" if isinstance(v, float) else f"{k:<24} {v}")
    return 0
