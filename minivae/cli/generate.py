"""``minivae sample``, ``minivae reconstruct`` and ``minivae interpolate``."""

from __future__ import annotations

from minivae.cli.common import add_checkpoint_args, encode_text, fail, load_for_use


def add_decoding_args(p) -> None:
    p.add_argument("--method", default="greedy", choices=["greedy", "sample", "beam"])
    p.add_argument("--temperature", type=float, default=1.0, help="softmax temperature (sample)")
    p.add_argument(
        "--top-k", type=int, default=0, help="sample among the k likeliest words (0: all)"
    )
    p.add_argument("--beam-size", type=int, default=5)
    p.add_argument("--max-len", type=int, default=40)


def add_parser(sub) -> None:
    p = sub.add_parser("sample", help="sentences from the prior z ~ N(0, I)")
    add_checkpoint_args(p)
    p.add_argument("-n", "--num", type=int, default=10, help="number of sentences")
    add_decoding_args(p)
    p.set_defaults(func=run_sample)

    p = sub.add_parser("reconstruct", help="encode sentences and decode their posterior mean")
    add_checkpoint_args(p)
    p.add_argument("sentences", nargs="+", help="sentences to reconstruct (quote each)")
    add_decoding_args(p)
    p.set_defaults(func=run_reconstruct)

    p = sub.add_parser("interpolate", help="decode points between two sentences' latent codes")
    add_checkpoint_args(p)
    p.add_argument("start", help="first sentence")
    p.add_argument("end", help="second sentence")
    p.add_argument("--steps", type=int, default=7)
    p.add_argument("--mode", default="linear", choices=["linear", "slerp"])
    add_decoding_args(p)
    p.set_defaults(func=run_interpolate)


def _decode(args, params, config, z):
    import numpy as np

    from minivae.generation import decode

    return decode(
        params,
        config,
        z,
        method=args.method,
        max_len=args.max_len,
        temperature=args.temperature,
        top_k=args.top_k,
        beam_size=args.beam_size,
        rng=np.random.default_rng(args.seed),
    )


def _posterior_means(params, config, vocab, meta, sentences):
    from minivae.model.inference import posterior

    lowercase = meta.get("train_config", {}).get("lowercase", False)
    mus = []
    for text in sentences:
        tokens, lengths = encode_text(vocab, text, lowercase)
        mus.append(posterior(params, config, tokens, lengths)[0])
    return mus


def run_sample(args) -> int:
    import numpy as np

    try:
        params, config, vocab, _, xp = load_for_use(args)
        dtype = params["out_W"].dtype
        z = xp.asarray(
            np.random.default_rng(args.seed).standard_normal((args.num, config.latent_dim)), dtype
        )
        for ids in _decode(args, params, config, z):
            print(vocab.text(ids))
    except ValueError as e:
        return fail("sample", e)
    return 0


def run_reconstruct(args) -> int:
    try:
        params, config, vocab, meta, _ = load_for_use(args)
        for text, mu in zip(
            args.sentences, _posterior_means(params, config, vocab, meta, args.sentences)
        ):
            out = _decode(args, params, config, mu)[0]
            print(f"in:  {text}\nout: {vocab.text(out)}")
    except ValueError as e:
        return fail("reconstruct", e)
    return 0


def run_interpolate(args) -> int:
    from minivae.generation import interpolate

    try:
        params, config, vocab, meta, _ = load_for_use(args)
        mu1, mu2 = _posterior_means(params, config, vocab, meta, [args.start, args.end])
        path = interpolate(mu1[0], mu2[0], steps=args.steps, mode=args.mode)
        for t, ids in enumerate(_decode(args, params, config, path)):
            print(f"{t / max(args.steps - 1, 1):4.2f}  {vocab.text(ids)}")
    except ValueError as e:
        return fail("interpolate", e)
    return 0
