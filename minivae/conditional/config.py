"""The sizes and choices that define a conditional text VAE."""

from __future__ import annotations

from dataclasses import dataclass

from minivae.blocks.config import ModelConfig
from minivae.config_dict import option

CONDITIONS = ("label", "sequence")


@dataclass(frozen=True)
class CVAEConfig(ModelConfig):
    """A conditional VAE p(x|z,c) p(z|c) with recognition network q(z|x,c): the text VAE's
    sizes (``ModelConfig``, inherited) and its own.

    condition: ``label`` (c is a learned embedding of one of ``num_classes`` class ids,
    size ``cond_dim``) or ``sequence`` (c is the last state of a source-sentence RNN over a
    vocabulary of ``src_vocab_size`` words, size ``hidden_dim``); the data decides these three.
    prior_dim: width of the prior network's tanh hidden layer.
    bow: add Zhao et al.'s bag-of-words loss, -sum_t log softmax([z; c] W + b)[x_t], which
    makes z carry the words of x and so keeps the KL from collapsing.
    The other fields mean what they mean in ``ModelConfig``.
    """

    prior_dim: int = option(64, "hidden size of the prior network p(z|c)", low=1)
    cond_dim: int = option(32, "label embedding size (label task)", low=1)
    bow: bool = option(True, "add the bag-of-words loss (Zhao et al. 2017) that keeps z in use")
    condition: str = "sequence"
    src_vocab_size: int = 0
    num_classes: int = 0

    def __post_init__(self):
        super().__post_init__()  # the options and vocab_size
        if self.condition not in CONDITIONS:
            raise ValueError(f"condition must be one of {CONDITIONS}, got {self.condition!r}")
        if self.condition == "label" and self.num_classes < 1:
            raise ValueError(f"a label condition needs num_classes >= 1, got {self.num_classes}")
        if self.condition == "sequence" and self.src_vocab_size < 5:
            raise ValueError(
                "a sequence condition needs src_vocab_size covering the 4 special tokens and a "
                f"word, got {self.src_vocab_size}"
            )
        _ = self.decoder_config  # checks the decoder's sizes (latent_dim + c_dim)

    @property
    def c_dim(self) -> int:
        """Size of the condition vector c."""
        return self.cond_dim if self.condition == "label" else self.hidden_dim

    @property
    def decoder_config(self) -> ModelConfig:
        """The plain VAE whose decoder (and x encoder) this model reuses.

        The decoder is the plain VAE's, fed u = [z; c] where the plain one is fed z: so its
        "latent" size is Z + C, and z and c both set the first state and join every input.
        """
        return ModelConfig(
            vocab_size=self.vocab_size,
            embed_dim=self.embed_dim,
            hidden_dim=self.hidden_dim,
            latent_dim=self.latent_dim + self.c_dim,
            cell=self.cell,
            z_mode=self.z_mode,
            share_embeddings=self.share_embeddings,
        )
