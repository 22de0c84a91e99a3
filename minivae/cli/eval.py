"""``minivae eval``: every metric of a checkpoint on a data set."""

from __future__ import annotations

from minivae.cli.common import add_checkpoint_args, fail, load_for_use


def add_parser(sub) -> None:
    p = sub.add_parser(
        "eval",
        help="NLL, perplexity, KL, MI, active units of a checkpoint",
        description="Evaluate a checkpoint on its validation split, or on a "
        "text file given with --corpus.",
    )
    add_checkpoint_args(p)
    p.add_argument(
        "--corpus", help="text file, one sentence per line (default: the run's validation split)"
    )
    p.add_argument("--iw-samples", type=int, default=50, help="importance samples K for the NLL")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    import json

    from minivae.data import encode_sentences, iterate_batches, read_sentences
    from minivae.evaluation import evaluate
    from minivae.training.config import TrainConfig
    from minivae.training.dataset import prepare_data

    try:
        params, config, vocab, meta, _ = load_for_use(args)
        cfg = TrainConfig.from_dict(meta.get("train_config", {}))
        if args.corpus:
            encoded = encode_sentences(
                read_sentences(args.corpus, lowercase=cfg.lowercase),
                vocab,
                cfg.max_len,
                cfg.overflow,
            )
            source = args.corpus
        else:
            encoded = prepare_data(cfg, vocab=vocab).valid
            source = f"validation split of {cfg.corpus or 'the built-in corpus'}"
        batches = list(iterate_batches(encoded, args.batch_size, shuffle=False))
        m = evaluate(params, config, batches, iw_samples=args.iw_samples, seed=args.seed)
    except ValueError as e:
        return fail("eval", e)
    if args.json:
        print(json.dumps(m, indent=2))
        return 0
    print(f"{source}: {m['num_sentences']} sentences, {m['num_tokens']} tokens (words + <eos>)")
    print(f"  -ELBO        {m['nelbo']:.3f} nats/sentence (rec {m['rec']:.3f} + KL {m['kl']:.3f})")
    print(f"  NLL (IW, K={args.iw_samples}) {m['nll']:.3f} nats/sentence")
    print(f"  perplexity   {m['ppl']:.3f} (from the ELBO: {m['elbo_ppl']:.3f})")
    print(f"  MI I(x;z)    {m['mi']:.3f} nats")
    print(f"  active units {m['active_units']}/{config.latent_dim}")
    return 0
