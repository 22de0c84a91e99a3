"""The headline figures of README.md and docs/*.md against the recorded runs behind them
(experiments/records/*.json, experiments/records.py): a number edited in the text, or a run
re-recorded without updating the text, fails here."""

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("records", ROOT / "experiments" / "records.py")
records = importlib.util.module_from_spec(spec)
spec.loader.exec_module(records)


def copy_of_the_repository(tmp_path):
    """README.md, docs/*.md and the records, where a test may spoil them."""
    root = tmp_path / "repo"
    (root / "docs").mkdir(parents=True)
    shutil.copy(ROOT / "README.md", root / "README.md")
    for path in (ROOT / "docs").glob("*.md"):
        shutil.copy(path, root / "docs" / path.name)
    shutil.copytree(records.RECORDS, root / "records")
    return root, root / "records"


def test_every_marked_figure_of_the_text_is_what_its_record_says():
    problems = records.check()
    assert problems == [], "\n".join(problems)


def test_the_headline_figures_are_marked():
    readme = (ROOT / "README.md").read_text()
    found = {(name, key) for name, key, *_ in records.marks(readme, Path("README.md"))}
    for spot in [
        ("default-run", "table"),
        ("default-run", "report"),
        ("default-run", "conditions"),
        ("default-run", "recon-bleu"),
        ("from-python", "code"),
        ("cvae", "table"),
        ("nmt-quick", "summary"),
        ("nmt-60min", "result"),
        ("test-suite", "duration"),
        ("bench-step", "readme-table"),
        ("bench-step", "readme-memory"),
        ("bench-step-rerun", "readme-1"),
        ("multi30k-epoch", "readme"),
        ("bench-eval", "readme"),
    ]:
        assert spot in found, f"README.md has no <!-- record: {spot[0]} {spot[1]} -->"
    # The PTB table: re-measured (ptb) or transcribed (ptb-table), marked either way.
    assert {("ptb", "table"), ("ptb-table", "table")} & found


def test_the_docs_headline_figures_are_marked():
    # The tables and time claims of docs/*.md, transcribed (not re-run) where no run stands
    # behind them any more: marked, so that an edit of one is seen.
    for doc, spots in {
        "benchmarks.md": [
            ("bench-step", "table"),
            ("bench-step", "parts"),
            ("bench-step", "memory"),
            ("bench-step-rerun", "figures"),
            ("bench-eval", "table"),
            ("bench-kernels", "output"),
            ("bench-kernels", "headline"),
            ("multi30k-epoch", "epoch"),
        ],
        "results.md": [
            (f"results-{t}", "table")
            for t in ("ptb", "ptb-earlier", "multi30k", "multi30k-papers", "hvae", "latent")
        ],
        "hierarchical.md": [("hvae-tutorial", "table"), ("hvae-tutorial", "seconds")],
        "conditional.md": [("cvae", "table"), ("cvae", "seconds")],
        "translation.md": [("nmt-runs", "table"), ("nmt-bench", "table"), ("nmt-quick", "details")],
    }.items():
        text = (ROOT / "docs" / doc).read_text()
        found = {(name, key) for name, key, *_ in records.marks(text, Path(doc))}
        for spot in spots:
            assert spot in found, f"docs/{doc} has no <!-- record: {spot[0]} {spot[1]} -->"
    for name in records.TRANSCRIBED:
        rec = records.load(name)
        assert rec["measured"] is False and "9f4bc28" in rec["source"], name
        assert rec["machine"] and rec["date"] and rec["command"], name


def test_a_transcribed_table_renders_as_the_doc_writes_it():
    table = {
        "columns": ["run", "NLL", "tokens/s", "time"],
        "formats": [None, "{:.1f}", "{:,d}", "{:.1f} ms"],
        "rows": [["none", 118.0, 3597, 195.7], ["free-bits", 123.4, None, "n/a"], ["z", "todo"]],
    }
    assert records.table_text(table) == (
        "| run | NLL | tokens/s | time |\n|---|---|---|---|\n"
        "| none | 118.0 | 3,597 | 195.7 ms |\n| free-bits | 123.4 |  | n/a |\n| z | todo | | |"
    )
    assert records.table_text({**table, "empty": " "}).count("| 123.4 | | n/a |") == 1
    with pytest.raises(ValueError, match="a row of 5 cells in a table of 4"):
        records.table_text({**table, "rows": [["a", 1, 2, 3, 4]]})
    with pytest.raises(ValueError, match="4 columns with 3 formats"):
        records.table_text({**table, "formats": [None, None, None]})


def test_a_number_edited_in_a_transcribed_table_fails(tmp_path):
    root, recs = copy_of_the_repository(tmp_path)
    doc = root / "docs" / "results.md"
    text = doc.read_text()
    row = "| pretrain-fb | 118.3 | 118.0 | 220.5 | 3.63 | 1.70 | 32 | 17 | 255 |"
    assert text.count(row) == 1
    doc.write_text(text.replace(row, row.replace("| 3.63 |", "| 3.36 |")))
    problems = records.check(root, recs)
    assert len(problems) == 1 and problems[0].startswith("docs/results.md:")
    assert "results-ptb-earlier table" in problems[0] and "3.36" in problems[0]
    assert records.write(root, recs) == [doc] and doc.read_text() == text


def test_a_number_edited_in_the_text_fails(tmp_path):
    root, recs = copy_of_the_repository(tmp_path)
    readme = root / "README.md"
    text = readme.read_text()
    nelbo = f"| {records.load('default-run')['report']['nelbo']:.2f} |"
    assert text.count(nelbo) == 1
    readme.write_text(text.replace(nelbo, "| 23.51 |"))
    problems = records.check(root, recs)
    assert len(problems) == 1
    assert problems[0].startswith("README.md:") and "default-run table" in problems[0]
    assert "23.51" in problems[0]
    # write() puts the record's figures back, and then the text agrees again.
    assert records.write(root, recs) == [readme]
    assert readme.read_text() == text and records.check(root, recs) == []


def test_a_run_recorded_again_without_the_text_fails(tmp_path):
    root, recs = copy_of_the_repository(tmp_path)
    path = recs / "default-run.json"
    rec = json.loads(path.read_text())
    rec["report"]["recon_bleu"] += 1.0
    path.write_text(json.dumps(rec))
    problems = records.check(root, recs)
    assert problems and all("default-run recon-bleu" in p for p in problems)


def test_a_transcribed_record_must_say_so(tmp_path):
    root, recs = copy_of_the_repository(tmp_path)
    path = recs / "nmt-60min.json"
    rec = json.loads(path.read_text())
    assert rec["measured"] is False and rec["source"].startswith("not re-run: ")
    del rec["source"]
    path.write_text(json.dumps(rec))
    with pytest.raises(ValueError, match="not re-run"):
        records.check(root, recs)


def test_markers_that_name_nothing_or_stay_open_are_refused(tmp_path):
    root, recs = copy_of_the_repository(tmp_path)
    doc = root / "docs" / "extra.md"
    doc.write_text("one\n<!-- record: default-run nelbo -->23.43<!-- /record -->\n")
    problems = records.check(root, recs)
    assert problems == ["docs/extra.md:2: no figure default-run nelbo in experiments/records"]
    doc.write_text("one\ntwo\n<!-- record: default-run table -->\n| 1 |\n")
    with pytest.raises(ValueError, match=r"docs/extra.md:3: .* without its <!-- /record -->"):
        records.check(root, recs)
    doc.write_text("one\n<!-- record: default-run table -->\n<!-- record: x y -->1<!-- /record -->")
    with pytest.raises(ValueError, match=r"docs/extra.md:2: .* without its <!-- /record -->"):
        records.check(root, recs)
    doc.write_text("one\n23.43<!-- /record -->\n")
    with pytest.raises(ValueError, match=r"docs/extra.md:2: a <!-- /record --> without its open"):
        records.check(root, recs)


def test_a_figure_that_stands_nowhere_is_reported(tmp_path):
    root, recs = copy_of_the_repository(tmp_path)
    readme = root / "README.md"
    text = readme.read_text()
    start = text.index("<!-- record: test-suite duration -->")
    end = text.index("<!-- /record -->", start) + len("<!-- /record -->")
    readme.write_text(text[:start] + "471 s" + text[end:])
    assert records.check(root, recs) == [
        "test-suite duration: recorded but nowhere in README.md, docs/*.md"
    ]


def test_a_record_holds_what_its_run_wrote(tmp_path, monkeypatch):
    monkeypatch.setitem(
        records.COMMANDS,
        "tiny",
        "minivae train --builtin-size 200 --epochs 1 --embed-dim 8 --hidden-dim 8 "
        "--iw-samples 2 --device cpu --out {out} --overwrite --no-progress",
    )
    rec = records.record("tiny", runs=tmp_path / "runs", records=tmp_path / "records")
    saved = json.loads((tmp_path / "records" / "tiny.json").read_text())
    assert saved == rec and rec["measured"] is True
    report = json.loads((tmp_path / "runs" / "tiny" / "report.json").read_text())
    assert rec["report"] == report and len(rec["epochs"]) == 1
    assert rec["command"].startswith("minivae train --builtin-size 200")
    assert "-core" in rec["machine"] and "no GPU" in rec["machine"]
    assert rec["wall_seconds"] > 0 and 0 < rec["load"]["cpu_share"] <= 1.5
    assert rec["peak_rss_mb"] > 20 and "== Validation metrics" in rec["output"]
    assert rec["versions"]["numpy"] and rec["date"] in rec["started"]
    # A command that fails writes no record and says where its output went.
    monkeypatch.setitem(records.COMMANDS, "broken", "minivae train --epochs -3 --out {out}")
    with pytest.raises(SystemExit, match=r"broken failed \(exit 2\): see .*broken.log"):
        records.record("broken", runs=tmp_path / "runs", records=tmp_path / "records")
    assert not (tmp_path / "records" / "broken.json").exists()


def test_measured_records_agree_with_what_their_run_printed():
    # A record edited by hand (a report value changed, the run's printed report left) fails.
    measured = 0
    for path in sorted(records.RECORDS.glob("*.json")):
        rec = json.loads(path.read_text())
        assert rec["measured"] in (True, False), path.name
        if not rec["measured"]:
            assert rec["source"].startswith("not re-run: "), path.name
            continue
        for field in ("command", "date", "machine", "load", "wall_seconds", "versions"):
            assert field in rec, f"{path.name} has no {field}"
        if "report" in rec:
            r = rec["report"]
            printed = f"-ELBO {r['nelbo']:.2f} = rec {r['rec']:.2f} + KL {r['kl']:.2f}"
            assert printed in rec["output"], path.name
            assert f"{r['nll']:.2f}, perplexity {r['ppl']:.2f}" in rec["output"], path.name
            measured += 1
    assert measured >= 5


def fake_run(folder, nll, kl, k100=None):
    """A finished run folder as experiments/run.sh leaves it, with the files a table reads."""
    folder.mkdir(parents=True)
    test = {
        "nll": nll,
        "ppl": 200.0,
        "kl": kl,
        "mi": kl / 2,
        "mi_per_batch": kl / 3,
        "active_units": 32 if kl > 1 else 0,
    }
    (folder / "report.json").write_text(json.dumps({"test": test, "samples": ["a b c"]}))
    rows = [{"split": "train", "loss": 1.0}, {"split": "valid", "seconds": 20.0, "nll": nll}]
    (folder / "metrics.jsonl").write_text("\n".join(map(json.dumps, rows)) + "\n")
    if k100 is not None:
        (folder / "test-k100.json").write_text(json.dumps({"nll": k100}))


def test_a_table_recorded_from_run_folders_renders_as_runs_table_prints_it(tmp_path):
    from minivae.benchmarks.runs_table import markdown, run_row

    runs = {"none": tmp_path / "runs" / "none", "live": tmp_path / "runs" / "live"}
    fake_run(runs["none"], 118.25, 0.01)
    fake_run(runs["live"], 118.71, 3.69, k100=118.39)
    rec = records.record_table(
        "results-ptb",
        runs,
        "bash experiments/run.sh ptb",
        "two at a time",
        records=tmp_path / "records",
    )
    assert rec["measured"] is True and set(rec["runs"]) == {"none", "live"}
    assert "samples" not in rec["runs"]["live"]["report"]  # only what the table reads is kept
    for field in ("command", "date", "machine", "load", "wall_seconds", "versions"):
        assert field in rec
    # The folders go; the record still renders the table the command printed from them.
    printed = markdown({name: run_row(folder) for name, folder in runs.items()})
    shutil.rmtree(tmp_path / "runs")
    rendered = records.runs_table_figures(records.load("results-ptb", tmp_path / "records"))
    assert rendered["table"] == printed
    assert "| live | 118.7 | 118.4 | 200.0 | 3.69 | 1.84 | 1.23 | 32 | 20 | 20 |" in printed


def test_a_table_row_can_come_from_a_measured_record(tmp_path):
    # The README's PTB rows were recorded one at a time by `records.py record`; a table of
    # docs/results.md takes them as they are instead of training them again.
    recs = tmp_path / "records"
    shutil.copytree(records.RECORDS, recs)
    fake_run(tmp_path / "none", 118.25, 0.01)
    rows = {"none": tmp_path / "none", "pretrain-fb": "record:ptb-pretrain-fb"}
    rec = records.record_table("results-ptb", rows, "bash experiments/run.sh ptb", "", recs)
    source = records.load("ptb-pretrain-fb", recs)
    table = records.runs_table_figures(rec)["table"]
    want = f"| pretrain-fb | {source['report']['test']['nll']:.1f} | {source['eval']['nll']:.1f} |"
    assert want in table and rec["runs"]["pretrain-fb"]["from_record"] == "ptb-pretrain-fb"
    with pytest.raises(ValueError, match="results-multi30k: not a table recorded by"):
        records.runs_table_figures(records.load("results-multi30k", recs))
    with pytest.raises(ValueError, match="record:results-multi30k: not a measured record"):
        records.record_table("results-ptb", {"x": "record:results-multi30k"}, "c", "", recs)


def test_an_edited_number_of_a_recorded_run_table_fails(tmp_path):
    root, recs = copy_of_the_repository(tmp_path)
    rec = records.load("results-ptb", recs)
    assert rec["measured"] is True
    first = next(iter(rec["runs"].values()))
    first["report"]["test"]["kl"] += 0.5
    (recs / "results-ptb.json").write_text(json.dumps(rec))
    problems = records.check(root, recs)
    assert len(problems) == 1 and "results-ptb table" in problems[0]


def test_the_table_command_refuses_a_row_without_its_run(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        records.main(["table", "results-ptb", f"none={tmp_path / 'nowhere'}", "--command", "x"])
    assert stop.value.code == 2
    assert "NAME=FOLDER of a finished run" in capsys.readouterr().err
    (tmp_path / "running").mkdir()  # a run still training: no report.json yet
    with pytest.raises(SystemExit):
        records.main(["table", "results-ptb", f"x={tmp_path / 'running'}", "--command", "x"])


def test_a_dialogue_table_keeps_the_test_responses_metrics(tmp_path):
    from minivae.benchmarks.runs_table import dialogue_table, run_files

    folder = tmp_path / "runs" / "kgcvae"
    fake_run(folder, 58.1, 8.7)
    report = json.loads((folder / "report.json").read_text())
    report["test"]["nelbo"] = 59.4
    scores = {"bleu_recall": 0.31, "bleu_precision": 0.18, "bleu_f1": 0.23}
    scores |= {"bleu_words_recall": 0.25, "bleu_words_precision": 0.12}
    scores |= {"intra_dist1": 0.9, "intra_dist2": 0.95, "inter_dist1": 0.4, "inter_dist2": 0.7}
    scores |= {"dist1": 0.001, "dist2": 0.006}
    report |= {f"test_{k}": v for k, v in scores.items()} | {"valid_bleu_recall": 0.2}
    (folder / "report.json").write_text(json.dumps(report))
    # the old smoothing's BLEU from a later `minivae dialog eval --json`, saved beside the run
    later = {"bleu_nltk35_recall": 0.35, "bleu_nltk35_precision": 0.24, "bleu_recall": 0.31}
    (folder / "test-eval.json").write_text(json.dumps(later))
    printed = dialogue_table({"kgCVAE": run_files(folder)})
    rec = records.record_table(
        "dialogue-dailydialog", {"kgCVAE": folder}, "c", "", tmp_path / "records"
    )
    assert set(rec["runs"]["kgCVAE"]["report"]) == {"test", *(f"test_{k}" for k in scores)}
    shutil.rmtree(tmp_path / "runs")
    assert records.runs_table_figures(rec)["table"] == printed
    assert "| kgCVAE | 1 | 0 | 0.310 | 0.180 | 0.230 | 0.250 / 0.120 | 0.350 / 0.240 |" in printed
    assert "| 59.40 | 8.70 | 32 |" in printed
