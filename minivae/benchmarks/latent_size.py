"""Test NLL, KL, mutual information and active units against the latent size Z, plotted from
finished run folders (``bash experiments/run.sh latent``).

    python -m minivae.benchmarks.latent_size runs/ptb/pretrain-fb-z*/ runs/ptb/pretrain-fb/ \\
        --out docs/latent_size.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

from matplotlib.figure import Figure

from minivae.benchmarks.runs_table import run_row
from minivae.loading import load_model


def latent_size(folder: Path) -> int:
    return int(load_model(folder / "best.npz").model.config.latent_dim)


def plot(runs: list[Path], out: Path) -> Path:
    rows = sorted(((latent_size(r), run_row(r)) for r in runs), key=lambda row: row[0])
    sizes = [z for z, _ in rows]
    fig = Figure(figsize=(13, 3.4))
    axes = fig.subplots(1, 4)
    panels = [
        ("nll", "test NLL (nats / sentence)"),
        ("kl", "KL (nats / sentence)"),
        ("mi", "mutual information I(x; z)"),
        ("au", "active units"),
    ]
    for ax, (key, title) in zip(axes, panels):
        ax.plot(sizes, [r[key] for _, r in rows], "o-")
        if key == "au":
            ax.plot(sizes, sizes, ":", color="grey", label="all of Z")
            ax.legend()
        ax.set_xscale("log", base=2)
        ax.set_xticks(sizes, [str(z) for z in sizes])
        ax.set_xlabel("latent size Z")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", help="run folders of one setting at several Z")
    p.add_argument("--out", default="latent_size.png", help="the PNG to write")
    args = p.parse_args(argv)
    runs = [Path(r) for r in args.runs]
    for run in runs:  # a shell glob also matches the runs' .log files
        if not (run / "report.json").is_file():
            p.error(f"{run} is not a finished run folder (it has no report.json)")
    print(plot(runs, Path(args.out)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
