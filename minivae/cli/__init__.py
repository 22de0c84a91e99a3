"""The ``minivae`` command: one subcommand per module in this folder.

Each module defines ``add_parser(subparsers)``, which registers its subcommand and
sets ``func`` (a function of the parsed args returning an exit code). Every command runs
under one thread policy (``minivae.threads``) and reports user errors as
``minivae COMMAND: error: ...`` with exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# Module names under minivae.cli, in the order ``minivae --help`` lists them.
COMMANDS = [
    "train",
    "eval",
    "generate",
    "cvae",
    "nmt",
    "dialog",
    "gradcheck",
    "bench",
    "assignment",
    "data",
]


def _leaf_parsers(parser):
    """Every parser that runs a command (not just one that chooses a subcommand)."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield parser
    for action in subs:
        for child in dict.fromkeys(action.choices.values()):  # aliases map to one parser
            yield from _leaf_parsers(child)


def build_parser() -> argparse.ArgumentParser:
    import minivae
    from minivae.cli.options import HelpFormatter, Parser

    # Parser (mistyped options and commands get a "did you mean"): subcommands inherit it.
    parser = Parser(
        prog="minivae",
        description="A text VAE written from scratch in array code.",
    )
    parser.add_argument("--version", action="version", version=f"minivae {minivae.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"minivae.cli.{name}").add_parser(sub)

    for leaf in _leaf_parsers(parser):
        leaf.formatter_class = HelpFormatter  # every option's default, shown once
        if leaf is not parser and "--threads" not in leaf._option_string_actions:
            leaf.add_argument(
                "--threads",
                "--blas-threads",
                type=int,
                default=None,
                help="BLAS threads for matrix products (default: $MINIVAE_THREADS or 1; "
                "see minivae/threads.py)",
            )
    return parser


def main(argv: list[str] | None = None) -> int:
    from minivae.backend import reuse_freed_memory
    from minivae.threads import thread_policy

    parser = build_parser()
    args = parser.parse_args(argv)
    reuse_freed_memory()
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    threads = getattr(args, "threads", None)
    if threads is not None and threads < 1:
        from minivae.cli.common import fail

        return fail(args.command, ValueError(f"--threads must be at least 1, got {threads}"))
    from minivae.cli.common import closed_pipe, tolerant_output

    tolerant_output()
    try:
        with thread_policy(threads):
            code = int(args.func(args) or 0)
            sys.stdout.flush()  # a closed pipe shows here, not at exit
            return code
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return closed_pipe()
