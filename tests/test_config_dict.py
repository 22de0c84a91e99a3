"""A model's sizes are declared once, in its model config (``config_dict.option`` with help,
choices and limits as data); the command-line options, the validation and the checkpoint's
metadata are derived from there (``DictConfig.check_options``, ``config_dict.model_options``,
``config_dict.sizes_from``)."""

from __future__ import annotations

import ast
import inspect
import textwrap
from dataclasses import dataclass, fields

import numpy as np
import pytest

from minivae.blocks.config import ModelConfig
from minivae.cli.options import Parser, add_config_options, config_from_args, option_fields
from minivae.config_dict import model_options, option, options_of, sizes_from
from minivae.hierarchical.config import HVAEConfig
from minivae.model.run_config import TrainConfig
from minivae.registry import FAMILIES
from minivae.training.checkpoint import load_checkpoint, save_checkpoint
from minivae.training.config import RunConfig
from minivae.translation.run_config import NMTTrainConfig

RUN_CONFIGS = [RunConfig, *dict.fromkeys(row.run_config for row in FAMILIES.values())]


# -- the one-file property: a new size in a model config, nothing else edited -----------------
@dataclass(frozen=True)
class DeepConfig(HVAEConfig):
    """The hierarchical VAE's config with one more size: the one line a new size takes."""

    depth: int = option(2, "layers of the prior network", low=1, high=4)


@dataclass
@model_options(DeepConfig)
class DeepRun(TrainConfig):
    """A run of that model: its body names nothing of the model (as TrainConfig's does not
    name latent_dim2 or prior_hidden)."""


def parse(argv):
    parser = Parser(prog="minivae train")
    add_config_options(parser, DeepRun)
    return parser, config_from_args(DeepRun, parser.parse_args(argv))


def test_a_new_size_of_a_model_config_is_an_option_of_its_run(capsys):
    parser, run = parse(["--depth", "3", "--latent-dim2", "5"])
    assert run.depth == 3 and run.latent_dim2 == 5
    assert parse([])[1].depth == 2  # the model config's default
    sizes = sizes_from(DeepConfig, run, vocab_size=9)
    assert sizes.depth == 3 and sizes.latent_dim2 == 5 and sizes.embed_dim == run.embed_dim
    text = parser.format_help()
    assert "--depth DEPTH" in text and "layers of the prior network (default: 2)" in text
    # the new option comes after the run's own, like latent_dim2 and prior_hidden
    names = [f.name for f in option_fields(DeepRun)]
    assert names[-3:] == ["latent_dim2", "prior_hidden", "depth"]


@pytest.mark.parametrize("bad", ["0", "5", "-1"])
def test_a_new_size_is_checked_by_its_declared_limits(bad):
    message = rf"--depth \(depth\) must be an integer in \[1, 4\], got {bad}"
    with pytest.raises(ValueError, match=message):
        parse(["--depth", bad])
    for value in (int(bad), True, 2.0, "2", None):
        with pytest.raises(ValueError, match=r"DeepConfig\.depth must be an integer in \[1, 4\]"):
            DeepConfig(vocab_size=9, depth=value)
    assert DeepConfig(vocab_size=9, depth=4).depth == 4  # the limits are inclusive


def test_a_new_size_goes_through_a_checkpoint_under_its_own_flat_name(tmp_path):
    _, run = parse(["--depth", "3"])
    sizes = sizes_from(DeepConfig, run, vocab_size=9)
    meta = {"model": {"kind": "deep", "config": sizes.to_dict()}, "train_config": run.to_dict()}
    path = save_checkpoint(tmp_path / "last.npz", {"w": np.zeros(2, np.float32)}, meta)
    _, back, _ = load_checkpoint(path)
    assert back["train_config"]["depth"] == 3 and back["model"]["config"]["depth"] == 3
    assert DeepRun.from_dict(back["train_config"]) == run
    assert DeepConfig.from_dict(back["model"]["config"]) == sizes
    # a checkpoint written before the size existed loads, with the size's default
    old = {k: v for k, v in back["train_config"].items() if k != "depth"}
    assert DeepRun.from_dict(old).depth == 2
    # and one with a value outside the limits is refused, naming the option
    with pytest.raises(ValueError, match="--depth"):
        DeepRun.from_dict({**back["train_config"], "depth": 7})
    with pytest.raises(ValueError, match="depth"):
        DeepConfig.from_dict({**back["model"]["config"], "depth": 0})


def test_a_new_size_goes_through_a_trained_run_and_its_checkpoint(tmp_path, monkeypatch):
    """End to end, with the model registered as a family of its own (a test-only row)."""
    from minivae import registry
    from minivae.hierarchical.hvae import HierarchicalVAE
    from minivae.loading import load_model
    from minivae.training.trainer import Trainer

    class DeepVAE(HierarchicalVAE):
        kind = "deep"
        config_class = DeepConfig

    @dataclass
    class DeepTrain(DeepRun):
        def build_model(self, data):
            return DeepVAE(sizes_from(DeepConfig, self, vocab_size=len(data.vocab)))

    row = registry.Family(DeepVAE, DeepConfig, DeepTrain, DeepTrain.task_metrics)
    monkeypatch.setitem(registry.FAMILIES, "deep", row)
    sizes = dict(embed_dim=4, hidden_dim=5, latent_dim=2, latent_dim2=2, prior_hidden=3)
    cfg = DeepTrain(
        **sizes, depth=3, builtin_size=60, epochs=1, batch_size=16, iw_samples=1,
        device="cpu", out=str(tmp_path / "run"),
    )
    Trainer(cfg, progress_bar=False, log=lambda *_: None).run()
    trained = load_model(tmp_path / "run" / "last.npz")
    assert trained.model.config.depth == 3 and trained.train_config.depth == 3
    assert trained.meta["train_config"]["depth"] == 3  # flat, beside embed_dim
    assert trained.model.config == DeepConfig(vocab_size=trained.model.vocab_size, **sizes, depth=3)


# -- every family follows it --------------------------------------------------------------------
def own_fields(cls) -> set:
    """The names a class's body declares (read from its source: the decorator's additions are
    not there)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = tree.body[0].body
    return {s.target.id for s in body if isinstance(s, ast.AnnAssign)}


@pytest.mark.parametrize("run", RUN_CONFIGS, ids=lambda c: c.__name__)
def test_no_run_config_declares_a_size_of_its_model(run):
    sizes = {f.name for f in options_of(run.MODEL_CONFIG)}
    assert own_fields(run) and not own_fields(run) & sizes


@pytest.mark.parametrize("kind", sorted(FAMILIES))
def test_each_size_of_a_model_is_an_option_of_its_run_with_the_model_s_help_and_default(kind):
    row = FAMILIES[kind]
    run_fields = {f.name: f for f in option_fields(row.run_config)}
    model_sizes = options_of(row.config)
    assert model_sizes
    for f in model_sizes:
        assert f.name in run_fields, f.name
        got = run_fields[f.name]
        assert got.default == f.default and dict(got.metadata) == dict(f.metadata), f.name
    # and the fields the data decides are no options
    decided = {f.name for f in fields(row.config)} - {f.name for f in model_sizes}
    assert "vocab_size" in decided and not decided & set(run_fields)


def test_the_sizes_a_base_s_model_has_and_this_one_lacks_are_kept_but_no_options():
    names = {f.name for f in option_fields(NMTTrainConfig)}
    for lacking in ("cell", "z_mode", "share_embeddings", "cond_dim"):
        assert lacking not in names and lacking in NMTTrainConfig().to_dict()  # old checkpoints
    assert {"enc_hidden_dim", "attention", "key_dropout"} <= names


def test_a_family_s_own_limits_reach_its_run():
    assert NMTTrainConfig(latent_dim=0).latent_dim == 0  # no latent variable: allowed there
    with pytest.raises(ValueError, match=r"--latent-dim \(latent_dim\) must be an integer >= 1"):
        TrainConfig(latent_dim=0)
    with pytest.raises(ValueError, match=r"--cell \(cell\) must be one of \['lstm', 'gru'\]"):
        TrainConfig(cell="rnn")
    with pytest.raises(ValueError, match=r"ModelConfig\.hidden_dim must be an integer >= 1"):
        ModelConfig(vocab_size=9, hidden_dim=0)
    with pytest.raises(ValueError, match=r"--key-dropout \(key_dropout\) .* \[0, 0\.95\]"):
        NMTTrainConfig(key_dropout=float("nan"))


def test_a_huge_number_is_checked_without_an_overflow():
    """An int too large for a float (say from a crafted checkpoint) is compared as an int."""
    huge = 10**400
    with pytest.raises(ValueError, match=r"DeepConfig\.depth must be an integer in \[1, 4\]"):
        DeepConfig(vocab_size=9, depth=huge)
    assert TrainConfig(epochs=huge).epochs == huge  # no upper limit there


# -- the decorator refuses what would declare a size twice or lose it ---------------------------
def test_a_run_config_declaring_a_size_of_its_model_is_refused():
    with pytest.raises(TypeError, match=r"declares \['hidden_dim'\], option\(s\) of ModelConfig"):

        @dataclass
        @model_options(ModelConfig)
        class Twice(RunConfig):
            hidden_dim: int = option(7, "RNN hidden size H")


def test_the_decorator_must_sit_below_dataclass_and_before_must_name_a_field():
    with pytest.raises(TypeError, match="below @dataclass"):

        @model_options(ModelConfig)
        @dataclass
        class Above(RunConfig):
            extra: int = option(1, "an extra knob")

    with pytest.raises(TypeError, match="no field 'nowhere'"):

        @dataclass
        @model_options(ModelConfig, before="nowhere")
        class Lost(RunConfig):
            extra: int = option(1, "an extra knob")
