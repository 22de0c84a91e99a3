"""``minivae eval``: every likelihood metric of a checkpoint (any model) on a data set."""

from __future__ import annotations

from minivae.cli.common import USE_ERRORS, add_checkpoint_args, fail, load_for_use


def add_parser(sub) -> None:
    p = sub.add_parser(
        "eval",
        help="NLL, perplexity, KL, MI, active units of a checkpoint",
        description="Evaluate a checkpoint on its run's validation (or test) split, or on a "
        "file. Evaluation sets are scored whole: nothing is cut or dropped (what a file "
        "holds that cannot be scored is reported). With the defaults the numbers are the "
        "training report's: same importance samples, seed and batches.",
    )
    add_checkpoint_args(
        p, seed_default=None, seed_help="seed of the importance samples (default: the run's)"
    )
    p.add_argument("--split", default="valid", choices=["valid", "test"], help="the run's split")
    p.add_argument("--corpus", help="a text file, one sentence per line (unconditional models)")
    p.add_argument(
        "--pairs", help="a source<TAB>target file, one pair per line (conditional models)"
    )
    p.add_argument(
        "--iw-samples", type=int, default=None, help="importance samples K (default: the run's)"
    )
    p.add_argument(
        "--batch-size", type=int, default=None, help="sentences per batch (default: the run's)"
    )
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.add_argument("--progress", action="store_true", help="a progress bar")
    p.set_defaults(func=run)


def eval_set(trained, args):
    """-> (encoded set, a description) the command evaluates."""
    from minivae.data import Examples, encode_examples, read_pairs, read_sentences

    cfg = trained.train_config
    if args.corpus and args.pairs:
        raise ValueError("give --corpus or --pairs, not both")
    if args.corpus or args.pairs:
        if trained.model.conditional != bool(args.pairs):
            need = "--pairs (source<TAB>target)" if trained.model.conditional else "--corpus"
            raise ValueError(f"the {trained.model.kind} model is evaluated on {need}")
        if args.pairs:
            pairs = read_pairs(args.pairs, lowercase=cfg.lowercase)
            examples = Examples([t for _, t in pairs], [s for s, _ in pairs])
        else:
            examples = Examples(read_sentences(args.corpus, lowercase=cfg.lowercase))
        # With the model's vocabularies, as a test set: whole, nothing cut.
        encoded = encode_examples(examples, trained.vocab, trained.condition)
        return encoded, args.corpus or args.pairs
    data = cfg.prepare_data(vocab=trained.vocab, condition=trained.condition)
    if args.split == "test" and data.test is None:
        raise ValueError(
            f"the run has no test split (it was trained without a test file); evaluate a file "
            f"with {'--pairs' if trained.model.conditional else '--corpus'}"
        )
    return data.split(args.split), split_source(cfg, args.split, data)


def split_source(cfg, split: str, data) -> str:
    """Where a run's split came from, in words: its own file, or the part of the corpus held
    out of training (--valid-fraction), never "the test split of" a file it is not in."""
    own = getattr(cfg, split, None)
    if isinstance(own, str):
        return f"{split} file {own}"
    if split == "valid":
        fraction = getattr(cfg, "valid_fraction", None)
        share = f" ({fraction:.0%}, --valid-fraction)" if fraction else ""
        return f"the validation part{share} held out of training from {data.source}"
    return f"{split} split of {data.source}"


def run(args) -> int:
    import json

    from minivae.evaluation import evaluate
    from minivae.training.trainer import eval_batches

    try:
        trained = load_for_use(args)
        cfg = trained.train_config
        iw_samples = cfg.iw_samples if args.iw_samples is None else args.iw_samples
        batch_size = cfg.batch_size if args.batch_size is None else args.batch_size
        if iw_samples < 1 or batch_size < 1:  # K=0 would print the -ELBO as an "NLL"
            raise ValueError(
                f"--iw-samples must be at least 1 (got {iw_samples}) and --batch-size at "
                f"least 1 (got {batch_size})"
            )
        encoded, source = eval_set(trained, args)
        m = evaluate(
            trained.model,
            trained.params,
            eval_batches(encoded, batch_size),
            iw_samples=iw_samples,
            seed=cfg.seed if args.seed is None else args.seed,
            kernel=args.kernel,
            progress=args.progress,
        )
    except USE_ERRORS as e:
        return fail("eval", e)
    m["source"] = source
    m["encoding"] = encoded.report_lines()
    if args.json:
        print(json.dumps(m, indent=2))
        return 0
    from minivae.training.report import log_metrics

    print(f"{source}: {m['num_sentences']} sentences, {m['num_tokens']} tokens (words + <eos>)")
    for line in encoded.report_lines()[1:]:
        print(f"  note: {line}")
    log_metrics(m, trained.model, iw_samples)
    print(f"    perplexity from the ELBO bound {m['elbo_ppl']:.3f}")
    return 0
