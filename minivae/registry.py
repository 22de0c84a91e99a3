"""Every model family, by the name checkpoints and the command line use (``TextModel.kind``).

One row per family: its model class (``minivae.interface.TextModel``), the dataclass of the
model's sizes, the config of its training runs (data, knobs, ``build_model``, the selection
rule) and its task metrics (printed in the final report). Everything above this layer (the
command line, the Python API, the benchmarks, the gradient checks) finds a family here;
everything below it knows only the model interface. A new family is a folder beside the
others and one row here (docs/architecture.md).
"""

from __future__ import annotations

from typing import NamedTuple

from minivae.blocks.config import ModelConfig
from minivae.conditional.config import CVAEConfig
from minivae.conditional.cvae import ConditionalVAE
from minivae.conditional.run_config import CVAETrainConfig
from minivae.dialogue.config import DialogueConfig
from minivae.dialogue.dialogue_vae import DialogueVAE
from minivae.dialogue.run_config import DialogueTrainConfig
from minivae.hierarchical.config import HVAEConfig
from minivae.hierarchical.hvae import HierarchicalVAE
from minivae.interface import TextModel
from minivae.model.run_config import TrainConfig
from minivae.model.text_vae import TextVAE
from minivae.translation.config import NMTConfig
from minivae.translation.nmt import TranslationVAE
from minivae.translation.run_config import NMTTrainConfig


class Family(NamedTuple):
    model: type[TextModel]  # the model class
    config: type  # the dataclass of its sizes and choices (saved in every checkpoint)
    run_config: type  # the dataclass of its training runs (a training.config.RunConfig)
    task_metrics: object  # (run config, model, params, data, log, out) -> {name: number}


FAMILIES: dict[str, Family] = {
    "vae": Family(TextVAE, ModelConfig, TrainConfig, TrainConfig.task_metrics),
    "cvae": Family(ConditionalVAE, CVAEConfig, CVAETrainConfig, CVAETrainConfig.task_metrics),
    "hvae": Family(HierarchicalVAE, HVAEConfig, TrainConfig, TrainConfig.task_metrics),
    "nmt": Family(TranslationVAE, NMTConfig, NMTTrainConfig, NMTTrainConfig.task_metrics),
    "dialogue": Family(
        DialogueVAE, DialogueConfig, DialogueTrainConfig, DialogueTrainConfig.task_metrics
    ),
}

MODELS: dict[str, type[TextModel]] = {kind: family.model for kind, family in FAMILIES.items()}


def family(kind) -> Family:
    if kind not in FAMILIES:
        raise ValueError(f"unknown model {kind!r}; the models are: {', '.join(FAMILIES)}")
    return FAMILIES[kind]


def model_class(kind) -> type[TextModel]:
    return family(kind).model


def train_config_class(kind):
    """The config dataclass of a model's training runs (its data and knobs)."""
    return family(kind).run_config
