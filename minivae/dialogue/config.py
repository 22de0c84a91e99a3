"""The sizes and choices that define a dialogue model (saved in every checkpoint)."""

from __future__ import annotations

from dataclasses import dataclass

from minivae.blocks.config import ModelConfig
from minivae.config_dict import DictConfig

NUM_ACTS = 4  # DailyDialog's dialogue acts: inform, question, directive, commissive


@dataclass(frozen=True)
class DialogueConfig(DictConfig):
    """A hierarchical conditional VAE for responses (Zhao et al. 2017's kgCVAE).

    vocab_size V, embed_dim E (one table for the utterance encoder and the decoder),
    hidden_dim H (each direction of the bidirectional utterance encoder, and the decoder),
    context_dim C (the context RNN over utterance vectors and speakers), latent_dim Z (0: no
    z, the HRED baseline), prior_dim P (the prior network's tanh layer), act_dim A (the act
    y's embedding; 0: no act, a plain CVAE), bow: Zhao et al.'s bag-of-words loss,
    max_context: the turns before a response that the context RNN reads.
    """

    vocab_size: int
    embed_dim: int = 128
    hidden_dim: int = 128
    context_dim: int = 128
    latent_dim: int = 32
    prior_dim: int = 64
    act_dim: int = 16
    num_acts: int = NUM_ACTS
    bow: bool = True
    cell: str = "lstm"
    max_context: int = 9

    def __post_init__(self):
        self.require_positive("embed_dim", "hidden_dim", "context_dim", "prior_dim")
        self.require_positive("num_acts", "max_context")
        for name in ("latent_dim", "act_dim"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"DialogueConfig.{name} must be an integer >= 0, got {value!r}")
        _ = self.decoder_config  # checks vocab_size and the cell

    @property
    def g_dim(self) -> int:
        """Width of [z; c]: what the bag-of-words and act heads read."""
        return self.latent_dim + self.context_dim

    @property
    def decoder_config(self) -> ModelConfig:
        """The decoder is the plain VAE's, reading the code [z; c; y] where the plain one
        reads z (z_mode both: the first state and every input)."""
        return ModelConfig(
            vocab_size=self.vocab_size,
            embed_dim=self.embed_dim,
            hidden_dim=self.hidden_dim,
            latent_dim=self.g_dim + self.act_dim,
            cell=self.cell,
            z_mode="both",
            share_embeddings=True,
        )
