"""The conditional VAE's training run (``minivae cvae train``): paired data (a task's built-in
pairs, a pairs file or two line-aligned files), the model it builds and its task metrics."""

from __future__ import annotations

from dataclasses import dataclass

from minivae.conditional.config import CVAEConfig
from minivae.config_dict import absolute, model_options, option, sizes_from
from minivae.training.config import RunConfig

PARALLEL_FILES = ("source", "target", "valid_source", "valid_target", "test_source", "test_target")


TASKS = ("label", "translate", "dialogue")


DEFAULT_EPOCHS = {"label": 12, "translate": 20, "dialogue": 20}


@dataclass
@model_options(CVAEConfig, before="num_samples")
class CVAETrainConfig(RunConfig):
    """Every knob of ``minivae cvae train``: the shared ones, with this model's defaults, its
    data (a task's built-in pairs or a pairs file) and, as options, its model's sizes
    (``CVAEConfig``)."""

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
    # (here the model's own sizes: prior_dim, cond_dim, bow)
    num_samples: int = option(5, "responses sampled per context for the dialogue metrics")

    def __post_init__(self):
        if self.epochs == 0 and self.task in DEFAULT_EPOCHS:
            self.epochs = DEFAULT_EPOCHS[self.task]
        super().__post_init__()
        self._check("num_samples", int, low=1)
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
        sizes = sizes_from(
            CVAEConfig,
            self,
            vocab_size=len(data.vocab),
            src_vocab_size=0 if label else data.condition.size,
            num_classes=data.condition.size if label else 0,
        )
        return ConditionalVAE(sizes)

    def task_metrics(self, model, params, data, log=print, out=None) -> dict:
        """The task's metrics on the validation pairs, and on the test pairs (``test_*``)."""
        from minivae.conditional.tasks import task_metrics

        metrics = task_metrics(model, params, self, data, log)
        if data.test is not None:
            test = task_metrics(model, params, self, data, log, split="test")
            metrics.update({f"test_{k}": v for k, v in test.items()})
        return metrics
