"""The registry table (one row per model family) and the model configs a run builds from its
options (``config_dict.sizes_from``)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from types import SimpleNamespace

import pytest

from minivae.conditional.run_config import CVAETrainConfig
from minivae.config_dict import option, sizes_from
from minivae.model.run_config import TrainConfig
from minivae.registry import FAMILIES, family, model_class, train_config_class
from minivae.translation.run_config import NMTTrainConfig

DATA = SimpleNamespace(vocab=["w"] * 23, condition=SimpleNamespace(size=9))


def test_each_row_names_its_model_its_config_and_its_run():
    for kind, row in FAMILIES.items():
        assert row.model.kind == kind and row.config is row.model.config_class
        assert row.task_metrics == row.run_config.task_metrics
        assert model_class(kind) is row.model and train_config_class(kind) is row.run_config
    with pytest.raises(ValueError, match="unknown model 'dialog'; the models are: vae"):
        family("dialog")


@pytest.mark.parametrize(
    "run, kind",
    [
        (TrainConfig(embed_dim=7, hidden_dim=9, latent_dim=5, cell="gru"), "vae"),
        (TrainConfig(model="hierarchical", latent_dim2=3, prior_hidden=6, z_mode="init"), "hvae"),
        (CVAETrainConfig(task="translate", prior_dim=5, bow=False), "cvae"),
        (NMTTrainConfig(enc_hidden_dim=6, attention="bilinear", out_dim=10), "nmt"),
    ],
)
def test_a_run_builds_its_family_with_every_size_it_was_given(run, kind):
    model = run.build_model(DATA)
    assert model.kind == kind and model.vocab_size == 23
    decided = {"vocab_size": 23, "src_vocab_size": 9, "num_classes": 0}
    for f in fields(model.config):
        if f.name in decided:
            want = decided[f.name]
        elif "help" in f.metadata:  # an option: the run's value
            want = getattr(run, f.name)
        else:  # set by the family, not the run (the decoder's step_code_dim): its default
            want = f.default
        assert getattr(model.config, f.name) == want, f.name


def test_a_size_the_run_does_not_declare_is_an_error_naming_it():
    @dataclass(frozen=True)
    class Sizes:
        vocab_size: int
        depth: int = option(2, "an option no run declares")
        wiring: int = 0  # not an option: the family sets it, or its default stands

    with pytest.raises(AttributeError, match="depth"):
        sizes_from(Sizes, TrainConfig(), vocab_size=5)
    assert sizes_from(Sizes, TrainConfig(), vocab_size=5, depth=3) == Sizes(5, 3, 0)
    assert sizes_from(Sizes, TrainConfig(), vocab_size=5, depth=3, wiring=1).wiring == 1


def test_a_trainer_resumes_from_a_read_checkpoint_not_a_path(tmp_path):
    """Reading a checkpoint needs the registry (above training): a path is refused with the
    function that reads one named."""
    from minivae.training.trainer import Trainer

    with pytest.raises(TypeError, match="resume_trainer"):
        Trainer(resume=tmp_path / "last.npz", progress_bar=False, log=lambda *_: None)
