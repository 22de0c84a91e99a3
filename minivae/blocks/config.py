"""The sizes and choices that define a text VAE."""

from __future__ import annotations

from dataclasses import dataclass

from minivae.config_dict import DictConfig

CELLS = ("lstm", "gru")
Z_MODES = ("init", "concat", "both")


@dataclass(frozen=True)
class ModelConfig(DictConfig):
    """vocab_size V, embed_dim E, hidden_dim H, latent_dim Z, and how z reaches the decoder.

    z_mode: ``init`` (z sets the decoder's first hidden state through tanh(z W + b)),
    ``concat`` (z is appended to every decoder input embedding) or ``both``.
    """

    vocab_size: int
    embed_dim: int = 64
    hidden_dim: int = 128
    latent_dim: int = 16
    cell: str = "lstm"
    z_mode: str = "both"
    share_embeddings: bool = True

    def __post_init__(self):
        self.require_positive("vocab_size", "embed_dim", "hidden_dim", "latent_dim")
        if self.vocab_size < 5:
            raise ValueError(
                f"vocab_size must cover the 4 special tokens and a word, got {self.vocab_size}"
            )
        if self.cell not in CELLS:
            raise ValueError(f"cell must be one of {CELLS}, got {self.cell!r}")
        if self.z_mode not in Z_MODES:
            raise ValueError(f"z_mode must be one of {Z_MODES}, got {self.z_mode!r}")

    @property
    def z_init(self) -> bool:
        return self.z_mode in ("init", "both")

    @property
    def z_concat(self) -> bool:
        return self.z_mode in ("concat", "both")
