"""The sizes and choices that define a hierarchical (two-layer) text VAE."""

from __future__ import annotations

from dataclasses import dataclass, fields

from minivae.blocks.config import ModelConfig
from minivae.config_dict import DictConfig


@dataclass(frozen=True)
class HVAEConfig(DictConfig):
    """p(z2) p(z1 | z2) p(x | z1) with q(z1 | x) q(z2 | x) (``minivae.hierarchical.model``).

    latent_dim: size Z1 of the lower latent z1, the one the decoder reads.
    latent_dim2: size Z2 of the top latent z2 ~ N(0, I).
    prior_hidden: width P of the prior network's tanh layer, z2 -> p(z1 | z2).
    The other fields mean what they mean in ``ModelConfig``.
    """

    vocab_size: int
    embed_dim: int = 64
    hidden_dim: int = 128
    latent_dim: int = 16
    latent_dim2: int = 16
    prior_hidden: int = 64
    cell: str = "lstm"
    z_mode: str = "both"
    share_embeddings: bool = True

    def __post_init__(self):
        self.require_positive("latent_dim2", "prior_hidden")
        _ = self.decoder_config  # checks the sizes, the cell and z_mode

    @property
    def decoder_config(self) -> ModelConfig:
        """The plain VAE whose encoder RNN, q(z1 | x) heads and decoder this model reuses:
        its latent is z1 (the decoder reads z1 alone, see ``minivae.hierarchical.model``)."""
        return ModelConfig(**{f.name: getattr(self, f.name) for f in fields(ModelConfig)})
