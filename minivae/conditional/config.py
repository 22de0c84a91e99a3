"""The sizes and choices that define a conditional text VAE, and every knob of a training run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from minivae.model.config import CELLS, Z_MODES, ModelConfig

CONDITIONS = ("label", "sequence")
TASKS = ("label", "translate", "dialogue")


@dataclass(frozen=True)
class CVAEConfig:
    """A conditional VAE p(x|z,c) p(z|c) with recognition network q(z|x,c).

    condition: ``label`` (c is a learned embedding of one of ``num_classes`` class ids,
    size ``cond_dim``) or ``sequence`` (c is the last state of a source-sentence RNN over a
    vocabulary of ``src_vocab_size`` words, size ``hidden_dim``).
    prior_dim: width of the prior network's tanh hidden layer.
    bow: add Zhao et al.'s bag-of-words loss, -sum_t log softmax([z; c] W + b)[x_t], which
    makes z carry the words of x and so keeps the KL from collapsing.
    The other fields mean what they mean in ``ModelConfig``.
    """

    vocab_size: int
    condition: str = "sequence"
    src_vocab_size: int = 0
    num_classes: int = 0
    cond_dim: int = 32
    embed_dim: int = 64
    hidden_dim: int = 128
    latent_dim: int = 16
    prior_dim: int = 64
    cell: str = "lstm"
    z_mode: str = "both"
    share_embeddings: bool = True
    bow: bool = True

    def __post_init__(self):
        if self.condition not in CONDITIONS:
            raise ValueError(f"condition must be one of {CONDITIONS}, got {self.condition!r}")
        for name in ("embed_dim", "hidden_dim", "latent_dim", "prior_dim", "cond_dim"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"CVAEConfig.{name} must be a positive integer, got {value!r}")
        if self.condition == "label" and self.num_classes < 1:
            raise ValueError(f"a label condition needs num_classes >= 1, got {self.num_classes}")
        if self.condition == "sequence" and self.src_vocab_size < 5:
            raise ValueError(
                "a sequence condition needs src_vocab_size covering the 4 special tokens and a "
                f"word, got {self.src_vocab_size}"
            )
        if self.cell not in CELLS:
            raise ValueError(f"cell must be one of {CELLS}, got {self.cell!r}")
        if self.z_mode not in Z_MODES:
            raise ValueError(f"z_mode must be one of {Z_MODES}, got {self.z_mode!r}")
        _ = self.decoder_config  # checks vocab_size

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

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> CVAEConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown conditional model config keys: {sorted(unknown)}")
        return cls(**d)


@dataclass
class CVAETrainConfig:
    """Every knob of ``minivae cvae train``; saved with the checkpoint."""

    task: str = "translate"
    pairs: str | None = None  # source<TAB>target file; None = the task's built-in data
    num_pairs: int = 0  # built-in pairs to generate (0: the task's default)
    label_attrs: str = "topic,sentiment"  # label task: which corpus attributes make the class
    lowercase: bool = False
    max_len: int = 30
    valid_fraction: float = 0.1
    # model
    embed_dim: int = 64
    hidden_dim: int = 128
    latent_dim: int = 16
    prior_dim: int = 64
    cond_dim: int = 32
    cell: str = "lstm"
    z_mode: str = "both"
    bow: bool = True
    # optimization
    epochs: int = 0  # 0: the task's default
    batch_size: int = 32
    lr: float = 2e-3
    clip: float = 5.0
    kl_schedule: str = "linear"
    kl_warmup: int = 400
    beta_max: float = 1.0
    free_bits: float = 0.0
    word_dropout: float = 0.0
    # evaluation, run
    iw_samples: int = 10
    num_samples: int = 5  # responses sampled per context for the dialogue metrics
    seed: int = 0
    device: str = "auto"
    dtype: str = "float32"
    out: str = "runs/cvae"

    def __post_init__(self):
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {self.task!r}")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be float32 or float64, got {self.dtype!r}")
        for name in ("batch_size", "max_len", "num_samples"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("epochs", "num_pairs", "iw_samples"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)}")
        if not 0.0 <= self.word_dropout <= 1.0:
            raise ValueError(f"word_dropout must be in [0, 1], got {self.word_dropout}")
        if not 0.0 < self.valid_fraction < 1.0:
            raise ValueError(f"valid_fraction must be in (0, 1), got {self.valid_fraction}")

    @property
    def condition(self) -> str:
        return "label" if self.task == "label" else "sequence"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> CVAETrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})
