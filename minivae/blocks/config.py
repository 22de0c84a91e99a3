"""The sizes and choices that define a text VAE: each an ``option`` with its help text,
choices and limits, the command-line options of every training run (``RunConfig``) and the
sizes every family built of these blocks shares (its config inherits this one)."""

from __future__ import annotations

from dataclasses import dataclass

from minivae.config_dict import DictConfig, option

CELLS = ("lstm", "gru")
Z_MODES = ("init", "concat", "both")


@dataclass(frozen=True)
class ModelConfig(DictConfig):
    """vocab_size V, embed_dim E, hidden_dim H, latent_dim Z, and how z reaches the decoder.

    z_mode: ``init`` (z sets the decoder's first hidden state through tanh(z W + b)),
    ``concat`` (z is appended to every decoder input embedding) or ``both``.
    vocab_size is decided by the data; the other fields are options of a training run.
    """

    vocab_size: int
    embed_dim: int = option(64, "word embedding size E", low=1)
    hidden_dim: int = option(128, "RNN hidden size H", low=1)
    latent_dim: int = option(16, "latent size Z", low=1)
    cell: str = option("lstm", "recurrent cell of encoder and decoder", CELLS)
    z_mode: str = option(
        "both",
        "how z reaches the decoder: init (first hidden state), concat (every input), both",
        Z_MODES,
    )
    share_embeddings: bool = option(True, "one embedding table for encoder and decoder")

    def __post_init__(self):
        super().__post_init__()  # the options' choices and limits
        size = self.vocab_size
        if not isinstance(size, int) or isinstance(size, bool) or size < 5:
            raise ValueError(f"vocab_size must cover the 4 special tokens and a word, got {size!r}")

    @property
    def z_init(self) -> bool:
        return self.z_mode in ("init", "both")

    @property
    def z_concat(self) -> bool:
        return self.z_mode in ("concat", "both")
