"""The sizes and choices that define a hierarchical (two-layer) text VAE: the text VAE's
(``ModelConfig``, inherited) and the two of its own."""

from __future__ import annotations

from dataclasses import dataclass, fields

from minivae.blocks.config import ModelConfig
from minivae.config_dict import option


@dataclass(frozen=True)
class HVAEConfig(ModelConfig):
    """p(z2) p(z1 | z2) p(x | z1) with q(z1 | x) q(z2 | x) (``minivae.hierarchical.model``).

    latent_dim: size Z1 of the lower latent z1, the one the decoder reads.
    latent_dim2: size Z2 of the top latent z2 ~ N(0, I).
    prior_hidden: width P of the prior network's tanh layer, z2 -> p(z1 | z2).
    The other fields mean what they mean in ``ModelConfig``.
    """

    latent_dim2: int = option(16, "--model hierarchical: size of the top latent z2", low=1)
    prior_hidden: int = option(
        64, "--model hierarchical: hidden size of the prior network p(z1|z2)", low=1
    )

    @property
    def decoder_config(self) -> ModelConfig:
        """The plain VAE whose encoder RNN, q(z1 | x) heads and decoder this model reuses:
        its latent is z1 (the decoder reads z1 alone, see ``minivae.hierarchical.model``)."""
        return ModelConfig(**{f.name: getattr(self, f.name) for f in fields(ModelConfig)})
