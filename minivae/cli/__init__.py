"""The ``minivae`` command: one subcommand per module in this folder.

Each module defines ``add_parser(subparsers)``, which registers its subcommand and
sets ``func`` (a function of the parsed args returning an exit code).
"""

from __future__ import annotations

import argparse
import importlib
import sys

# Module names under minivae.cli, in the order ``minivae --help`` lists them.
COMMANDS = ["train", "eval", "generate", "cvae", "gradcheck", "bench", "assignment"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="minivae",
        description="A text VAE written from scratch in array code.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"minivae.cli.{name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from minivae.backend import reuse_freed_memory

    parser = build_parser()
    args = parser.parse_args(argv)
    reuse_freed_memory()
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
