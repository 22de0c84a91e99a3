"""The sizes and choices that define a conditional text VAE, and every knob of a training run."""

from __future__ import annotations

from dataclasses import dataclass

from minivae.blocks.config import ModelConfig
from minivae.config_dict import DictConfig
from minivae.training.config import RunConfig, absolute, option

CONDITIONS = ("label", "sequence")
PARALLEL_FILES = ("source", "target", "valid_source", "valid_target", "test_source", "test_target")
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
    source: str | None = option(
        None,
        "training pairs as two line-aligned files: this one the sources, one sentence per "
        "line (with --target; line i of one translates line i of the other)",
    )
    target: str | None = option(None, "the target side of --source, one sentence per line")
    valid_source: str | None = option(
        None, "validation sources, line-aligned with --valid-target (default: --valid-fraction)"
    )
    valid_target: str | None = option(None, "validation targets, line-aligned with --valid-source")
    test_source: str | None = option(
        None, "test sources, line-aligned with --test-target: scored in the final report"
    )
    test_target: str | None = option(None, "test targets, line-aligned with --test-source")
    num_pairs: int = option(
        0, "built-in pairs to generate, or of a file the first N training pairs (0: all)"
    )
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
        self._check("num_pairs", int, low=0, high=1_000_000)
        for name in ("pairs", *PARALLEL_FILES):  # saved whole, like TrainConfig's files
            setattr(self, name, absolute(getattr(self, name)))
        for a, b in zip(PARALLEL_FILES[::2], PARALLEL_FILES[1::2]):
            if (getattr(self, a) is None) != (getattr(self, b) is None):
                given, missing = (a, b) if getattr(self, a) is not None else (b, a)
                self._refuse(given, f"needs --{missing.replace('_', '-')} (its other side)")
        if self.pairs is not None and self.source is not None:
            self._refuse("source", "and --pairs both give training pairs: choose one")

    @property
    def condition(self) -> str:
        return "label" if self.task == "label" else "sequence"

    def prepare_data(self, vocab=None, condition=None):
        from minivae.conditional.data import load_pairs
        from minivae.data import Examples, read_parallel

        def examples(pairs):
            if self.lowercase:
                pairs = [([w.lower() for w in s], [w.lower() for w in t]) for s, t in pairs]
            return Examples([t for _, t in pairs], [s for s, _ in pairs])

        def parallel(source, target):
            return None if source is None else examples(read_parallel(source, target))

        if self.source is not None:
            pairs = read_parallel(self.source, self.target)[: self.num_pairs or None]
            where = f"{self.source} -> {self.target}"
        else:
            pairs, where = load_pairs(
                self.task, self.pairs, self.num_pairs, self.seed, self.label_attrs
            )
        return self.dataset(
            examples(pairs),
            where,
            condition_kind=self.condition,
            vocab=vocab,
            condition=condition,
            valid=parallel(self.valid_source, self.valid_target),
            test=parallel(self.test_source, self.test_target),
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

    def task_metrics(self, model, params, data, log=print, out=None) -> dict:
        """The task's metrics on the validation pairs, and on the test pairs (``test_*``)."""
        from minivae.conditional.tasks import task_metrics

        metrics = task_metrics(model, params, self, data, log)
        if data.test is not None:
            test = task_metrics(model, params, self, data, log, split="test")
            metrics.update({f"test_{k}": v for k, v in test.items()})
        return metrics
