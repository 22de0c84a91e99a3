"""The tools behind docs/results.md: tables and the latent-size plot from run folders."""

import os
import re
import subprocess
from pathlib import Path

import pytest

from minivae.benchmarks.latent_size import main as latent_main
from minivae.benchmarks.latent_size import plot
from minivae.benchmarks.runs_table import markdown, run_row
from minivae.cli import main

ROOT = Path(__file__).resolve().parent.parent

SMALL = ["--builtin-size", "200", "--epochs", "1", "--embed-dim", "8", "--hidden-dim", "8"]
SMALL += ["--iw-samples", "2", "--device", "cpu", "--no-progress"]


def test_tables_and_the_latent_size_plot_from_run_folders(tmp_path, capsys):
    test = tmp_path / "test.txt"
    test.write_text("the chef cooked a tasty soup\nthe band played a noisy song\n")
    runs = []
    for z in (2, 4):
        out = tmp_path / f"z{z}"
        assert (
            main(["train", *SMALL, "--latent-dim", str(z), "--test", str(test), "--out", str(out)])
            == 0
        )
        runs.append(out)
    rows = {r.name: run_row(r) for r in runs}
    assert all(row["epochs"] == 1 and row["nll"] > 0 for row in rows.values())
    table = markdown(rows)
    assert table.count("\n") == 3 and "| z2 |" in table and "| z4 |" in table
    assert "K=100" not in table
    # A tighter estimate saved by `minivae eval --json` gets its own column, blank where absent.
    capsys.readouterr()
    assert main(["eval", str(runs[0]), "--split", "test", "--iw-samples", "3", "--json"]) == 0
    (runs[0] / "test-k100.json").write_text(capsys.readouterr().out)
    rows = {r.name: run_row(r) for r in runs}
    lines = markdown(rows).splitlines()
    assert "NLL K=100" in lines[0]
    assert lines[2].split("|")[3].strip() == f"{rows['z2']['nll_k100']:.1f}"
    assert lines[3].split("|")[3].strip() == ""
    png = plot(runs, tmp_path / "latent.png")
    assert png.stat().st_size > 10_000


def test_per_layer_columns_of_a_hierarchical_run_are_named():
    row = {"nll": 119.0, "ppl": 228.4, "kl": 5.27, "mi": 2.4, "au": 48, "epoch_s": 14.0}
    row |= {"seconds": 213.0, "kl_z1": 3.57, "kl_z2": 1.71, "active_units_z1": 32}
    head, _, cells = markdown({"hvae": row}).splitlines()
    assert head.split(" | ")[-6:-2] == ["AU", "AU z1", "KL z1", "KL z2"]
    assert cells.split(" | ")[-6:-2] == ["48", "32", "3.57", "1.71"]


def test_latent_size_plot_names_an_argument_that_is_not_a_run(tmp_path, capsys):
    log = tmp_path / "z4.log"  # what runs/ptb/pretrain-fb-z* also matches
    log.write_text("a training log\n")
    with pytest.raises(SystemExit) as stop:
        latent_main([str(log), "--out", str(tmp_path / "x.png")])
    assert stop.value.code == 2
    assert "z4.log is not a finished run folder" in capsys.readouterr().err


def test_runs_table_refuses_what_is_not_a_finished_run(tmp_path, capsys):
    from minivae.benchmarks.runs_table import main as runs_table

    log = tmp_path / "none.log"  # run.sh leaves NAME.log beside each run folder
    log.write_text("training...")
    (tmp_path / "running").mkdir()
    with pytest.raises(SystemExit) as stop:
        runs_table([str(log), str(tmp_path / "running")])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "not a finished run folder" in err and "none.log" in err and "running" in err


def fake_minivae(tmp_path):
    """A `minivae` on PATH that writes down the arguments it was given (experiments/*.sh run
    for hours with the real one)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "minivae"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {tmp_path / "calls"}\n')
    fake.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "RUNS": str(tmp_path / "r")}


def test_run_sh_runs_named_rows_and_seed_replicates(tmp_path):
    env = fake_minivae(tmp_path)
    script = ROOT / "experiments" / "run.sh"
    names = ["ptb/pretrain-threshold-s1", "multi30k/aggressive-he"]
    subprocess.run(["bash", str(script), "--run", *names], env=env, check=True, cwd=ROOT)
    calls = (tmp_path / "calls").read_text().splitlines()
    assert len(calls) == 2
    ptb = next(c for c in calls if "ptb.valid.txt" in c).split()
    # The -s1 replicate is the row's command with --seed 1, into its own folder.
    assert ptb[ptb.index("--seed") + 1] == "1" and "--kl-threshold" in ptb
    assert ptb[ptb.index("--out") + 1].endswith("ptb/pretrain-threshold-s1")
    assert ptb[ptb.index("--ae-pretrain-epochs") + 1] == "5"
    m30k = next(c for c in calls if "multi30k" in c).split()
    assert "--aggressive" in m30k and "--no-share-embeddings" in m30k and "--seed" not in m30k
    # An unknown name stops before anything runs.
    bad = subprocess.run(
        ["bash", str(script), "--run", "ptb/none", "ptb/bogus"],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert bad.returncode == 2 and "no run named ptb/bogus" in bad.stderr
    assert len((tmp_path / "calls").read_text().splitlines()) == 2


def test_nmt_sh_latent_uses_only_real_options():
    """experiments/nmt.sh (its latent table too) gives `minivae nmt train` only options the
    command knows."""
    from minivae.cli import build_parser

    script = ROOT / "experiments" / "nmt.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    commands = build_parser()._subparsers._group_actions[0].choices
    nmt = commands["nmt"]._subparsers._group_actions[0].choices["train"]
    used = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]+", script.read_text()))
    used -= {"--translation", "--names"}  # runs_table's
    assert {"--kl-threshold", "--kl-cycle-start", "--eval-limit"} <= used
    assert used <= set(nmt._option_string_actions), sorted(used - set(nmt._option_string_actions))


def test_dialog_sh_runs_each_row_with_real_options(tmp_path):
    """experiments/dialog.sh: the table's four rows as `minivae dialog train` options the
    command knows, each into its own folder; an unknown row stops before anything runs."""
    from minivae.cli import build_parser

    env = fake_minivae(tmp_path)
    script = ROOT / "experiments" / "dialog.sh"
    # The fake writes no report.json, so the closing table refuses the folders (exit 2).
    subprocess.run(["bash", str(script), "hred", "kgcvae"], env=env, cwd=ROOT, capture_output=True)
    calls = sorted(c.split() for c in (tmp_path / "calls").read_text().splitlines())
    assert [c[c.index("--out") + 1].rsplit("/", 1)[1] for c in calls] == ["hred", "kgcvae"]
    hred, kg = calls
    assert hred[hred.index("--latent-dim") + 1] == "0" and "--no-bow" in hred
    assert "--latent-dim" not in kg and "--max-minutes" in kg
    commands = build_parser()._subparsers._group_actions[0].choices
    train = commands["dialog"]._subparsers._group_actions[0].choices["train"]
    used = {a for c in calls for a in c if a.startswith("--")}
    assert used <= set(train._option_string_actions), sorted(used)
    bad = subprocess.run(
        ["bash", str(script), "kgcvae", "vhred"], env=env, capture_output=True, text=True
    )
    assert bad.returncode == 2 and "unknown row vhred" in bad.stderr
    assert len((tmp_path / "calls").read_text().splitlines()) == 2
    # The rows run only when named (the tries with Zhao et al.'s settings) take real options too.
    tries = ["kgcvae-gru-z200", "kgcvae-zhao-sizes"]
    subprocess.run(["bash", str(script), *tries], env=env, cwd=ROOT, capture_output=True)
    extra = [c.split() for c in (tmp_path / "calls").read_text().splitlines()[2:]]
    assert sorted(c[c.index("--out") + 1].rsplit("/", 1)[1] for c in extra) == tries
    assert all(c[c.index("--cell") + 1] == "gru" for c in extra)
    used = {a for c in extra for a in c if a.startswith("--")}
    assert used <= set(train._option_string_actions), sorted(used)
