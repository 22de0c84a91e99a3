"""Every knob of a training run, in one dataclass that is saved with each checkpoint."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from minivae.training.schedules import SCHEDULES


@dataclass
class TrainConfig:
    # data
    corpus: str | None = None  # a file with one sentence per line; None = the built-in corpus
    builtin_size: int = 10000
    lowercase: bool = False
    max_vocab: int | None = 10000
    min_count: int = 1
    max_len: int = 40
    overflow: str = "truncate"  # or "drop": what to do with longer sentences
    valid_fraction: float = 0.1
    # model
    embed_dim: int = 64
    hidden_dim: int = 128
    latent_dim: int = 16
    cell: str = "lstm"
    z_mode: str = "both"
    share_embeddings: bool = True
    # optimization
    epochs: int = 20
    batch_size: int = 32
    optimizer: str = "adam"
    lr: float = 2e-3
    clip: float = 5.0
    # posterior collapse remedies
    kl_schedule: str = "linear"
    kl_warmup: int = 600  # steps to reach beta_max (linear/logistic)
    beta_max: float = 1.0
    kl_cycles: int = 4
    free_bits: float = 0.5
    word_dropout: float = 0.5
    # evaluation, run
    iw_samples: int = 20
    seed: int = 0
    device: str = "auto"
    dtype: str = "float32"
    kernel: str = "auto"
    out: str = "runs/latest"
    save_every: int = 0  # steps between extra checkpoints (0: once per epoch)

    def __post_init__(self):
        if self.kl_schedule not in SCHEDULES:
            raise ValueError(f"kl_schedule must be one of {SCHEDULES}, got {self.kl_schedule!r}")
        if self.overflow not in ("truncate", "drop"):
            raise ValueError(f"overflow must be 'truncate' or 'drop', got {self.overflow!r}")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be float32 or float64, got {self.dtype!r}")
        for name in ("epochs", "batch_size", "max_len"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not 0.0 <= self.word_dropout <= 1.0:
            raise ValueError(f"word_dropout must be in [0, 1], got {self.word_dropout}")
        if not 0.0 < self.valid_fraction < 1.0:
            raise ValueError(f"valid_fraction must be in (0, 1), got {self.valid_fraction}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})
