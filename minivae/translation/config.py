"""The sizes and choices that define a translation model, each an ``option`` with its help
text, choices and limits (the options of ``minivae nmt train``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from minivae.config_dict import DictConfig, option

ATTENTIONS = ("additive", "bilinear", "none")


@dataclass(frozen=True)
class NMTConfig(DictConfig):
    """An attention encoder-decoder with the conditional VAE's latent variable.

    Source words (``src_vocab_size``) -> a bidirectional LSTM of ``enc_hidden_dim`` per
    direction: keys (N, S, K = 2 * enc_hidden_dim). The decoder LSTM (``hidden_dim``) reads
    the previous word, the context its last state attended to and z at every step, and
    predicts each word from tanh([h_t; context_t] W + b) (``out_dim``).

    attention: ``additive`` (Bahdanau: v . tanh(q Wq + k Wk), ``attention_dim`` wide),
    ``bilinear`` (Luong's general score q W k) or ``none`` (the context is the source
    summary at every step: the conditional VAE's decoder, for the ablation).
    latent_dim: size of z; 0 = no latent variable (a deterministic attention model).
    prior_dim: width of the prior network's tanh layer p(z|x).
    bow: add Zhao et al.'s bag-of-words loss on [z; summary] (keeps z in use).
    key_dropout: inverted dropout on the encoder states the attention reads (its keys), in
    training only: a regularizer of the model, so it is kept with its sizes.
    vocab_size and src_vocab_size are decided by the data; the other fields are options.
    """

    vocab_size: int
    src_vocab_size: int
    embed_dim: int = option(256, "word embedding size E (source and target)", low=1)
    enc_hidden_dim: int = option(256, "encoder LSTM hidden size per direction", low=1)
    hidden_dim: int = option(256, "decoder LSTM hidden size H", low=1)
    attention: str = option(
        "additive",
        "additive (Bahdanau), bilinear (Luong) or none (the source summary at every step)",
        ATTENTIONS,
    )
    attention_dim: int = option(256, "width of the additive attention's tanh layer", low=1)
    out_dim: int = option(
        512, "width of the output layer tanh([h; context] W) before the softmax", low=1
    )
    latent_dim: int = option(32, "latent size Z (0: no latent variable)", low=0)
    prior_dim: int = option(256, "hidden size of the prior network p(z|x)", low=1)
    bow: bool = option(False, "add the bag-of-words loss (Zhao et al. 2017) that keeps z in use")
    key_dropout: float = option(
        0.0, "dropout on the encoder states the attention reads (its keys)", low=0, high=0.95
    )

    cell: ClassVar[str] = "lstm"  # the only cell: the decoder is unrolled by hand for it
    condition: ClassVar[str] = "sequence"  # what the model is conditioned on: a sentence

    def __post_init__(self):
        super().__post_init__()  # the options' choices and limits
        for name in ("vocab_size", "src_vocab_size"):
            size = getattr(self, name)
            if not isinstance(size, int) or isinstance(size, bool) or size < 5:
                raise ValueError(
                    f"NMTConfig.{name} must cover the 4 special tokens and a word, got {size!r}"
                )

    @property
    def key_dim(self) -> int:
        """K: an encoder state, both directions."""
        return 2 * self.enc_hidden_dim

    @property
    def latent(self) -> bool:
        return self.latent_dim > 0
