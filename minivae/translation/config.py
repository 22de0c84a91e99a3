"""The sizes and choices that define a translation model, and every knob of a training run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from minivae.conditional.config import CVAETrainConfig
from minivae.config_dict import DictConfig
from minivae.training.config import option

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


@dataclass
class NMTTrainConfig(CVAETrainConfig):
    """Every knob of ``minivae nmt train``: the conditional VAE's run (its data: built-in
    toy pairs, a pairs file or parallel files), with a translation model's sizes and
    defaults (those of the PyTorch reference of issue 14: a bidirectional LSTM of 256 per
    direction, additive attention, dropout 0.3, Adam 1e-3, batch 64, lower-cased words
    seen twice; and, measured best on Multi30k in docs/translation.md, a decoder of 256
    with label smoothing 0.1)."""

    # shared knobs, defaults of their own
    lowercase: bool = option(True, "lowercase the text")
    min_count: int = option(2, "words seen fewer times become <unk>")
    max_len: int = option(50, "longest training sentence (and source) in words")
    embed_dim: int = option(256, "word embedding size E (source and target)")
    hidden_dim: int = option(256, "decoder LSTM hidden size H")
    latent_dim: int = option(32, "latent size Z (0: no latent variable)")
    epochs: int = option(12, "passes over the training pairs")
    batch_size: int = option(64, "sentence pairs per batch")
    lr: float = option(1e-3, "learning rate")
    lr_decay: float = option(
        0.5, "multiply the learning rate by this after each epoch without a better --select"
    )
    kl_warmup: int = option(2000, "steps for the KL weight to reach --beta-max")
    free_bits: float = option(0.0, "nats per latent dimension the KL is not pushed below")
    word_dropout: float = option(0.0, "probability of replacing a decoder input word by <unk>")
    label_smoothing: float = option(
        0.1,
        "train each word against (1 - eps) onehot + eps / V (Szegedy et al. 2016); the "
        "validation and test metrics stay the true likelihood",
    )
    iw_samples: int = option(5, "importance samples K for the final NLL estimate")
    select: str = option(
        "bleu",
        "the validation score that picks best.npz: bleu (the highest greedy BLEU, what is "
        "reported) or nelbo (the lowest -ELBO)",
        ["bleu", "nelbo"],
    )
    out: str = option("runs/nmt", "run folder for checkpoints, metrics and plots")
    prior_dim: int = option(256, "hidden size of the prior network p(z|x)")
    bow: bool = option(False, "add the bag-of-words loss (Zhao et al. 2017) that keeps z in use")
    num_samples: int = option(5, "translations sampled per source for the diversity metrics")
    # the model's own sizes
    enc_hidden_dim: int = option(256, "encoder LSTM hidden size per direction")
    attention: str = option(
        "additive",
        "additive (Bahdanau), bilinear (Luong) or none (the source summary at every step)",
        list(ATTENTIONS),
    )
    attention_dim: int = option(256, "width of the additive attention's tanh layer")
    out_dim: int = option(512, "width of the output layer tanh([h; context] W) before the softmax")
    dropout: float = option(0.3, "dropout on word embeddings and the output layer's input")
    key_dropout: float = option(0.0, "dropout on the encoder states the attention reads (its keys)")
    # evaluation
    beam_size: int = option(5, "beam width of the beam-search BLEU in the final report")
    eval_limit: int = option(
        0, "score beam search and sampling on the first N evaluation sources (0: all)"
    )
    heatmaps: int = option(4, "attention heat maps drawn (attention.png; 0: none)")

    latent_low: ClassVar[int] = 0  # latent_dim 0 is the model without a latent variable
    # The conditional VAE's knobs this model does not read: not options, left at their defaults.
    NOT_OPTIONS: ClassVar[tuple] = (
        "cell",
        "z_mode",
        "share_embeddings",
        "task",
        "label_attrs",
        "cond_dim",
    )
    PRESETS: ClassVar[dict] = {
        "quick": (
            "a small model for two epochs, recognisable translations in about 5 minutes on "
            "a quiet 2-core CPU; two epochs however long they take, so that the result does not "
            "depend on how busy the machine is (the values given here win)",
            dict(
                embed_dim=128,
                enc_hidden_dim=128,
                hidden_dim=256,
                attention_dim=128,
                out_dim=256,
                latent_dim=16,
                prior_dim=128,
                epochs=2,  # no time budget: epochs, not minutes, make the result
                eval_limit=100,
                iw_samples=1,
                kl_warmup=300,
            ),
        )
    }

    def __post_init__(self):
        super().__post_init__()
        for name in ("enc_hidden_dim", "attention_dim", "out_dim", "beam_size"):
            self._check(name, int, low=1)
        for name in ("eval_limit", "heatmaps"):
            self._check(name, int, low=0)
        self._check("key_dropout", float, low=0, high=0.95)
        if self.task != "translate":
            self._refuse("task", "must be translate: the model reads a source sentence")
        if self.cell != "lstm":
            self._refuse("cell", "must be lstm: the attention decoder is an LSTM")

    def build_model(self, data):
        from minivae.translation.nmt import TranslationVAE

        return TranslationVAE(
            NMTConfig(
                vocab_size=len(data.vocab),
                src_vocab_size=data.condition.size,
                embed_dim=self.embed_dim,
                enc_hidden_dim=self.enc_hidden_dim,
                hidden_dim=self.hidden_dim,
                attention=self.attention,
                attention_dim=self.attention_dim,
                out_dim=self.out_dim,
                latent_dim=self.latent_dim,
                prior_dim=self.prior_dim,
                bow=self.bow,
                key_dropout=self.key_dropout,
            )
        )

    def task_metrics(self, model, params, data, log=print, out=None) -> dict:
        from minivae.translation.tasks import translation_metrics

        return translation_metrics(model, params, self, data, log, out)

    def epoch_metrics(self, model, params, data) -> dict:
        from minivae.translation.tasks import validation_bleu

        return validation_bleu(model, params, self, data)
