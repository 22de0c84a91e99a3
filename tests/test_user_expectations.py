"""Small things a user expects of the command line and the repository (issue 31): a
version, a suggestion for a mistyped option or command, progress bars only on a terminal,
git ignoring what the documented commands write, and the README's commands working in the
order it gives them."""

from __future__ import annotations

import importlib.metadata

import pytest

import minivae
from minivae.cli import _leaf_parsers, build_parser, main
from minivae.cli.options import Parser


def run_cli(argv, capsys) -> tuple[int, str, str]:
    """main(argv) -> exit code, stdout, stderr (argparse's exits included)."""
    try:
        code = main(argv)
    except SystemExit as exit:
        code = exit.code
    out = capsys.readouterr()
    return code, out.out, out.err


# -- --version -------------------------------------------------------------------------------


def test_version_is_the_installed_packages(capsys):
    code, out, _ = run_cli(["--version"], capsys)
    assert code == 0
    assert out.strip() == f"minivae {minivae.__version__}"
    assert minivae.__version__ == importlib.metadata.version("minivae")


# -- did you mean ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, command, expected",
    [
        (["train", "--latnt-dim", "8"], "minivae train", "did you mean --latent-dim?"),
        (["train", "--latent_dim=8"], "minivae train", "did you mean --latent-dim?"),
        (["eval", "run", "--iw-sampels", "5"], "minivae eval", "did you mean --iw-samples?"),
        (["cvae", "train", "--tsk", "dialogue"], "minivae cvae train", "did you mean --task?"),
        (["--verson"], "minivae", "did you mean --version?"),
        (["trian"], "minivae", "did you mean 'train'?"),
        (["assignment", "mkae", "lstm"], "minivae assignment", "did you mean 'make'?"),
        (["train", "--kl-schedule", "cyclicl"], "minivae train", "did you mean 'cyclical'?"),
    ],
)
def test_a_mistyped_option_command_or_choice_names_the_nearest(argv, command, expected, capsys):
    code, _, err = run_cli(argv, capsys)
    assert code == 2
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"{command}: error: ") and expected in last, err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "argv, command",
    [
        (["train", "--zzzqqq"], "minivae train"),
        (["train", "--versoin"], "minivae train"),  # nothing near among train's options
        (["eval", "a", "b"], "minivae eval"),
        (["zzzqqq"], "minivae"),
    ],
)
def test_nonsense_gets_no_made_up_suggestion(argv, command, capsys):
    code, _, err = run_cli(argv, capsys)
    assert code == 2
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"{command}: error: ") and "did you mean" not in last, err


def test_every_command_parses_with_the_one_parser_class_and_abbreviations_still_work():
    parser = build_parser()
    leaves = list(_leaf_parsers(parser))
    assert len(leaves) > 10 and all(isinstance(leaf, Parser) for leaf in leaves)
    args = parser.parse_args(["train", "--hidden", "8", "--epochs", "1"])
    assert args.hidden_dim == 8 and args.epochs == 1
