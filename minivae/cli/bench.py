"""``minivae bench``: speed figures, printed (``step``: the training step against PyTorch;
``kernels``: the fused LSTM cell against the array version)."""

from __future__ import annotations


def add_parser(sub) -> None:
    import dataclasses

    from minivae.translation.config import NMTConfig

    p = sub.add_parser(
        "bench",
        help="benchmarks: training steps vs PyTorch, LSTM kernels",
        description="Speed figures measured in this run. Without a subcommand: 'step'.",
    )
    bench_sub = p.add_subparsers(dest="bench_command", metavar="BENCH")
    step = bench_sub.add_parser("step", help="one PTB-sized training step, minivae vs PyTorch")
    _step_args(step)
    _step_args(p)
    p.set_defaults(func=run_step)
    step.set_defaults(func=run_step)
    nmt = bench_sub.add_parser(
        "nmt", help="one Multi30k-sized training step of the translation model vs PyTorch"
    )
    nmt.add_argument("--batch-size", type=int, default=64)
    nmt.add_argument("--src-len", type=int, default=13, help="longest source in the batch")
    nmt.add_argument("--seq-len", type=int, default=14, help="longest target in the batch")
    nmt.add_argument("--repeats", type=int, default=3, help="timed steps per turn (median)")
    nmt.add_argument("--rounds", type=int, default=5, help="turns taken by each contender")
    sizes = {f.name: f.default for f in dataclasses.fields(NMTConfig)}  # the default model's
    for name, text in (
        ("hidden_dim", "decoder LSTM size"),
        ("enc_hidden_dim", "encoder size per direction"),
        ("embed_dim", "word embedding size"),
        ("out_dim", "width of the output layer before the softmax"),
        ("attention_dim", "width of the additive attention"),
        ("latent_dim", "size of z"),
    ):
        nmt.add_argument("--" + name.replace("_", "-"), type=int, default=sizes[name], help=text)
    nmt.set_defaults(func=run_nmt)
    kernels = bench_sub.add_parser("kernels", help="the fused LSTM cell vs the array cell")
    kernels.add_argument("--quick", action="store_true", help="a small sweep")
    kernels.add_argument("--repeats", type=int, default=20)
    kernels.add_argument(
        "--dtype", nargs="+", default=["float32", "float64"], choices=["float32", "float64"]
    )
    kernels.set_defaults(func=run_kernels)
    ev = bench_sub.add_parser(
        "eval", help="the importance-weighted NLL of minivae eval vs the plain loop it replaced"
    )
    ev.add_argument("--corpus", help="sentences to score (default: random ones, PTB's lengths)")
    ev.add_argument("--sentences", type=int, default=400, help="how many")
    ev.add_argument("--iw-samples", type=int, default=10, help="importance samples K")
    ev.set_defaults(func=run_eval)


def _step_args(p) -> None:
    p.add_argument("--batch-size", type=int, default=32, help="sentences per step")
    p.add_argument("--seq-len", type=int, default=22, help="words per sentence")
    p.add_argument("--repeats", type=int, default=10, help="timed steps per turn (median)")
    p.add_argument("--rounds", type=int, default=7, help="turns taken by each contender")
    p.add_argument("--device", default="cpu", choices=["cpu", "gpu"], help="where to run")
    p.add_argument(
        "--thread-counts",
        type=int,
        nargs="+",
        default=None,
        help="BLAS / intra-op threads to measure at (default: 1 and every core)",
    )
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory processes")


def run_kernels(args) -> int:
    from minivae.backend import gpu_available
    from minivae.benchmarks.kernels import run_kernel_bench
    from minivae.cli.common import fail

    if args.repeats < 1:  # the median of no timings
        error = ValueError(f"--repeats must be at least 1, got {args.repeats}")
        return fail("bench kernels", error)
    sizes = [(16, 64), (64, 512)] if args.quick else None
    devices = ("cpu", "gpu") if gpu_available() else ("cpu",)
    run_kernel_bench(sizes=sizes, dtypes=args.dtype, repeats=args.repeats, devices=devices)
    return 0


def run_nmt(args) -> int:
    from minivae.benchmarks.nmt_step import run_nmt_step_bench
    from minivae.cli.common import USE_ERRORS, fail
    from minivae.threads import default_threads

    sizes = ("hidden_dim", "enc_hidden_dim", "embed_dim", "out_dim", "attention_dim")
    try:
        for name in ("batch_size", "src_len", "seq_len", "repeats", "rounds", *sizes):
            if getattr(args, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be at least 1")
        run_nmt_step_bench(
            N=args.batch_size,
            S=args.src_len,
            T=args.seq_len,
            repeats=args.repeats,
            rounds=args.rounds,
            latent_dim=args.latent_dim,
            threads=args.threads or default_threads(),
            **{name: getattr(args, name) for name in sizes},
        )
    except USE_ERRORS as e:
        return fail("bench nmt", e)
    return 0


def run_step(args) -> int:
    from minivae.backend import resolve_device
    from minivae.benchmarks.training_step import run_step_bench
    from minivae.cli.common import USE_ERRORS, fail

    try:
        for name in ("batch_size", "seq_len", "repeats", "rounds"):
            if getattr(args, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be at least 1")
        if args.thread_counts and min(args.thread_counts) < 1:
            raise ValueError("--thread-counts must be at least 1")
        device = resolve_device(args.device)
    except USE_ERRORS as e:
        return fail("bench", e)
    run_step_bench(
        N=args.batch_size,
        T=args.seq_len,
        repeats=args.repeats,
        rounds=args.rounds,
        device=device,
        threads=tuple(args.thread_counts) if args.thread_counts else None,
        memory=not args.no_memory,
    )
    return 0


def run_eval(args) -> int:
    from minivae.benchmarks.evaluation import run_eval_bench
    from minivae.cli.common import USE_ERRORS, fail

    try:
        if args.sentences < 1 or args.iw_samples < 1:
            raise ValueError("--sentences and --iw-samples must be at least 1")
        run_eval_bench(args.corpus, args.sentences, args.iw_samples)
    except USE_ERRORS as e:
        return fail("bench eval", e)
    return 0
