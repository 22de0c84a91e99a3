"""The sizes and choices that define a conditional text VAE, and every knob of a training run."""

from __future__ import annotations

from dataclasses import dataclass

from minivae.config_dict import DictConfig
from minivae.model.config import ModelConfig
from minivae.training.config import RunConfig, absolute, option

CONDITIONS = ("label", "sequence")
TASKS = ("label", "translate", "dialogue")
DEFAULT_EPOCHS = {"label": 12, "translate": 20, "dialogue": 20}


@dataclass(frozen=True)
class CVAEConfig(DictConfig):
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
        self.require_positive("embed_dim", "hidden_dim", "latent_dim", "prior_dim", "cond_dim")
        if self.condition == "label" and self.num_classes < 1:
            raise ValueError(f"a label condition needs num_classes >= 1, got {self.num_classes}")
        if self.condition == "sequence" and self.src_vocab_size < 5:
            raise ValueError(
                "a sequence condition needs src_vocab_size covering the 4 special tokens and a "
                f"word, got {self.src_vocab_size}"
            )
        _ = self.decoder_config  # checks vocab_size, the cell and z_mode

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


@dataclass
class CVAETrainConfig(RunConfig):
    """Every knob of ``minivae cvae train``: the shared ones, with this model's defaults, and
    its data (a task's built-in pairs or a pairs file) and sizes."""

    # shared knobs, defaults of their own
    max_vocab: int | None = option(None, "vocabulary size cap (default: every word)")
    max_len: int = option(30, "longest training sentence (and source) in words")
    epochs: int = option(0, "passes over the training pairs (0: the task's default)")
    kl_warmup: int = option(400, "steps for the KL weight to reach --beta-max")
    free_bits: float = option(0.0, "nats per latent dimension the KL is not pushed below")
    word_dropout: float = option(0.0, "probability of replacing a decoder input word by <unk>")
    iw_samples: int = option(10, "importance samples K for the final NLL estimate")
    out: str = option("runs/cvae", "run folder for checkpoints, metrics and plots")
    # the data
    task: str = option(
        "translate",
        "label: sentences from a class; translate: a toy second language; dialogue: "
        "several answers per question",
        list(TASKS),
    )
    pairs: str | None = option(
        None,
        "a source<TAB>target file, one pair per line, instead of the built-in data (for "
        "--task label the source is the class name)",
    )
    num_pairs: int = option(0, "built-in pairs to generate (0: the task's default)")
    label_attrs: str = option(
        "topic,sentiment", "label task: the built-in corpus attributes that make up a class"
    )
    # the model's own sizes
    prior_dim: int = option(64, "hidden size of the prior network p(z|c)")
    cond_dim: int = option(32, "label embedding size (label task)")
    bow: bool = option(True, "add the bag-of-words loss (Zhao et al. 2017) that keeps z in use")
    num_samples: int = option(5, "responses sampled per context for the dialogue metrics")

    def __post_init__(self):
        if self.epochs == 0 and self.task in DEFAULT_EPOCHS:
            self.epochs = DEFAULT_EPOCHS[self.task]
        super().__post_init__()
        for name in ("prior_dim", "cond_dim", "num_samples"):
            self._check(name, int, low=1)
        self.pairs = absolute(self.pairs)
        self._check("num_pairs", int, low=0, high=1_000_000)

    @property
    def condition(self) -> str:
        return "label" if self.task == "label" else "sequence"

    def prepare_data(self, vocab=None, condition=None):
        from minivae.conditional.data import load_pairs
        from minivae.data import Examples

        pairs, source = load_pairs(
            self.task, self.pairs, self.num_pairs, self.seed, self.label_attrs
        )
        if self.lowercase:
            pairs = [([w.lower() for w in s], [w.lower() for w in t]) for s, t in pairs]
        examples = Examples([t for _, t in pairs], [s for s, _ in pairs])
        return self.dataset(
            examples, source, condition_kind=self.condition, vocab=vocab, condition=condition
        )

    def build_model(self, data):
        from minivae.conditional.cvae import ConditionalVAE

        label = self.condition == "label"
        return ConditionalVAE(
            CVAEConfig(
                vocab_size=len(data.vocab),
                condition=self.condition,
                src_vocab_size=0 if label else data.condition.size,
                num_classes=data.condition.size if label else 0,
                cond_dim=self.cond_dim,
                embed_dim=self.embed_dim,
                hidden_dim=self.hidden_dim,
                latent_dim=self.latent_dim,
                prior_dim=self.prior_dim,
                cell=self.cell,
                z_mode=self.z_mode,
                share_embeddings=self.share_embeddings,
                bow=self.bow,
            )
        )

    def task_metrics(self, model, params, data, log=print) -> dict:
        from minivae.conditional.tasks import task_metrics

        return task_metrics(model, params, self, data, log)
