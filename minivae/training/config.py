"""Every knob of a training run, in dataclasses that are saved with each checkpoint.

``RunConfig`` holds what every model's run shares: data, optimization, the remedies for
posterior collapse, evaluation and where to write, and as options the sizes of the shared
model (``minivae.blocks.config.ModelConfig``, copied in by ``config_dict.model_options``).
``minivae.model.run_config.TrainConfig`` adds a plain text corpus (the VAE),
``minivae.conditional.run_config.CVAETrainConfig`` paired data (the conditional VAE). Each
field carries its help text (and choices, limits) in its metadata: the command line is made
from the fields (``minivae.cli.options``), so a new knob is one line here.

A config also knows its data and its model: ``prepare_data`` reads and encodes the data,
``build_model`` makes the model for it; the trainer needs nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from minivae.blocks.config import ModelConfig
from minivae.config_dict import DictConfig, model_options, option
from minivae.remedies.kl_schedules import SCHEDULES

DEVICES = ["cpu", "gpu", "auto"]
DTYPES = ["float32", "float64"]
KERNELS = ["auto", "fused", "array"]


@dataclass
@model_options(ModelConfig, before="epochs")
class RunConfig(DictConfig):
    """The knobs every training run shares, and as options the sizes of the model of the
    shared blocks (``ModelConfig``: embed_dim, hidden_dim, latent_dim, cell, z_mode,
    share_embeddings, after the data options). A family's run takes its own model config's
    options the same way (``@model_options``)."""

    # data (shared)
    lowercase: bool = option(False, "lowercase the text")
    max_vocab: int | None = option(10000, "vocabulary size cap, the 4 special tokens included")
    min_count: int = option(1, "words seen fewer times become <unk>")
    max_len: int = option(
        40, "longest training sentence in words; longer ones are truncated or dropped"
    )
    overflow: str = option(
        "truncate", "what to do with training sentences over --max-len", ["truncate", "drop"]
    )
    valid_fraction: float = option(0.1, "fraction of the data held out for validation")
    # optimization
    epochs: int = option(20, "passes over the training set")
    max_minutes: float = option(
        0.0,
        "time budget: no epoch starts that would end past this many minutes of training and "
        "validation, judging by the last epoch (0: no limit)",
    )
    batch_size: int = option(32, "sentences per batch")
    optimizer: str = option("adam", "adam, or sgd with momentum 0.9", ["adam", "sgd"])
    lr: float = option(2e-3, "learning rate")
    clip: float = option(5.0, "global gradient-norm clipping threshold (0: off)")
    lr_decay: float = option(
        1.0,
        "multiply the learning rate by this after each epoch that does not improve the "
        "validation score of --select (1: a constant rate)",
    )
    ema: float = option(
        0.0,
        "average the weights during training (Polyak): avg <- d avg + (1 - d) w after each "
        "step, d this decay; validation, best.npz and the reports use the average (0: off)",
    )
    select: str = option(
        "nelbo",
        "the validation score that picks best.npz: nelbo (the lowest -ELBO; translation "
        "runs also offer bleu)",
        ["nelbo"],
    )
    # posterior collapse remedies
    kl_schedule: str = option("linear", "KL weight schedule", list(SCHEDULES))
    kl_warmup: int = option(600, "steps for the KL weight to reach --beta-max (linear, logistic)")
    beta_max: float = option(1.0, "final KL weight")
    kl_cycles: int = option(
        4, "number of cycles M of the cyclical schedule (Fu et al. 2019; their default 4)"
    )
    kl_ratio: float = option(
        0.5,
        "proportion R of each cycle in which the cyclical schedule's KL weight rises "
        "(Fu et al. 2019; their default 0.5)",
    )
    kl_cycle_start: float = option(
        0.0,
        "KL weight (as a fraction of --beta-max) at the start of each cycle of the cyclical "
        "schedule: 0 in Fu et al.'s Eq. 5, 0.1 in their PTB language model",
    )
    lr_cycles: bool = option(
        False,
        "with --kl-schedule cyclical: a cosine learning rate restarted with each KL cycle, set "
        "per epoch, lr (1 + cos(pi tau)) / 2 (Fu et al.'s PTB language model)",
    )
    free_bits: float = option(
        0.5,
        "nats per latent dimension the KL is not pushed below, on the batch mean of each "
        "dimension (Kingma et al. 2016's free bits; 0: off)",
    )
    kl_threshold: float = option(
        0.0,
        "Li et al. 2019's KL threshold (their --target_kl, a total over the latent "
        "dimensions): a dimension's KL counts for a sentence only where it exceeds "
        "this / Z nats (0: off; replaces --free-bits, so give --free-bits 0)",
    )
    word_dropout: float = option(0.5, "probability of replacing a decoder input word by <unk>")
    aggressive: bool = option(
        False,
        "aggressive encoder training (He et al. 2019): up to 99 encoder updates before each "
        "decoder update, until the per-word loss of a block of 15 rises; the phase ends when "
        "the validation MI falls (needs --no-share-embeddings: the encoder's steps train its "
        "own embedding, the decoder's stays fixed)",
    )
    aggressive_capped: bool = option(
        False,
        "a capped variant of aggressive training, not He et al.'s: at most "
        "--aggressive-steps encoder updates on fresh batches, stopping when the mean of the "
        "last 5 losses is no lower than of the 5 before; the shared embedding stays fixed; the "
        "phase ends when the validation MI does not beat its best",
    )
    aggressive_steps: int = option(
        30, "most encoder updates per decoder update (--aggressive-capped)"
    )
    ae_pretrain_epochs: int = option(
        0,
        "epochs of autoencoder pre-training (KL weight 0), after which the decoder is "
        "re-initialized and the VAE trained (Li et al. 2019's pre-training; their KL "
        "threshold is --kl-threshold)",
    )
    # over-fitting remedies
    dropout: float = option(0.0, "dropout on the embeddings and the decoder's RNN outputs")
    weight_decay: float = option(
        0.0, "L2 penalty lambda / 2 ||W||^2 on the weight matrices and embeddings"
    )
    label_smoothing: float = option(
        0.0,
        "train each word against (1 - eps) onehot + eps / V (Szegedy et al. 2016); the "
        "training loss printed is then this objective, the validation and test metrics stay "
        "the true likelihood",
    )
    # evaluation, run
    iw_samples: int = option(20, "importance samples K for the final NLL estimate")
    seed: int = option(0, "random seed (data split, initialization, noise)")
    device: str = option("auto", "cpu, gpu or auto (GPU if CuPy finds one)", DEVICES)
    dtype: str = option("float32", "floating-point type of the parameters", DTYPES)
    kernel: str = option(
        "auto",
        "fused Numba kernels (LSTM cell, softmax, embedding gradient, Adam) or the array "
        "code: auto (fused where one runs), fused or array",
        KERNELS,
    )
    out: str = option("runs/latest", "run folder for checkpoints, metrics and plots")
    save_every: int = option(0, "also write last.npz every this many steps (0: once per epoch)")

    # Named sets of settings, each a command-line flag (--NAME) with its help: the settings
    # apply to the options not given (minivae.cli.options).
    PRESETS: ClassVar[dict] = {}

    def __post_init__(self):
        super().__post_init__()  # every option's choices and limits (the model's sizes)
        for name in ("epochs", "batch_size", "min_count"):
            self._check(name, int, low=1)
        for name in ("max_len", "kl_cycles", "iw_samples"):
            self._check(name, int, low=1)
        for name in ("kl_warmup", "save_every", "seed", "ae_pretrain_epochs"):
            self._check(name, int, low=0)
        self._check("aggressive_steps", int, low=1)
        if self.ae_pretrain_epochs >= self.epochs:  # else the run never trains a VAE
            self._refuse(
                "ae_pretrain_epochs",
                f"must be below --epochs ({self.epochs}): the VAE trains after the pre-training",
            )
        for name in ("clip", "beta_max", "free_bits", "weight_decay", "max_minutes"):
            self._check(name, float, low=0)
        self._check("kl_threshold", float, low=0)
        self._check("kl_ratio", float, low=0, high=1)
        if self.kl_ratio == 0:
            self._refuse("kl_ratio", "must be in (0, 1]: the KL weight needs steps to rise in")
        self._check("kl_cycle_start", float, low=0, high=1)
        self._check_remedy_pairs()
        self._check("dropout", float, low=0, high=0.95)
        self._check("lr", float, low=0, strict=True)
        self._check("lr_decay", float, low=0, strict=True)
        if self.lr_decay > 1:
            self._refuse("lr_decay", "must be in (0, 1]: the rate only ever decays")
        self._check("ema", float, low=0)
        if self.ema >= 1:
            self._refuse("ema", "must be in [0, 1): 0 is off, 1 would never move the average")
        self._check("word_dropout", float, low=0, high=1)
        self._check("label_smoothing", float, low=0)
        if self.label_smoothing >= 1:
            self._refuse("label_smoothing", "must be in [0, 1): 1 would ignore the targets")
        self._check("valid_fraction", float, low=0, high=1, strict=True)
        if self.max_vocab is not None:
            self._check("max_vocab", int, low=5)  # the 4 special tokens and a word

    def _check_remedy_pairs(self):
        """Remedies that cannot go together, refused by name."""
        if self.kl_threshold > 0 and self.free_bits > 0:
            self._refuse(
                "kl_threshold",
                f"replaces free bits (--free-bits {self.free_bits}: Kingma's floor on the batch "
                "mean); two KL floors at once are neither method: add --free-bits 0",
            )
        if self.aggressive and self.aggressive_capped:
            self._refuse("aggressive", "and --aggressive-capped are two versions of one remedy")
        if self.aggressive and self.share_embeddings:
            # He et al.'s encoder has its own embedding (vae-lagging-encoder, text.py: the
            # inner steps are enc_optimizer over vae.encoder.parameters()); a shared one
            # would be the decoder's too, which their inner steps never move.
            fix = "add --no-share-embeddings, or use --aggressive-capped"
            if "share_embeddings" in getattr(self, "NOT_OPTIONS", ()):
                fix = "this model's word embeddings are always shared: use --aggressive-capped"
            self._refuse(
                "aggressive",
                "is He et al.'s (2019) method, which updates the encoder, its word embedding "
                f"included, with the decoder fixed; a shared embedding is both: {fix}",
            )
        if self.lr_cycles and self.kl_schedule != "cyclical":
            self._refuse("lr_cycles", "restarts with the KL cycles: add --kl-schedule cyclical")

    def _refuse(self, name: str, why: str):
        """A bad value, named by its command-line option."""
        value = getattr(self, name)
        raise ValueError(f"--{name.replace('_', '-')} ({name}) {why}, got {value!r}")

    def dataset(self, examples, source: str, **kw):
        """Split, build the vocabularies and encode ``examples`` with this run's settings."""
        from minivae.data import build_dataset

        return build_dataset(
            examples,
            source,
            self.valid_fraction,
            self.seed,
            self.max_len,
            self.overflow,
            self.max_vocab,
            self.min_count,
            **kw,
        )

    # -- what the trainer asks of a config -------------------------------------------------
    def prepare_data(self, vocab=None, condition=None):
        """-> Dataset; with a trained model's vocabulary (and condition), encode with those."""
        raise NotImplementedError

    def build_model(self, data):
        """-> the TextModel for this data (its vocabulary sizes)."""
        raise NotImplementedError

    def task_metrics(self, model, params, data, log=print, out=None) -> dict:
        """Metrics of the task besides the likelihood ones, printed in the final report;
        ``out``: the run folder, where the task may draw its figures (None: draw none)."""
        return {}

    def epoch_metrics(self, model, params, data) -> dict:
        """Task numbers for the validation row of every epoch (say, BLEU): {name: float}."""
        return {}

    def selection_score(self, row: dict) -> float:
        """The number a validation row is judged by (lower is better): what picks best.npz
        and, with --lr-decay, decays the rate when it does not improve. The rule belongs to
        the task: here the lowest -ELBO; a task with other choices of --select overrides it."""
        return row["nelbo"]

    @property
    def selection_name(self) -> str:
        return "lowest validation -ELBO"
