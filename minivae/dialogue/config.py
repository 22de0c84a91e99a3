"""The sizes and choices that define a dialogue model (saved in every checkpoint), each an
``option`` with its help text, choices and limits (the options of ``minivae dialog train``)."""

from __future__ import annotations

from dataclasses import dataclass

from minivae.blocks.config import CELLS, ModelConfig
from minivae.config_dict import DictConfig, option

NUM_ACTS = 4  # DailyDialog's dialogue acts: inform, question, directive, commissive


@dataclass(frozen=True)
class DialogueConfig(DictConfig):
    """A hierarchical conditional VAE for responses (Zhao et al. 2017's kgCVAE, as their
    released code builds it: snakeztc/NeuralDialog-CVAE, models/cvae.py).

    vocab_size V, embed_dim E (one table for the utterance encoder and the decoder),
    hidden_dim H (each direction of the bidirectional utterance encoder, and the decoder),
    context_dim C (the context RNN over utterance vectors and speakers), latent_dim Z (0: no
    z, the HRED baseline), prior_dim P (the prior network's tanh layer), act_dim A (the act
    y's embedding; 0: no act, a plain CVAE), head_dim D (the tanh layer of the bag-of-words
    and act heads), bow: Zhao et al.'s bag-of-words loss, max_context: the turns before a
    response that the context RNN reads.
    """

    vocab_size: int
    embed_dim: int = option(128, "word embedding size E", low=1)
    hidden_dim: int = option(
        128, "utterance encoder (each direction) and decoder size H", low=1
    )
    latent_dim: int = option(32, "latent size Z (0: no z, the HRED baseline)", low=0)
    cell: str = option("lstm", "recurrent cell of encoder and decoder", CELLS)
    context_dim: int = option(
        128, "context RNN size C (over utterance vectors and speakers)", low=1
    )
    prior_dim: int = option(
        100, "hidden size of the prior network p(z|c) (Zhao et al.: max(2Z, 100))", low=1
    )
    act_dim: int = option(
        30,
        "embedding size of the dialogue act y, the kgCVAE's knowledge (0: no act, a CVAE; "
        "Zhao et al.: 30)",
        low=0,
    )
    head_dim: int = option(
        400, "tanh layer of the bag-of-words and act heads (Zhao et al.: 400)", low=1
    )
    bow: bool = option(True, "add the bag-of-words loss (Zhao et al. 2017) that keeps z in use")
    max_context: int = option(9, "turns before a response that the context RNN reads", low=1)
    num_acts: int = NUM_ACTS  # decided by the data's labels

    def __post_init__(self):
        super().__post_init__()  # the options' choices and limits
        if not isinstance(self.num_acts, int) or isinstance(self.num_acts, bool):
            raise ValueError(f"DialogueConfig.num_acts must be an integer, got {self.num_acts!r}")
        if self.num_acts < 1:
            raise ValueError(f"DialogueConfig.num_acts must be >= 1, got {self.num_acts}")
        _ = self.decoder_config  # checks vocab_size

    @property
    def g_dim(self) -> int:
        """Width of [z; c]: what the bag-of-words and act heads read."""
        return self.latent_dim + self.context_dim

    @property
    def decoder_config(self) -> ModelConfig:
        """The decoder is the plain VAE's, fed the code [z; c; y] where the plain one reads
        z, as Zhao et al.'s code feeds theirs: the whole code sets the first state
        (``dec_init_state``), y alone joins every input (``context_vector``); without y
        (CVAE, HRED) the inputs are the words alone."""
        return ModelConfig(
            vocab_size=self.vocab_size,
            embed_dim=self.embed_dim,
            hidden_dim=self.hidden_dim,
            latent_dim=self.g_dim + self.act_dim,
            cell=self.cell,
            z_mode="both" if self.act_dim else "init",
            share_embeddings=True,
            step_code_dim=self.act_dim,
        )
