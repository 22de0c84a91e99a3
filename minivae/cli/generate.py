"""``minivae sample``, ``minivae reconstruct`` and ``minivae interpolate``, for every model
(conditional ones take ``--condition``)."""

from __future__ import annotations

from minivae.cli.common import USE_ERRORS, add_checkpoint_args, fail, load_for_use


def add_decoding_args(p) -> None:
    p.add_argument(
        "--method", default="greedy", choices=["greedy", "sample", "beam"], help="how to decode"
    )
    p.add_argument("--temperature", type=float, default=1.0, help="softmax temperature (sample)")
    p.add_argument(
        "--top-k", type=int, default=0, help="sample among the k likeliest words (0: all)"
    )
    p.add_argument("--beam-size", type=int, default=5, help="beam width (beam)")
    p.add_argument("--max-len", type=int, default=40, help="longest output in words")


def add_condition_arg(p, required: bool = False) -> None:
    p.add_argument(
        "--condition",
        action="append",
        required=required,
        metavar="TEXT",
        help="conditional models: a class name or a source sentence; repeat for several",
    )


def add_sample_parser(
    sub, name: str, help: str, required_condition: bool = False, command: str | None = None
):
    """``command``: the name errors give (default ``name``; "cvae generate" in a group)."""
    p = sub.add_parser(name, help=help, description=help)
    add_checkpoint_args(p)
    p.add_argument("-n", "--num", type=int, default=5, help="sentences (per condition)")
    add_condition_arg(p, required_condition)
    p.add_argument(
        "--prior-mean", action="store_true", help="decode the prior's mean (one sentence each)"
    )
    add_decoding_args(p)
    p.set_defaults(func=lambda args: run_sample(args, command or name))
    return p


def add_parser(sub) -> None:
    add_sample_parser(sub, "sample", "sentences from the prior z ~ p(z) (p(z|c) for a condition)")

    p = sub.add_parser(
        "reconstruct",
        help="encode sentences and decode their posterior mean",
        description="Encode sentences and decode their posterior mean.",
    )
    add_checkpoint_args(p)
    p.add_argument("sentences", nargs="+", help="sentences to reconstruct (quote each)")
    add_condition_arg(p)
    add_decoding_args(p)
    p.set_defaults(func=run_reconstruct)

    p = sub.add_parser(
        "interpolate",
        help="decode points between two sentences' latent codes",
        description="Decode points on a path between the posterior means of two sentences.",
    )
    add_checkpoint_args(p)
    p.add_argument("start", help="first sentence")
    p.add_argument("end", help="second sentence")
    p.add_argument("--steps", type=int, default=7, help="points on the path, ends included")
    p.add_argument("--mode", default="linear", choices=["linear", "slerp"], help="the path")
    p.add_argument(
        "--layer",
        help="interpolate in this latent layer (a model with several: the hierarchical VAE's "
        "z1 or z2); default: between the decoder's codes",
    )
    add_decoding_args(p)
    p.set_defaults(func=run_interpolate)


def _decode(args, trained, code):
    import numpy as np

    from minivae.generation import decode

    return decode(
        trained.model,
        trained.params,
        code,
        method=args.method,
        max_len=args.max_len,
        temperature=args.temperature,
        top_k=args.top_k,
        beam_size=args.beam_size,
        rng=np.random.default_rng(args.seed),
        kernel=args.kernel,
    )


def _conditions(args, trained, count: int | None = None):
    """``--condition`` encoded as (src, src_lengths), or None for an unconditional model;
    ``count``: how many a conditional model needs (one per sentence)."""
    from minivae.data import pad_conditions

    texts = getattr(args, "condition", None) or []
    if not trained.model.conditional:
        if texts:
            raise ValueError(f"the {trained.model.kind} model takes no --condition")
        return None
    if not texts or (count is not None and len(texts) != count):
        raise ValueError(
            f"the {trained.model.kind} model needs --condition"
            + (f" once per sentence ({count})" if count is not None else "")
        )
    cfg = trained.train_config
    return pad_conditions(trained.condition.encode_texts(texts, cfg.max_len, cfg.lowercase))


def _posterior(args, trained, sentences):
    """The posterior of sentences typed by a person."""
    from minivae.data import pad_batch

    lowercase = trained.train_config.lowercase
    ids = [trained.vocab.encode_text(text, lowercase) for text in sentences]
    batch = pad_batch(ids, range(len(ids)))
    conditions = _conditions(args, trained, len(sentences))
    if conditions is not None:
        batch = batch._replace(src=conditions[0], src_lengths=conditions[1])
    return trained.model.posterior(trained.params, batch, args.kernel)


def _mean_codes(args, trained, sentences):
    """The posterior-mean codes of sentences typed by a person."""
    return trained.model.mean_code(trained.params, _posterior(args, trained, sentences))


def run_sample(args, command: str = "sample") -> int:
    import numpy as np

    try:
        if args.num < 1:
            raise ValueError(f"-n must be at least 1, got {args.num}")
        trained = load_for_use(args)
        conditions = _conditions(args, trained)
        context = None
        if conditions is not None:
            context = trained.model.condition_context(trained.params, *conditions, args.kernel)
        num = 1 if args.prior_mean else args.num
        code = trained.model.prior_code(
            trained.params, num, np.random.default_rng(args.seed), context, args.prior_mean
        )
        out = _decode(args, trained, code)
    except USE_ERRORS as e:
        return fail(command, e)
    if context is None:
        for ids in out:
            print(trained.vocab.text(ids))
        return 0
    for i, text in enumerate(args.condition):
        print(f"[{text}]")
        for ids in out[i * num : (i + 1) * num]:
            print("  " + trained.vocab.text(ids))
    return 0


def run_reconstruct(args) -> int:
    try:
        trained = load_for_use(args)
        outs = _decode(args, trained, _mean_codes(args, trained, args.sentences))
    except USE_ERRORS as e:
        return fail("reconstruct", e)
    for text, out in zip(args.sentences, outs):
        print(f"in:  {text}\nout: {trained.vocab.text(out)}")
    return 0


def run_interpolate(args) -> int:
    from minivae.generation import posterior_path

    try:
        if args.steps < 2:
            raise ValueError(f"--steps must be at least 2, got {args.steps}")
        trained = load_for_use(args)
        if trained.model.conditional:
            raise ValueError("interpolate is for unconditional models")
        model = trained.model
        if args.layer is not None and args.layer not in model.latent_sizes:
            layers = ", ".join(model.latent_sizes)
            raise ValueError(f"--layer must be one of the {model.kind} model's layers: {layers}")
        post = _posterior(args, trained, [args.start, args.end])
        path = posterior_path(model, trained.params, post, args.layer, args.steps, args.mode)
        outs = _decode(args, trained, path)
    except USE_ERRORS as e:
        return fail("interpolate", e)
    for t, ids in enumerate(outs):
        print(f"{t / (args.steps - 1):4.2f}  {trained.vocab.text(ids)}")
    return 0
