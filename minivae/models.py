"""Every model, by the name checkpoints and the command line use (``TextModel.kind``)."""

from __future__ import annotations

from minivae.conditional.cvae import ConditionalVAE
from minivae.hierarchical.hvae import HierarchicalVAE
from minivae.interface import TextModel
from minivae.model.text_vae import TextVAE
from minivae.translation.nmt import TranslationVAE

MODELS: dict[str, type[TextModel]] = {
    cls.kind: cls for cls in (TextVAE, ConditionalVAE, HierarchicalVAE, TranslationVAE)
}


def model_class(kind) -> type[TextModel]:
    if kind not in MODELS:
        raise ValueError(f"unknown model {kind!r}; the models are: {', '.join(MODELS)}")
    return MODELS[kind]


def train_config_class(kind):
    """The config dataclass of a model's training runs (its data and knobs)."""
    from minivae.conditional.config import CVAETrainConfig
    from minivae.training.config import TrainConfig
    from minivae.translation.config import NMTTrainConfig

    if kind == TranslationVAE.kind:
        return NMTTrainConfig
    return CVAETrainConfig if model_class(kind).conditional else TrainConfig
