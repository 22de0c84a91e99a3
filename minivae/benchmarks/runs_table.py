"""A markdown table of finished runs, from their run folders (report.json, metrics.jsonl):
the rows of docs/results.md, with ``--translation`` those of docs/translation.md and with
``--dialogue`` those of docs/dialogue.md.

    python -m minivae.benchmarks.runs_table runs/ptb-* [--split test] [--names a,b,...]
    python -m minivae.benchmarks.runs_table --translation runs/nmt/*/
    python -m minivae.benchmarks.runs_table --dialogue runs/dialog/*/
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def validation_rows(folder: Path) -> list[dict]:
    """The end-of-epoch validation rows of a run's metrics.jsonl (seconds, BLEU, ...)."""
    rows = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
    return [r for r in rows if r.get("split") == "valid"]


def run_files(folder: Path, split: str = "test") -> dict:
    """What a table reads of a run folder: {"report": report.json, "valid": the validation
    rows of metrics.jsonl, "k100": {split}-k100.json or None, "eval": {split}-eval.json or
    None}: a record keeps this, so that the table renders again from the record once the
    folder is gone."""
    tighter = folder / f"{split}-k100.json"  # ``minivae eval --iw-samples 100 --json``, if run
    again = folder / f"{split}-eval.json"  # ``minivae dialog eval --json``, if run
    return {
        "report": json.loads((folder / "report.json").read_text()),
        "valid": validation_rows(folder),
        "k100": json.loads(tighter.read_text()) if tighter.exists() else None,
        "eval": json.loads(again.read_text()) if again.exists() else None,
    }


def run_row(folder: Path, split: str = "test") -> dict:
    """The figures of one run folder: ``row_of(run_files(folder, split), split)``."""
    return row_of(run_files(folder, split), split)


def row_of(files: dict, split: str = "test") -> dict:
    """The figures of one run (``run_files``): NLL, perplexity, KL, MI, active units (each
    layer's too), seconds of training and per epoch, tokens per second."""
    report, valid = files["report"], files["valid"]
    metrics = report["test"] if split == "test" else report
    seconds = sum(r.get("seconds", 0.0) for r in valid)
    row = {
        "nll": metrics["nll"],
        "ppl": metrics["ppl"],
        "kl": metrics["kl"],
        "mi": metrics["mi"],
        "au": metrics["active_units"],
        "epochs": len(valid),
        "seconds": seconds,
        "epoch_s": seconds / max(len(valid), 1),
        "tokens_s": sum(r.get("tokens_per_second", 0.0) for r in valid) / max(len(valid), 1),
    }
    for key, value in metrics.items():  # kl_z1, active_units_z2, ... of multi-layer models
        if key.startswith(("kl_", "mi_", "active_units_")):
            row[key] = value
    if files.get("k100"):
        row["nll_k100"] = files["k100"]["nll"]
    return row


TRANSLATION_COLUMNS = {  # report.json key (after test_ or valid_) -> heading
    "bleu_greedy": "BLEU greedy",
    "bleu_beam": "BLEU beam",
    "bleu_sample": "BLEU 1 sample",
    "bleu_best_of_k": "BLEU best of k",
    "distinct_translations": "distinct / source",
    "self_bleu": "self-BLEU",
    "bleu_posterior_mean": "BLEU posterior mean",
}


def translation_markdown(folders: dict[str, Path]) -> str:
    """name -> run folder of ``minivae nmt train``  ->  a markdown table:
    ``translation_table`` of each folder's ``run_files``."""
    return translation_table({name: run_files(folder) for name, folder in folders.items()})


def translation_table(runs: dict[str, dict]) -> str:
    """name -> ``run_files`` of a ``minivae nmt train`` run  ->  a markdown table: epochs and
    minutes trained, the best validation BLEU, the test BLEU and the latent variable's
    figures (on the validation pairs for a run without test files)."""
    head = ["run", "epochs", "train min", "valid BLEU", "NLL", "KL", "AU"]
    head += list(TRANSLATION_COLUMNS.values())
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, files in runs.items():
        report, valid = files["report"], files["valid"]
        likelihood, split = (report["test"], "test") if "test" in report else (report, "valid")
        cells = [name, str(len(valid)), f"{_train_minutes(valid):.0f}"]
        cells += [f"{max(r.get('bleu', 0.0) for r in valid):.1f}"]
        cells += [f"{likelihood['nll']:.1f}", f"{likelihood['kl']:.2f}"]
        cells += [str(likelihood.get("active_units", ""))]
        scores = [report.get(f"{split}_{k}") for k in TRANSLATION_COLUMNS]
        cells += ["" if v is None else f"{v:.1f}" for v in scores]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _train_minutes(valid: list[dict]) -> float:
    """Minutes of training and validation, summed over the epochs' validation rows."""
    return sum(r.get("seconds", 0.0) + r.get("valid_seconds", 0.0) for r in valid) / 60


def _pair(values: dict, keys: tuple, fmt: str = ".3f") -> str:
    """A cell "a / b" of the two ``keys`` of ``values``, blank when either is absent."""
    pair = [values.get(k) for k in keys]
    return "" if None in pair else " / ".join(f"{v:{fmt}}" for v in pair)


def _distinct(values: dict, key: str, fmt: str = ".3f") -> str:
    """The cell "distinct-1 / distinct-2" of ``key``1 and ``key``2 (dist1 / dist2)."""
    return _pair(values, (f"{key}1", f"{key}2"), fmt)


def dialogue_table(runs: dict[str, dict]) -> str:
    """name -> ``run_files`` of a ``minivae dialog train`` run  ->  a markdown table: epochs
    and minutes trained, the test responses' BLEU recall / precision / F1 (DialogWAE's
    tokens; on the words alone; with NLTK 3.5's smoothing), intra / inter / corpus
    distinct-1 / 2, the test -ELBO, KL and active units."""
    head = ["run", "epochs", "train min", "BLEU R", "BLEU P", "BLEU F1", "words R / P"]
    head += ["NLTK 3.5 R / P"]
    head += ["intra dist-1 / 2", "inter dist-1 / 2", "corpus dist-1 / 2"]
    head += ["-ELBO", "KL", "AU"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, files in runs.items():
        report, valid = files["report"], files["valid"]
        t = {k.removeprefix("test_"): v for k, v in report.items() if k.startswith("test_")}
        cells = [name, str(len(valid)), f"{_train_minutes(valid):.0f}"]
        cells += [f"{t[k]:.3f}" for k in ("bleu_recall", "bleu_precision", "bleu_f1")]
        cells += [_pair(t, ("bleu_words_recall", "bleu_words_precision"))]
        # the old smoothing: in the report of a newer run, else in a later ``dialog eval``
        old = {k: v for k, v in (files.get("eval") or {}).items() if "nltk35" in k}
        old |= {k: v for k, v in t.items() if "nltk35" in k}
        cells += [_pair(old, ("bleu_nltk35_recall", "bleu_nltk35_precision"))]
        cells += [_distinct(t, "intra_dist"), _distinct(t, "inter_dist")]
        cells += [_distinct(t, "dist", ".4f")]
        likelihood = report["test"]
        cells += [f"{likelihood['nelbo']:.2f}", f"{likelihood['kl']:.2f}"]
        cells += [str(likelihood["active_units"]) if "active_units" in likelihood else ""]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown(rows: dict[str, dict]) -> str:
    """rows: name -> run_row  ->  a markdown table."""
    layered = sorted({k for r in rows.values() for k in r if k.startswith(("kl_", "active_"))})
    k100 = any("nll_k100" in r for r in rows.values())
    per_layer = [
        k.replace("active_units_gap_", "AU gap ").replace("active_units_", "AU ")
        for k in (k.replace("kl_", "KL ") for k in layered)
    ]
    # He et al.'s per-batch MI beside the whole-set one, for runs whose reports have it
    per_batch = any("mi_per_batch" in r for r in rows.values())
    mi = ["MI", *(["MI per batch"] if per_batch else [])]
    head = ["run", "NLL", *(["NLL K=100"] if k100 else []), "PPL", "KL", *mi, "AU", *per_layer]
    head += ["s/epoch", "train s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, r in rows.items():
        cells = [name, f"{r['nll']:.1f}"]
        if k100:
            cells += [f"{r['nll_k100']:.1f}" if "nll_k100" in r else ""]
        cells += [f"{r['ppl']:.1f}", f"{r['kl']:.2f}", f"{r['mi']:.2f}"]
        if per_batch:
            cells += [f"{r['mi_per_batch']:.2f}" if "mi_per_batch" in r else ""]
        cells += [str(r["au"])]
        cells += [
            f"{r[k]:.2f}" if isinstance(r.get(k), float) else str(r.get(k, "")) for k in layered
        ]
        cells += [f"{r['epoch_s']:.0f}", f"{r['seconds']:.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", help="run folders")
    p.add_argument("--split", default="test", choices=["test", "valid"])
    p.add_argument("--names", help="comma-separated row names (default: the folders' names)")
    kind = p.add_mutually_exclusive_group()
    kind.add_argument("--translation", action="store_true", help="runs of minivae nmt train")
    kind.add_argument("--dialogue", action="store_true", help="runs of minivae dialog train")
    args = p.parse_args(argv)
    names = args.names.split(",") if args.names else [Path(r).name for r in args.runs]
    if len(names) != len(args.runs):
        p.error("give one name per run")
    unfinished = [r for r in args.runs if not (Path(r) / "report.json").is_file()]
    if unfinished:
        p.error(f"not a finished run folder (no report.json): {', '.join(unfinished)}")
    if args.translation:
        print(translation_markdown({n: Path(r) for n, r in zip(names, args.runs)}))
    elif args.dialogue:
        print(dialogue_table({n: run_files(Path(r)) for n, r in zip(names, args.runs)}))
    else:
        print(markdown({n: run_row(Path(r), args.split) for n, r in zip(names, args.runs)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
