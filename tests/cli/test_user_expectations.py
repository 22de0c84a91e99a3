"""Small things a user expects of the command line and the repository (issue 31): a
version, a suggestion for a mistyped option or command, progress bars only on a terminal,
git ignoring what the documented commands write, and the README's commands working in the
order it gives them."""

from __future__ import annotations

import importlib.metadata
import io
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

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
        (["bench", "kernels", "--quik"], "minivae bench kernels", "did you mean --quick?"),
        (["assignment", "--hlep"], "minivae assignment", "did you mean --help?"),
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
        (["bench", "--zzzqqq"], "minivae bench"),  # a command that has subcommands of its own
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


# -- progress bars: only on a terminal ---------------------------------------------------------

TINY = ["--builtin-size", "300", "--embed-dim", "8", "--hidden-dim", "8", "--latent-dim", "2"]
TINY += ["--epochs", "1", "--iw-samples", "1", "--device", "cpu"]


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("terminal", [False, True])
def test_progress_bars_only_on_a_terminal(terminal, tmp_path, monkeypatch, capsys):
    from minivae.progress import progress_bar

    stream = Terminal() if terminal else io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    for _ in progress_bar(range(3), desc="counting"):
        pass
    for _ in progress_bar(range(3), show=False, desc="hidden"):
        pass
    # The whole command: a training's bars (and the final evaluation's) follow the policy.
    assert main(["train", *TINY, "--out", str(tmp_path / "run")]) == 0
    written = stream.getvalue()
    assert "hidden" not in written
    if terminal:
        assert "counting" in written and "epoch 1/1" in written
    else:
        assert written == "", written[:300]


# -- the tutorials extra ---------------------------------------------------------------------


def test_the_tutorials_extra_has_what_the_notebooks_progress_bars_need():
    """In a notebook, tqdm.auto draws a widget (ipywidgets); without it tqdm warns and falls
    back to text bars."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    extras = pyproject["project"]["optional-dependencies"]
    names = {re.split(r"[<>=!~ \[]", r, maxsplit=1)[0] for r in extras["tutorials"]}
    assert "tqdm.auto" in (ROOT / "minivae" / "progress.py").read_text()
    assert {"ipywidgets", "jupyterlab", "jupytext", "ipykernel"} <= names


def test_a_notebooks_progress_bar_is_a_widget_not_text():
    """The bar in a notebook, as a tutorial's reader gets it (the test extra has ipywidgets
    too): a widget, no "IProgress not found" warning, no text bar in the cell's output."""
    nbformat = pytest.importorskip("nbformat", reason="the notebooks need the [test] extra")
    nbclient = pytest.importorskip("nbclient", reason="the notebooks need the [test] extra")
    notebook = nbformat.v4.new_notebook()
    notebook.cells.append(
        nbformat.v4.new_code_cell(
            "from minivae.progress import progress_bar\n"
            "for _ in progress_bar(range(3), desc='counting'):\n    pass"
        )
    )
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    outputs = notebook.cells[0].outputs
    kinds = [set(o.get("data", {})) for o in outputs if o.output_type == "display_data"]
    assert any("application/vnd.jupyter.widget-view+json" in k for k in kinds), outputs
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "IProgress" not in text and "counting" not in text, text


# -- git ignores what the documented commands write -------------------------------------------

ROOT = Path(__file__).resolve().parents[2]


def documented_outputs() -> set[str]:
    """Relative paths that the README's, the docs' and the experiments' commands write: every
    --out and --results, the tutorials' run folders, the scripts' $RUNS folders, the
    commands' default run folders."""
    from minivae.conditional.run_config import CVAETrainConfig
    from minivae.model.run_config import TrainConfig
    from minivae.translation.run_config import NMTTrainConfig

    files = [ROOT / "README.md", *ROOT.glob("docs/*.md"), ROOT / "tutorials" / "README.md"]
    files += [*ROOT.glob("experiments/*.sh"), *ROOT.glob("minivae/assignments/instructions/*")]
    found = {TrainConfig().out, CVAETrainConfig().out, NMTTrainConfig().out}
    for path in files:
        text = path.read_text()
        found |= set(re.findall(r"--(?:out|results)[ =]([^\s`\"')]+)", text))
        default = re.search(r"RUNS=\$\{RUNS:-([\w.-]+)\}", text)
        if default:
            found.add(default[1])
            found |= {f"{default[1]}-{m}" for m in re.findall(r"\$RUNS-([\w.-]+)", text)}
    for path in ROOT.glob("tutorials/*.py"):
        found |= set(re.findall(r'out=f?"([^"{]+)', path.read_text()))
    return {p for p in found if not p.startswith(("/", "..", "$", "~"))}


@pytest.mark.skipif(
    shutil.which("git") is None or not (ROOT / ".git").exists(), reason="not a git checkout"
)
def test_git_ignores_what_the_documented_commands_write():
    outputs = documented_outputs()
    # The search finds them: the ones the issue named, and a student copy.
    assert {"runs/latest", "runs-quick", "runs/collapse", "hw-lstm", "out.json"} <= outputs
    tracked = set(
        subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    )
    written = []
    for path in sorted(outputs - tracked):  # a committed figure (docs/*.png) is meant to be
        written.append(path if Path(path).suffix else f"{path.rstrip('/')}/best.npz")
    proc = subprocess.run(
        ["git", "check-ignore", "--no-index", "--verbose", "--non-matching", *written],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    not_ignored = [line.split("\t")[-1] for line in proc.stdout.splitlines() if line[:2] == "::"]
    assert not_ignored == [], f"not ignored by git: {not_ignored}"


# -- the README's commands, in its order --------------------------------------------------------


def readme_command(pattern: str) -> list[str]:
    """The README's ``minivae ...`` command matching ``pattern`` (code block or inline)."""
    text = (ROOT / "README.md").read_text().replace("\n", " ")
    found = re.search(r"(minivae train(?: --?[\w-]+(?: [\w./-]+)?)*)", text[text.index(pattern) :])
    return shlex.split(found[1])[1:]


def test_the_readmes_collapse_command_works_right_after_the_quick_start(
    tmp_path, monkeypatch, capsys
):
    """Quick start, then the collapse command, as the README writes them, in one folder (at
    a tiny size: the options appended replace the defaults, not the README's)."""
    monkeypatch.chdir(tmp_path)
    quick = readme_command("pip install -e . && minivae train")
    collapse = readme_command("minivae train --kl-schedule constant")
    assert quick == ["train"] and collapse[:7] == [
        "train",
        "--kl-schedule",
        "constant",
        "--word-dropout",
        "0",
        "--free-bits",
        "0",
    ]
    assert main([*quick, *TINY]) == 0
    code = main([*collapse, *TINY])
    assert code == 0, capsys.readouterr().err
    runs = sorted(p.parent.relative_to(tmp_path) for p in tmp_path.rglob("best.npz"))
    assert len(runs) == 2 and Path("runs/latest") in runs
