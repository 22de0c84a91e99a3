"""The headline figures of README.md and docs/*.md, from recorded runs, checked against the text.

A record, experiments/records/NAME.json, is what one documented command wrote when it was run:
its run folder's report.json, the validation rows of its metrics.jsonl and what it printed,
with the command, the date, the machine, how busy the machine was, the wall time and the peak
memory. A transcribed record ("measured": false) holds figures copied from the docs as they
stood, with where from ("source"); it was not re-run, and it only guards the text against drift.
Those of TRANSCRIBED (the tables and time claims of the benchmarks, of docs/results.md and the
other pages, whose runs are gone or could not be timed again on a busy machine) hold their
figures as data: "tables" (a table's header, its column formats and its rows: numbers, words,
empty cells) and "figures" (a template and its numbers), rendered back byte for byte by
table_text and transcribed_figures, with the machine, the date and the command the doc states.

In the text each figure is marked where it stands, around a block

    <!-- record: default-run table -->
    | -ELBO | ...
    <!-- /record -->

or inline: ``BLEU <!-- record: default-run recon-bleu -->10.7<!-- /record -->``. What stands
between the markers must equal the record's rendering of that key (the FIGURES functions
below), so a number edited in the text, or a run re-recorded without the text, fails
tests/test_figures.py. From the repository root (next to ../shared):

    python experiments/records.py record NAME... --note "what else ran on the machine"
    python experiments/records.py table NAME --command CMD --note NOTE ROW=FOLDER...
    python experiments/records.py write            # the marked spots of the text from the records
    python experiments/records.py check            # what tests/test_figures.py asserts
    python experiments/records.py list             # the records and their keys

`record` runs the command(s) and writes the record(s); `table` records a table of docs/results.md
from the run folders that its command (experiments/run.sh) left, each row's report.json, validation
rows and K=100 score kept in the record (RUN_TABLES); `write` then puts the new figures in the
text. Runs go to runs/records/NAME/ with the printed output in runs/records/NAME.log; one
thread (MINIVAE_THREADS=1, OPENBLAS_NUM_THREADS=1), one run at a time. How busy the machine
was is part of every record: the load average before and after, and the run's CPU time over
its wall time (100% on an idle machine).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RECORDS = ROOT / "experiments" / "records"
RUNS = Path("runs/records")
DATA = "../shared/data"
M30K = f"{DATA}/multi30k"
TEXTS = ("README.md", "docs/*.md")

# ---------------------------------------------------------------------------- the commands
# name -> the command as a user types it ({out}: the run folder). ``python`` runs a program
# given by name in PROGRAMS with the run folder of another record.
COMMANDS = {
    "default-run": "minivae train --out {out} --overwrite --no-progress",
    "cvae-translate": "minivae cvae train --task translate --out {out} --overwrite --no-progress",
    "cvae-dialogue": "minivae cvae train --task dialogue --out {out} --overwrite --no-progress",
    "cvae-label": "minivae cvae train --task label --out {out} --overwrite --no-progress",
    "nmt-quick": (
        f"minivae nmt train --quick --source {M30K}/train.de --target {M30K}/train.en "
        f"--valid-source {M30K}/val.de --valid-target {M30K}/val.en "
        f"--test-source {M30K}/test.de --test-target {M30K}/test.en "
        "--out {out} --overwrite --no-progress"
    ),
    "from-python": "python from-python {runs}/default-run",
}
# The README's PTB rows (experiments/run.sh ptb, one at a time), each scored again with K=100.
PTB = (
    f"minivae train --corpus {DATA}/ptb/ptb.valid.txt --valid-fraction 0.05 "
    f"--test {DATA}/ptb/ptb.test.txt --epochs 15 --embed-dim 256 --hidden-dim 256 "
    "--latent-dim 32 --lr 1e-3 --iw-samples 20 --kl-schedule constant --word-dropout 0 "
    "--free-bits 0 {remedy} --out {out} --overwrite --no-progress "
    "&& minivae eval {out} --split test --iw-samples 100 --json"
)
PTB_ROWS = {  # record -> (the README's row, the options of experiments/run.sh)
    "ptb-word-dropout": (
        "collapsed (word dropout 0.25, no free bits)",
        "--kl-schedule linear --kl-warmup 500 --word-dropout 0.25",
    ),
    "ptb-all-three": (
        "word dropout 0.5 + free bits 0.5",
        "--kl-schedule linear --kl-warmup 500 --word-dropout 0.5 --free-bits 0.5",
    ),
    "ptb-pretrain-fb": (
        "AE pre-training 5 epochs + free bits 0.15",
        "--kl-schedule linear --kl-warmup 500 --free-bits 0.15 --ae-pretrain-epochs 5",
    ),
}
for _name, (_, _remedy) in PTB_ROWS.items():
    COMMANDS[_name] = PTB.replace("{remedy}", _remedy)

# The README's "From Python" example: each line as shown; a line whose value is shown after it
# ends in "  #=" (what the recorded run printed follows there). Lines after the last shown
# value are not run (they need a file or PyTorch) and are shown as written.
FROM_PYTHON = """\
import minivae

vae = minivae.load("runs/latest")  # a run folder (its best.npz) or a checkpoint
mu, logvar = vae.encode(["the chef cooked a tasty soup"])
vae.decode(mu)  #=
vae.sample(2, method="sample", temperature=0.8)  #=
vae.interpolate("the chef cooked a tasty soup", "the band played a noisy song", steps=5)
vae.evaluate("test.txt")["nll"]  # the metrics of minivae eval
module = vae.to_torch()  # PyTorch modules with the same weights (and back:
# minivae.export.from_torch)
"""


def from_python(run: str) -> None:
    """Run FROM_PYTHON's lines up to the last shown value on the run folder ``run``, and print
    each shown value as JSON, one a line."""
    lines = FROM_PYTHON.splitlines()
    last = max(i for i, line in enumerate(lines) if line.endswith("  #="))
    scope: dict = {}
    for line in lines[: last + 1]:
        code = line.split("  #")[0].replace('"runs/latest"', repr(run))
        if line.endswith("  #="):
            print(json.dumps(eval(code, scope)))  # noqa: S307 (our own example's lines)
        else:
            exec(code, scope)  # noqa: S102


PROGRAMS = {"from-python": from_python}


# ------------------------------------------------------------------------------- recording
def machine() -> str:
    """The CPU model, its cores and memory, in words (there is no GPU on the machines these
    records come from; a run that used one would say so in its printed output)."""
    model, cpus = platform.processor() or "unknown CPU", os.cpu_count()
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    mem = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        kb = int(meminfo.read_text().split()[1])
        mem = f", {kb / 2**20:.0f} GB memory"
    return f"{cpus}-core {model} VM{mem}, no GPU"


def versions() -> dict:
    """Python's and the numeric libraries' versions (the last digits of a figure can move
    with the libraries' arithmetic) and the commit the run was made from."""
    from importlib import metadata

    out = {"python": platform.python_version()}
    for name in ("numpy", "numba"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    git = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    out["commit"] = git.stdout.strip() or None
    return out


def run_step(argv: list[str], log: Path, err: Path) -> tuple[int, float, float, int]:
    """Run one command with one thread, stdout to ``log`` -> (exit code, wall seconds, CPU
    seconds, peak resident memory in KB), the last three of this child alone."""
    if argv[0] == "python":
        argv = [sys.executable, str(Path(__file__).resolve()), "_run", *argv[1:]]
    elif argv[0] == "minivae":
        argv = [sys.executable, "-m", "minivae", *argv[1:]]
    env = {**os.environ, "MINIVAE_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    t0 = time.monotonic()
    with log.open("w") as stdout, err.open("w") as stderr:
        child = subprocess.Popen(argv, env=env, stdout=stdout, stderr=stderr)
        _, status, usage = os.wait4(child.pid, 0)
    wall = time.monotonic() - t0
    cpu = usage.ru_utime + usage.ru_stime
    return os.waitstatus_to_exitcode(status), wall, cpu, usage.ru_maxrss


def record(name: str, runs: Path = RUNS, records: Path = RECORDS, note: str = "") -> dict:
    """Run record ``name``'s command (commands joined by " && " one after the other: the
    printed output is the first's; a later one's printed JSON is kept as "eval"), then write
    records/NAME.json from what it wrote."""
    out = runs / name
    command = COMMANDS[name].format(out=out, runs=runs)
    runs.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    started = datetime.datetime.now(datetime.timezone.utc)
    wall = cpu = peak = 0
    for i, step in enumerate(command.split(" && ")):
        log = runs / (f"{name}.log" if i == 0 else f"{name}.{i}.log")
        err = log.with_suffix(".stderr")
        code, *used = run_step(shlex.split(step), log, err)
        if code != 0:
            raise SystemExit(f"records.py: error: {name} failed (exit {code}): see {log} and {err}")
        wall, cpu, peak = wall + used[0], cpu + used[1], max(peak, used[2])
    rec = {
        "name": name,
        "measured": True,
        "command": command,
        "date": started.strftime("%Y-%m-%d"),
        "started": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(),
        "load": {
            "load_average_before": round(load_before[0], 2),
            "load_average_after": round(os.getloadavg()[0], 2),
            "cpu_seconds": round(cpu, 1),
            "cpu_share": round(cpu / wall, 2),
            "note": note,
        },
        "threads": 1,
        "wall_seconds": round(wall, 1),
        "peak_rss_mb": round(peak / 1024),
        "versions": versions(),
        "output": (runs / f"{name}.log").read_text(),
    }
    if " && " in command:
        rec["eval"] = json.loads(log.read_text())
    if (out / "report.json").is_file():
        rec["report"] = json.loads((out / "report.json").read_text())
        rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
        rec["epochs"] = [r for r in rows if r.get("split") == "valid"]
    records.mkdir(parents=True, exist_ok=True)
    (records / f"{name}.json").write_text(json.dumps(rec, indent=1) + "\n")
    return rec


def record_table(
    name: str, rows: dict, command: str, note: str, records: Path = RECORDS, split: str = "test"
) -> dict:
    """records/NAME.json from finished runs ({row name: a run folder, or "record:NAME" for the
    run of a measured record such as ptb-pretrain-fb}): what runs_table reads of each (its
    report's ``split`` metrics, its validation rows, its K=100 score), so the table renders
    again when the folders are gone. The runs were made before, by ``command``: the date is
    that of the newest run, the wall time the runs' training seconds."""
    from minivae.benchmarks.runs_table import run_files

    kept, dates = {}, []
    for row, where in rows.items():
        where = str(where)
        if where.startswith("record:"):
            rec = load(where.removeprefix("record:"), records)
            if not rec.get("measured") or "report" not in rec:
                raise ValueError(f"{where}: not a measured record of a training run")
            files = {"report": rec["report"], "valid": rec["epochs"], "k100": rec.get("eval")}
            files["from_record"] = rec["name"]
            dates.append(rec["date"])
        else:
            files = run_files(Path(where), split)
            mtime = (Path(where) / "report.json").stat().st_mtime
            when = datetime.datetime.fromtimestamp(mtime, datetime.timezone.utc)
            dates.append(when.strftime("%Y-%m-%d"))
        report = files["report"]
        if name in TRANSLATION_TABLES + DIALOGUE_TABLES:  # task metrics are top-level keys
            files["report"] = {k: v for k, v in report.items() if k.startswith(split)}
        elif split == "test":
            files["report"] = {split: report[split]}
        kept[row] = files
    rec = {
        "name": name,
        "measured": True,
        "command": command,
        "date": max(dates),
        "machine": machine(),
        "load": {"note": note, "load_average_at_recording": round(os.getloadavg()[0], 2)},
        "threads": 1,
        "wall_seconds": round(
            sum(sum(r.get("seconds", 0.0) for r in f["valid"]) for f in kept.values()), 1
        ),
        "versions": versions(),
        "split": split,
        "runs": kept,
    }
    records.mkdir(parents=True, exist_ok=True)
    (records / f"{name}.json").write_text(json.dumps(rec, indent=1) + "\n")
    return rec


def runs_table_figures(rec: dict) -> dict:
    """A recorded table of docs/results.md, rendered by runs_table as the command printed it."""
    from minivae.benchmarks.runs_table import dialogue_table, markdown, row_of, translation_table

    if not rec.get("measured") or "runs" not in rec:
        raise ValueError(f"record {rec.get('name')}: not a table recorded by `records.py table`")
    if rec["name"] in TRANSLATION_TABLES:
        return {"table": translation_table(rec["runs"])}
    if rec["name"] in DIALOGUE_TABLES:
        return {"table": dialogue_table(rec["runs"])}

    rows = {name: row_of(files, rec["split"]) for name, files in rec["runs"].items()}
    return {"table": markdown(rows)}


def load(name: str, records: Path = RECORDS) -> dict:
    path = records / f"{name}.json"
    if not path.is_file():
        raise KeyError(f"no record {name!r} ({path} does not exist)")
    return json.loads(path.read_text())


# ---------------------------------------------------------------------------- the renderings
def section(output: str, title: str) -> list[str]:
    """The lines of a printed report's section "== TITLE..." up to the next "== ", stripped."""
    lines, inside = [], False
    for line in output.splitlines():
        if line.startswith("== "):
            inside = line.startswith(f"== {title}")
            continue
        if inside and line.strip():
            lines.append(line.strip())
    if not lines:
        raise ValueError(f"the recorded output has no section {title!r}")
    return lines


def commas(x: float) -> str:
    return f"{x:,.0f}"


def conditions(rec: dict) -> str:
    """Where and when a measured record ran, and how busy the machine was: the load average,
    and the share of the wall time the run had a core for (its CPU time over its wall time,
    one thread: 100% on an idle machine)."""
    load = rec["load"]
    note = f"; {load['note']}" if load.get("note") else ""
    return (
        f"{rec['machine']}, {rec['date']}, one thread{note} (load average "
        f"{load['load_average_before']:.1f} at the start, {load['load_average_after']:.1f} at "
        f"the end; the run had a core {load['cpu_share']:.0%} of its wall time)"
    )


def default_run(rec: dict) -> dict:
    r, epochs = rec["report"], rec["epochs"]
    train_s = sum(e["seconds"] + e["valid_seconds"] for e in epochs)
    table = (
        "| -ELBO | reconstruction | KL | NLL (IW, K=20) | perplexity | MI | active units "
        "| unigram NLL |\n|---|---|---|---|---|---|---|---|\n"
        f"| {r['nelbo']:.2f} | {r['rec']:.2f} | {r['kl']:.2f} | **{r['nll']:.2f}** | "
        f"{r['ppl']:.2f} | {r['mi']:.2f} | **{r['active_units']}/16** | {r['unigram_nll']:.2f} |"
    )
    out = rec["output"]
    greedy = section(out, "Samples from the prior")
    greedy = greedy[1 : greedy.index("[temperature 0.8, top-k 20]")]
    recon = section(out, "Reconstructions")[:4]
    path = section(out, "Interpolation")
    report = "\n".join(
        [
            "```",
            "== Samples from the prior p(z)  [greedy]",
            *(f"    {s}" for s in greedy[:3]),
            "== Reconstructions of held-out sentences (posterior mean, greedy)",
            *(f"    {s}" for s in recon),
            "== Interpolation between two held-out sentences (slerp between posterior means)",
            *(f"    {s}" for s in path),
            "```",
        ]
    )
    units = r["active_units"]
    return {
        "conditions": (
            f"`minivae train` with no options, on a {conditions(rec)}: {len(epochs)} epochs in "
            f"{train_s:.0f} s (median {statistics.median(e['seconds'] for e in epochs):.0f} s and "
            f"{commas(statistics.median(e['tokens_per_second'] for e in epochs))} tokens per "
            f"second an epoch), {rec['wall_seconds']:.0f} s from start to end with the final "
            f"report, peak memory {rec['peak_rss_mb']} MB."
        ),
        "table": table,
        "latent": (
            ("every unit active" if units == 16 else f"{units} of 16 units active")
            + f", {r['mi']:.1f} nats of mutual information"
        ),
        "report": report,
        "recon-bleu": f"{r['recon_bleu']:.1f}",
        "minutes": f"about {round(rec['wall_seconds'] / 30) / 2:g} minutes",
    }


def python_example(rec: dict) -> dict:
    shown = [json.loads(line) for line in rec["output"].splitlines() if line.strip()]
    lines, values = [], iter(shown)
    for line in FROM_PYTHON.splitlines():
        if line.endswith("  #="):
            value = next(values)
            line = line[: -len("  #=")]
            if len(f"{line}  # {value!r}") <= 100:
                line = f"{line}  # {value!r}"
            else:  # a list, an item a line
                items = [f"#  {v!r}," for v in value]
                items[0], items[-1] = "# [" + items[0][3:], items[-1][:-1] + "]"
                line = "\n".join([line, *items])
        lines.append(line)
    return {"code": "```python\n" + "\n".join(lines) + "\n```"}


def cvae_row(task: str, rec: dict) -> str:
    r = rec["report"]
    data = re.search(r"(\d+) training and (\d+) validation", rec["output"])
    head = (
        f"| {task} | {data[1]} / {data[2]} | {r['nll']:.2f} | {r['nelbo']:.2f} | "
        f"{r['rec']:.2f} | {r['kl']:.2f} | {r['active_units']} / 16 | "
    )
    if task == "translate":
        tail = (
            f"**BLEU {r['bleu']:.1f}** (greedy, z = prior mean); reconstruction BLEU "
            f"{r['recon_bleu']:.1f} |"
        )
    elif task == "dialogue":
        tail = (
            f"**BLEU precision {r['bleu_precision']:.1f}, recall {r['bleu_recall']:.1f}** "
            f"(5 samples per context); distinct-1 {r['distinct_1']:.3f}, distinct-2 "
            f"{r['distinct_2']:.3f}; {r['distinct_samples_per_context']:.2f} different answers "
            f"among 5 samples ({r['references_per_context']:.2f} references per context) |"
        )
    else:  # 4 x 5 samples for each of the 8 classes (minivae.conditional.tasks)
        tail = (
            f"attribute agreement {r['attribute_agreement']:.2f} (160 samples); distinct-1 "
            f"{r['distinct_1']:.3f}, distinct-2 {r['distinct_2']:.3f} |"
        )
    return head + tail


def cvae_table(recs: dict) -> dict:
    rows = [cvae_row(task, recs[f"cvae-{task}"]) for task in ("translate", "dialogue", "label")]
    walls = [recs[f"cvae-{t}"]["wall_seconds"] for t in ("translate", "dialogue", "label")]
    rec = recs["cvae-translate"]
    return {
        "table": "| task | pairs (train/valid) | NLL (IW, K=10) | -ELBO | rec | KL | active units "
        "| task metrics |\n|---|---|---|---|---|---|---|---|\n" + "\n".join(rows),
        "conditions": (
            f"measured with `python experiments/records.py record cvae-translate cvae-dialogue "
            f"cvae-label` on a {conditions(rec)}: {min(walls):.0f}-{max(walls):.0f} s per task "
            "from start to end"
        ),
        "seconds": f"{min(walls):.0f}-{max(walls):.0f} s",
    }


def transcribed(rec: dict) -> dict:
    """A transcribed record must say so and where its figures came from."""
    if rec.get("measured") is not False or "not re-run" not in rec.get("source", ""):
        raise ValueError(
            f"record {rec.get('name')}: figures not measured by records.py must be marked "
            '"measured": false with a "source" saying "not re-run: ..."'
        )
    return rec


def ptb_lines(rows: dict) -> str:
    """The README's PTB table: {row name: {nll_k20, nll_k100, ppl_k100, kl, mi,
    active_units}}, the last row (the recipe the section is about) in bold."""
    lines = [
        "| PTB test | NLL (K=20) | NLL (K=100) | PPL (K=100) | KL | MI | active units |",
        "|---|---|---|---|---|---|---|",
    ]
    for i, (name, r) in enumerate(rows.items()):
        best = i == len(rows) - 1
        b = (lambda s: f"**{s}**") if best else (lambda s: s)
        nll, ppl = f"{r['nll_k100']:.1f}", f"{r['ppl_k100']:.1f}"
        lines.append(
            f"| {b(name)} | {r['nll_k20']:.1f} | {b(nll)} | {b(ppl)} | {r['kl']:.2f} | "
            f"{r['mi']:.2f} | {r['active_units']}/32 |"
        )
    return "\n".join(lines)


def ptb_table(rec: dict) -> dict:
    rows = transcribed(rec)["rows"]
    last = list(rows.values())[-1]
    return {
        "table": ptb_lines(rows),
        "conditions": (
            f"{rec['machine']}, about {last['train_seconds'] / 60:.0f} minutes of training for "
            f"this run ({rec['source']})"
        ),
    }


def ptb_measured(recs: dict) -> dict:
    """The PTB table from the three measured ptb-* records (train, then eval with K=100)."""
    rows = {}
    for name, (row, _) in PTB_ROWS.items():
        test, k100 = recs[name]["report"]["test"], recs[name]["eval"]
        rows[row] = {
            "nll_k20": test["nll"],
            "nll_k100": k100["nll"],
            "ppl_k100": k100["ppl"],
            "kl": test["kl"],
            "mi": test["mi"],
            "active_units": test["active_units"],
        }
    rec = recs["ptb-pretrain-fb"]
    train = sum(e["seconds"] + e["valid_seconds"] for e in rec["epochs"])
    return {
        "table": ptb_lines(rows),
        "conditions": (
            f"{conditions(rec)}, one run at a time: {train / 60:.1f} minutes of training for "
            f"this run, {rec['wall_seconds'] / 60:.1f} with the final report and the K=100 "
            "evaluation"
        ),
    }


def ptb_rerun(rec: dict) -> dict:
    """One PTB row measured again (train, then eval with K=100), in words."""
    test, k100 = rec["report"]["test"], rec["eval"]
    train = sum(e["seconds"] + e["valid_seconds"] for e in rec["epochs"])
    return {
        "rerun": (
            f"test NLL {test['nll']:.1f} (K=20), {k100['nll']:.1f} (K=100), perplexity "
            f"{k100['ppl']:.1f}, KL {test['kl']:.2f}, MI {test['mi']:.2f}, "
            f"{test['active_units']}/32 active units; {train / 60:.1f} minutes of training, "
            f"{rec['wall_seconds'] / 60:.1f} with the final report and the K=100 evaluation, "
            f"on a {conditions(rec)}"
        )
    }


def nmt_60min(rec: dict) -> dict:
    a, b = transcribed(rec)["seed0"], rec["seed1"]
    return {
        "result": f"**test BLEU {a['test_bleu_greedy']:.2f} greedy, {a['test_bleu_beam']:.2f} "
        "with beam 5**",
        "seed1": f"{b['test_bleu_greedy']:.2f} / {b['test_bleu_beam']:.2f}",
    }


def test_suite(rec: dict) -> dict:
    transcribed(rec)
    return {
        "duration": (
            f"{rec['pytest_seconds']} s for the tests ({rec['passed']} passed, "
            f"{rec['skipped']} skipped) and {rec['ci_seconds'] / 60:.1f} minutes for the whole "
            f"`{rec['command']}` (installs, tests, ruff, the website's build in "
            f"{rec['site_build_seconds']} s and its browser check in "
            f"{rec['browser_check_seconds']} s) on a clean clone, on {rec['machine']}, "
            f"{rec['date']}"
        )
    }


def nmt_quick(rec: dict) -> dict:
    r, epochs = rec["report"], rec["epochs"]
    example = re.search(
        r"source: +(.*)\n +reference: +(.*)\n +greedy: +(.*)\n +beam: +(.*)", rec["output"]
    )
    src, ref, greedy, beam = (g.strip() for g in example.groups())
    secs = [e["seconds"] for e in epochs]
    toks = [e["tokens_per_second"] for e in epochs]
    bleus = [e["bleu"] for e in epochs]
    minutes = rec["wall_seconds"] / 60
    return {
        "summary": (
            f"in about {minutes:.0f} minutes on a 2-core CPU shared with other jobs (test BLEU "
            f"{r['test_bleu_greedy']:.1f} greedy after {len(epochs)} epochs of a small model)"
        ),
        "details": (
            "`--quick` (E=128, 2 x 128, H=256, two epochs however long they take, label "
            "smoothing 0.1 as the default, beam and samples on the first 100 test sentences; "
            f"{conditions(rec)}): {minutes:.1f} minutes from start to end, "
            f"{min(secs):.0f}-{max(secs):.0f} s of training per epoch "
            f"({commas(min(toks))}-{commas(max(toks))} target tokens/s); validation BLEU "
            + " and ".join(f"{b:.1f}" for b in bleus)
            + f" after the {len(bleus)} epochs, test BLEU **{r['test_bleu_greedy']:.1f} greedy** "
            f"({r['test_bleu_beam']:.1f} with beam 5 on the first 100 sentences, greedy "
            f"{r['test_bleu_greedy_subset']:.1f} there). `{src}` -> `{greedy}` (greedy), "
            f"`{beam}` (beam); reference `{ref}`."
        ),
    }


def table_cell(value, fmt: str | None) -> str:
    """One cell of a transcribed table: a number in its column's format (a str.format
    template: "{:.1f}", "{:,d}", "{:.1f} ms"), a string as written (words, bold, a range)."""
    return value if isinstance(value, str) else (fmt or "{}").format(value)


def table_text(table: dict) -> str:
    """A Markdown table from its data, byte for byte as the doc writes it: {"columns": the
    header's cells, "formats": each column's template for its numbers (null: as given),
    "rows": lists of cells, None for an empty one, "empty": what stands between the bars of
    an empty cell (default two spaces, ``|  |``; " " where the doc writes ``| |``)}. A row
    with fewer cells than columns (e.g. "not yet measured") is closed with bare ``| |``s."""
    columns = table["columns"]
    formats = table.get("formats") or [None] * len(columns)
    empty = table.get("empty", "  ")
    if len(formats) != len(columns):
        raise ValueError(f"a table of {len(columns)} columns with {len(formats)} formats")

    def line(cells: list) -> str:
        if len(cells) > len(columns):
            raise ValueError(f"a row of {len(cells)} cells in a table of {len(columns)}: {cells}")
        parts = [empty if c is None else f" {table_cell(c, f)} " for c, f in zip(cells, formats)]
        parts += [" "] * (len(columns) - len(cells))
        return "|" + "|".join(parts) + "|"

    return "\n".join(
        [line(columns), "|" + "---|" * len(columns), *(line(row) for row in table["rows"])]
    )


def transcribed_figures(rec: dict) -> dict:
    """A transcribed record's figures as the docs state them: its "tables" (each rendered by
    table_text) and its "figures", each {"text": a template, "values": its numbers} (the
    numbers are the data; the template is the words around them, formatted with
    str.format), or "output" (what a command printed, as a code block)."""
    transcribed(rec)
    out = {key: table_text(table) for key, table in rec.get("tables", {}).items()}
    for key, figure in rec.get("figures", {}).items():
        out[key] = figure["text"].format(*figure["values"])
    if "output" in rec:
        out["output"] = "```\n" + rec["output"] + "```"
    return out


# Records transcribed from the docs at commit 9f4bc28 (the runs behind them are gone or the
# machine was too busy to time them again): each guards its figures against drift only.
TRANSCRIBED = (
    "bench-step",
    "bench-step-rerun",
    "bench-eval",
    "bench-kernels",
    "multi30k-epoch",
    "results-ptb-earlier",
    "results-multi30k",
    "results-hvae",
    "results-latent",
    "hvae-tutorial",
    "nmt-runs",
    "nmt-bench",
)

# Tables of docs/results.md recorded from their run folders (``records.py table``).
RUN_TABLES = (
    "results-ptb",
    "results-multi30k-papers",
    "results-hvae-burda",
    "nmt-latent",
    "dialogue-dailydialog",
)
TRANSLATION_TABLES = ("nmt-latent",)  # of minivae nmt train runs: runs_table --translation
DIALOGUE_TABLES = ("dialogue-dailydialog",)  # of minivae dialog train runs: --dialogue

FIGURES = {  # record name(s) -> a function of the record(s) -> {key: text}
    "default-run": default_run,
    "from-python": python_example,
    "nmt-quick": nmt_quick,
    **{name: ptb_rerun for name in PTB_ROWS},  # each PTB row re-run, while not all three are
    "ptb-table": ptb_table,
    "nmt-60min": nmt_60min,
    "test-suite": test_suite,
    **{name: transcribed_figures for name in TRANSCRIBED},
    **{name: runs_table_figures for name in RUN_TABLES},
}


# ------------------------------------------------------------------------------- the check
MARK = re.compile(r"<!-- record: (\S+) (\S+) -->(.*?)<!-- /record -->", re.S)
OPEN = re.compile(r"<!-- record:")
CLOSE = re.compile(r"<!-- /record -->")


def texts(root: Path = ROOT) -> list[Path]:
    return sorted(p for pattern in TEXTS for p in root.glob(pattern))


def renderings(records: Path = RECORDS) -> dict:
    """{record name: {key: text}} of every record there is (a mark naming a record that is
    not there is a problem of ``check``); "cvae" is the table of the three cvae-* records."""
    out = {}
    for name, figures in FIGURES.items():
        if (records / f"{name}.json").is_file():
            out[name] = figures(load(name, records))
    tasks = [f"cvae-{t}" for t in ("translate", "dialogue", "label")]
    if all((records / f"{t}.json").is_file() for t in tasks):
        out["cvae"] = cvae_table({t: load(t, records) for t in tasks})
    if all((records / f"{t}.json").is_file() for t in PTB_ROWS):  # the table, all measured
        out["ptb"] = ptb_measured({t: load(t, records) for t in PTB_ROWS})
        for t in PTB_ROWS:
            del out[t]
    return out


def marks(text: str, path: Path) -> list[tuple[str, str, str, int]]:
    """(record, key, text between the markers, line) of every mark in ``text``; a marker left
    open, nested or closed without an opening is an error naming its line."""

    def line(pos: int) -> int:
        return text.count("\n", 0, pos) + 1

    found = [(m[1], m[2], m[3], line(m.start())) for m in MARK.finditer(text)]
    inside = {line(m.start()) for m in MARK.finditer(text) if "<!-- record:" in m[3]}
    opened = {line(m.start()) for m in OPEN.finditer(text)} - {f[3] for f in found}
    if inside or opened:
        where = min(inside | opened)
        raise ValueError(
            f"{path}:{where}: a <!-- record: NAME KEY --> without its <!-- /record -->"
        )
    spans = [m.span() for m in MARK.finditer(text)]
    for m in CLOSE.finditer(text):
        if not any(a <= m.start() < b for a, b in spans):
            raise ValueError(f"{path}:{line(m.start())}: a <!-- /record --> without its opening")
    return found


def strip(body: str) -> str:
    return body[1:-1] if body.startswith("\n") and body.endswith("\n") else body


def check(root: Path = ROOT, records: Path = RECORDS) -> list[str]:
    """Every marked figure of the text against its record: a list of problems, each naming the
    file and line (empty: the text holds what the records say). Every rendered figure must
    stand somewhere in the text."""
    rendered = renderings(records)
    problems, used = [], set()
    for path in texts(root):
        for name, key, body, line in marks(path.read_text(), path.relative_to(root)):
            where = f"{path.relative_to(root)}:{line}"
            if key not in rendered.get(name, {}):
                problems.append(f"{where}: no figure {name} {key} in experiments/records")
                continue
            used.add((name, key))
            want = rendered[name][key]
            if strip(body) != want:
                problems.append(
                    f"{where}: {name} {key} says\n    {strip(body)!r}\nwhere the record says\n"
                    f"    {want!r}"
                )
    for name, figures in rendered.items():
        for key in figures:
            if (name, key) not in used:
                problems.append(f"{name} {key}: recorded but nowhere in {', '.join(TEXTS)}")
    return problems


def write(root: Path = ROOT, records: Path = RECORDS) -> list[Path]:
    """Rewrite every marked spot of the text from the records. -> the files changed"""
    rendered, changed = renderings(records), []
    for path in texts(root):
        text = path.read_text()
        marks(text, path)  # refuses an unclosed marker before writing anything

        def fill(m):
            name, key, body = m.groups()
            want = rendered.get(name, {}).get(key)
            if want is None:
                return m.group(0)
            body = f"\n{want}\n" if body.startswith("\n") else want
            return f"<!-- record: {name} {key} -->{body}<!-- /record -->"

        new = MARK.sub(fill, text)
        if new != text:
            path.write_text(new)
            changed.append(path)
    return changed


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="experiments/records.py", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record", help="run the commands, write the records")
    rec.add_argument("names", nargs="+", choices=sorted(COMMANDS))
    rec.add_argument("--note", default="", help="what else ran on the machine, in words")
    tab = sub.add_parser("table", help="record a table of docs/results.md from its run folders")
    tab.add_argument("name", choices=RUN_TABLES)
    tab.add_argument(
        "rows",
        nargs="+",
        metavar="ROW=FOLDER",
        help="a row's name and its run folder, or record:NAME for the run of a measured record",
    )
    tab.add_argument(
        "--command", dest="made_by", required=True, help="the command that made the runs"
    )
    tab.add_argument("--note", default="", help="how the runs shared the machine, in words")
    sub.add_parser("write", help="the marked spots of README.md and docs/*.md from the records")
    sub.add_parser("check", help="the marked spots against the records")
    sub.add_parser("list", help="the records and their keys")
    run = sub.add_parser("_run")
    run.add_argument("program", choices=sorted(PROGRAMS))
    run.add_argument("args", nargs="*")
    a = p.parse_args(argv)
    if a.command == "_run":
        PROGRAMS[a.program](*a.args)
    elif a.command == "record":
        for name in a.names:
            r = record(name, note=a.note)
            print(f"{name}: {r['wall_seconds']:.0f} s, written {RECORDS / name}.json")
    elif a.command == "table":
        pairs = [r.split("=", 1) for r in a.rows]
        bad = [
            r
            for r, pair in zip(a.rows, pairs)
            if len(pair) != 2
            or not (pair[1].startswith("record:") or (Path(pair[1]) / "report.json").is_file())
        ]
        if bad:
            p.error(
                "give each row as NAME=FOLDER of a finished run (or NAME=record:RECORD): "
                + ", ".join(bad)
            )
        r = record_table(a.name, dict(pairs), a.made_by, a.note)
        print(f"{a.name}: {len(r['runs'])} rows, written {RECORDS / a.name}.json")
    elif a.command == "write":
        for path in write():
            print(f"rewrote the marked figures of {path.relative_to(ROOT)}")
    elif a.command == "check":
        problems = check()
        print("\n".join(problems) or "every marked figure agrees with its record")
        return 1 if problems else 0
    else:
        for name, figures in renderings().items():
            print(f"{name}: {', '.join(figures)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
