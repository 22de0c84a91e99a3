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
    step_code_dim S (not an option; a family sets it): when S > 0 only the code's last S
    columns join every input, the whole code still sets the first state (Zhao et al.'s
    kgCVAE decoder: [c; z; y] starts it, y alone joins each step).
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
    step_code_dim: int = 0

    def __post_init__(self):
        super().__post_init__()  # the options' choices and limits
        size = self.vocab_size
        if not isinstance(size, int) or isinstance(size, bool) or size < 5:
            raise ValueError(f"vocab_size must cover the 4 special tokens and a word, got {size!r}")
        S = self.step_code_dim
        if not isinstance(S, int) or isinstance(S, bool) or not 0 <= S <= self.latent_dim:
            raise ValueError(f"step_code_dim must be in [0, latent_dim], got {S!r}")

    @property
    def step_width(self) -> int:
        """Columns of the code that join every decoder input (0 without z_concat)."""
        if not self.z_concat:
            return 0
        return self.step_code_dim or self.latent_dim

    @property
    def z_init(self) -> bool:
        return self.z_mode in ("init", "both")

    @property
    def z_concat(self) -> bool:
        return self.z_mode in ("concat", "both")
