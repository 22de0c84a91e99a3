"""``minivae dialog train|respond|chat|eval`` on a crafted folder, tiny sizes."""

import json
import subprocess
import sys

import pytest
from dialogue_files import write_folder

from minivae.cli import main

TINY = ["--embed-dim", "8", "--hidden-dim", "8", "--context-dim", "8", "--latent-dim", "3"]
TINY += ["--act-dim", "2", "--prior-dim", "4", "--epochs", "2", "--num-samples", "3"]
TINY += ["--valid-limit", "3", "--iw-samples", "2", "--no-progress"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    base = tmp_path_factory.mktemp("dialog")
    folder = write_folder(base / "dd")
    out = base / "run"
    assert main(["dialog", "train", "--data", str(folder), "--out", str(out), *TINY]) == 0
    return folder, out


def test_train_reports_bleu_and_writes_a_run(run, capsys):
    _, out = run
    report = json.loads((out / "report.json").read_text())
    assert 0 <= report["test_bleu_recall"] <= 1 and report["test_pairs"] == 3
    assert report["test_bleu_recall"] >= report["test_bleu_precision"]
    rows = [json.loads(r) for r in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows if r["split"] == "valid"] == [1, 2]
    assert all("bleu_recall" in r for r in rows if r["split"] == "valid")


def test_respond_and_its_errors(run, capsys):
    _, out = run
    assert (
        main(
            [
                "dialog",
                "respond",
                str(out),
                "--context",
                "how are you ?",
                "-n",
                "3",
                "--act",
                "question",
            ]
        )
        == 0
    )
    assert len(capsys.readouterr().out.strip().splitlines()) == 3
    long = " __eou__ ".join(["hi"] * 10)
    assert main(["dialog", "respond", str(out), "--context", long]) == 2
    assert "the context has 10 turns; the model reads at most 9" in capsys.readouterr().err
    assert main(["dialog", "respond", str(out), "--context", "hi __eou__ __eou__ you"]) == 2
    assert "an empty turn" in capsys.readouterr().err


def test_chat_works_piped(run):
    _, out = run
    proc = subprocess.run(
        [sys.executable, "-m", "minivae", "dialog", "chat", str(out)],
        input="hello , how are you ?\nwhat is your name ?\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.strip().splitlines()) == 2  # one answer per turn, no prompts


def test_eval_dumps_what_it_scored(run, tmp_path, capsys):
    _, out = run
    dump = tmp_path / "responses.jsonl"
    assert main(["dialog", "eval", str(out), "--split", "test", "--dump", str(dump), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    rows = [json.loads(r) for r in dump.read_text().splitlines()]
    assert len(rows) == metrics["pairs"] == 3 and len(rows[0]["samples"]) == 3
    assert rows[0]["context"] == ["hello , how are you ?"]
    # DialogWAE's tokens: the words, then </s> where the sentence ended
    assert rows[0]["reference"] == "i am fine , thanks . and you ? </s>"
    samples = [s.split() for r in rows for s in r["samples"]]
    assert all("</s>" not in s[:-1] for s in samples)  # only ever the last token
    from minivae.dialogue.metrics import response_scores

    again = response_scores(
        [[s.split() for s in r["samples"]] for r in rows], [r["reference"].split() for r in rows]
    )
    assert again["bleu_recall"] == pytest.approx(metrics["bleu_recall"])


def test_train_on_a_bad_folder_is_a_clear_error(tmp_path, capsys):
    folder = write_folder(tmp_path / "dd")
    (folder / "dialogues_act_train.txt").write_text("1 2 5\n")
    assert (
        main(["dialog", "train", "--data", str(folder), "--out", str(tmp_path / "r"), *TINY]) == 2
    )
    err = capsys.readouterr().err
    assert "minivae dialog train: error:" in err and "has 1 lines" in err


def test_the_shared_commands_serve_or_refuse_a_dialogue_run(run, capsys):
    _, out = run
    assert main(["eval", str(out), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["num_sentences"] == 3 and metrics["nelbo"] > 0  # the validation responses
    assert main(["reconstruct", str(out), "hello there"]) == 2
    assert "not lone sentences" in capsys.readouterr().err


def test_resume_continues_a_dialogue_run(run, tmp_path):
    import shutil

    _, out = run
    copy = tmp_path / "run"
    shutil.copytree(out, copy)
    assert main(["dialog", "train", "--resume", str(copy), "--epochs", "3", "--no-progress"]) == 0
    rows = [json.loads(r) for r in (copy / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows if r["split"] == "valid"] == [1, 2, 3]


def test_act_control_shares_and_the_classifier(run, capsys):
    _, out = run
    assert main(["dialog", "eval", str(out), "--act-control", "3", "--limit", "2", "--json"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert 0 <= m["act_classifier_accuracy"] <= 1
    for name in ("inform", "question", "directive", "commissive"):
        assert 0 <= m[f"act_{name}_controlled"] <= 1
    assert sum(
        m[f"act_{n}_uncontrolled"] for n in ("inform", "question", "directive", "commissive")
    ) == pytest.approx(1.0)
    assert main(["dialog", "eval", str(out), "--act-control", "-1"]) == 2


def test_the_act_classifier_learns_questions():
    from minivae.dialogue.acts import ActClassifier

    turns = [
        ["what", "is", "it", "?"],
        ["where", "are", "you", "?"],
        ["it", "is", "red", "."],
        ["i", "am", "home", "."],
        ["please", "sit", "down", "."],
        ["i", "will", "come", "."],
    ]
    clf = ActClassifier().fit(turns, [1, 1, 0, 0, 2, 3])
    assert clf.predict(["what", "are", "you", "?"]) == 1
    assert clf.predict(["i", "am", "red", "."]) == 0
    assert clf.accuracy(turns, [1, 1, 0, 0, 2, 3]) == 1.0


def test_the_table_of_docs_dialogue_reads_a_finished_run(run, capsys):
    from minivae.benchmarks.runs_table import main as runs_table

    _, out = run
    assert runs_table(["--dialogue", str(out), "--names", "tiny"]) == 0
    head, rule, row = capsys.readouterr().out.strip().splitlines()
    report = json.loads((out / "report.json").read_text())
    cells = dict(zip(head.strip("| ").split(" | "), row.strip("| ").split(" | ")))
    assert cells["run"] == "tiny" and cells["epochs"] == "2"
    assert cells["BLEU R"] == f"{report['test_bleu_recall']:.3f}"
    assert cells["-ELBO"] == f"{report['test']['nelbo']:.2f}"
    assert cells["AU"] == str(report["test"]["active_units"])
