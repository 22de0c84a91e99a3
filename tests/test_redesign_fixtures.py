"""What a user sees does not change with the redesign of issue 26: checkpoints written by the
code before it still load and give the same numbers, a fixed-seed run of ``minivae train``
gives the same numbers, ``minivae gradcheck`` lists the same rows and every command keeps its
options. The fixtures were recorded by ``tests/fixtures/record_main.py`` at main 89b67c9."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

FIXTURES = Path(__file__).parent / "fixtures"
sys.path.insert(0, str(FIXTURES))
import record_main  # noqa: E402

EXPECTED = json.loads((FIXTURES / "main_checkpoints" / "expected.json").read_text())


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_a_checkpoint_of_main_loads_and_gives_the_same_numbers(kind):
    got = record_main.fixed_outputs(FIXTURES / "main_checkpoints" / f"{kind}.npz", kind)
    want = EXPECTED[kind]
    assert got["sentences"] == want["sentences"] and got["condition"] == want["condition"]
    for key in ("mu", "logvar"):
        np.testing.assert_allclose(got[key], want[key], rtol=1e-5, atol=1e-6, err_msg=key)
    for key in ("loss", "rec", "kl"):
        assert got[key] == pytest.approx(want[key], rel=1e-6), key
    assert sorted(got["grad_sq"]) == sorted(want["grad_sq"])
    for name, value in want["grad_sq"].items():
        assert got["grad_sq"][name] == pytest.approx(value, rel=1e-4, abs=1e-10), name
    assert got["reconstruct"] == want["reconstruct"]


def test_a_changed_checkpoint_number_would_fail():
    """The comparison above can fail: a perturbed parameter changes the loss."""
    import minivae

    m = minivae.load(FIXTURES / "main_checkpoints" / "vae.npz")
    want = EXPECTED["vae"]
    m.params["out_b"][4] += 1.0
    batch = m._batch(want["sentences"])
    eps = np.random.default_rng(5).standard_normal((2, m.model.config.latent_dim))
    terms, _ = record_main.loss_of(m, batch, eps)
    assert terms.loss != pytest.approx(want["loss"], rel=1e-6)


def test_the_default_run_with_a_fixed_seed_gives_the_recorded_numbers(tmp_path):
    want = json.loads((FIXTURES / "default_run.json").read_text())
    record_main.main_cli(["train", *want["argv"], "--out", str(tmp_path), "--no-progress"])
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    rows = [{k: v for k, v in json.loads(r).items() if k not in record_main.TIMING} for r in lines]
    assert len(rows) == len(want["rows"])
    for got, expected in zip(rows, want["rows"]):
        assert sorted(got) == sorted(expected)
        for key, value in expected.items():
            if isinstance(value, float):
                assert got[key] == pytest.approx(value, rel=1e-6, abs=1e-9), (key, expected)
            else:
                assert got[key] == value, key
    report = json.loads((tmp_path / "report.json").read_text())
    for key, value in want["report"].items():
        if isinstance(value, float) and key not in record_main.TIMING:
            assert report[key] == pytest.approx(value, rel=1e-6, abs=1e-9), key


def test_gradcheck_lists_the_same_rows():
    from minivae.gradcheck.models import model_cases
    from minivae.gradcheck.op_cases import check_all_ops

    want = json.loads((FIXTURES / "gradcheck_rows.json").read_text())
    assert [label for label, *_ in model_cases()] == want["models"]
    assert [f"{r.op} | {r.input}" for r in check_all_ops(seed=0)] == want["ops"]


def test_every_command_keeps_its_help_and_options(monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    want = json.loads((FIXTURES / "help.json").read_text())
    got = record_main.help_texts()
    assert sorted(got) == sorted(want)
    for command, text in want.items():
        assert got[command] == text, command
