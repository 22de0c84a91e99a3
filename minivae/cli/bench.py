"""``minivae bench``: speed figures, printed (``step``: the training step against PyTorch;
``kernels``: the fused LSTM cell against the array version)."""

from __future__ import annotations


def add_parser(sub) -> None:
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
    nmt.add_argument("--hidden-dim", type=int, default=512, help="decoder LSTM size")
    nmt.add_argument("--enc-hidden-dim", type=int, default=256, help="encoder size per direction")
    nmt.add_argument("--embed-dim", type=int, default=256)
    nmt.add_argument("--out-dim", type=int, default=512)
    nmt.add_argument("--attention-dim", type=int, default=256)
    nmt.add_argument("--latent-dim", type=int, default=32)
    nmt.set_defaults(func=run_nmt)
    kernels = bench_sub.add_parser("kernels", help="the fused LSTM cell vs the array cell")
    kernels.add_argument("--quick", action="store_true", help="a small sweep")
    kernels.add_argument("--repeats", type=int, default=20)
    kernels.add_argument(
        "--dtype", nargs="+", default=["float32", "float64"], choices=["float32", "float64"]
    )
    kernels.set_defaults(func=run_kernels)


def _step_args(p) -> None:
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seq-len", type=int, default=22)
    p.add_argument("--repeats", type=int, default=10, help="timed steps per turn (median)")
    p.add_argument("--rounds", type=int, default=7, help="turns taken by each contender")
    p.add_argument("--device", default="cpu", choices=["cpu", "gpu"])


def run_kernels(args) -> int:
    from minivae.backend import gpu_available
    from minivae.benchmarks.kernels import run_kernel_bench

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
        device = resolve_device(args.device)
    except USE_ERRORS as e:
        return fail("bench", e)
    run_step_bench(
        N=args.batch_size, T=args.seq_len, repeats=args.repeats, rounds=args.rounds, device=device
    )
    return 0
