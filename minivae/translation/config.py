"""The sizes and choices that define a translation model, and every knob of a training run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from minivae.config_dict import DictConfig

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
    """

    vocab_size: int
    src_vocab_size: int
    embed_dim: int = 256
    enc_hidden_dim: int = 256
    hidden_dim: int = 256
    attention: str = "additive"
    attention_dim: int = 256
    out_dim: int = 512
    latent_dim: int = 32
    prior_dim: int = 256
    bow: bool = False
    key_dropout: float = 0.0

    cell: ClassVar[str] = "lstm"  # the only cell: the decoder is unrolled by hand for it
    condition: ClassVar[str] = "sequence"  # what the model is conditioned on: a sentence

    def __post_init__(self):
        for name in ("embed_dim", "enc_hidden_dim", "hidden_dim", "attention_dim", "out_dim"):
            self._positive(name)
        self._positive("prior_dim")
        if not isinstance(self.latent_dim, int) or self.latent_dim < 0:
            raise ValueError(f"NMTConfig.latent_dim must be >= 0, got {self.latent_dim!r}")
        for name in ("vocab_size", "src_vocab_size"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 5:
                raise ValueError(
                    f"NMTConfig.{name} must cover the 4 special tokens and a word, got "
                    f"{getattr(self, name)!r}"
                )
        rate = self.key_dropout
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate < 1:
            raise ValueError(f"NMTConfig.key_dropout must be in [0, 1), got {rate!r}")
        if self.attention not in ATTENTIONS:
            raise ValueError(f"attention must be one of {ATTENTIONS}, got {self.attention!r}")

    def _positive(self, name: str) -> None:
        value = getattr(self, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"NMTConfig.{name} must be a positive integer, got {value!r}")

    @property
    def key_dim(self) -> int:
        """K: an encoder state, both directions."""
        return 2 * self.enc_hidden_dim

    @property
    def latent(self) -> bool:
        return self.latent_dim > 0


