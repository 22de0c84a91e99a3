"""The translation model's training run (``minivae nmt train``): parallel files or built-in toy
pairs, the model it builds, BLEU as its task metric and, with ``--select bleu``, its
selection rule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from minivae.conditional.run_config import CVAETrainConfig
from minivae.config_dict import model_options, option, sizes_from
from minivae.translation.config import NMTConfig


@dataclass
@model_options(NMTConfig, before="beam_size")
class NMTTrainConfig(CVAETrainConfig):
    """Every knob of ``minivae nmt train``: the conditional VAE's run (its data: built-in
    toy pairs, a pairs file or parallel files), with a translation model's sizes and
    defaults (those of the PyTorch reference of issue 14: a bidirectional LSTM of 256 per
    direction, additive attention, dropout 0.3, Adam 1e-3, batch 64, lower-cased words
    seen twice; and, measured best on Multi30k in docs/translation.md, a decoder of 256
    with label smoothing 0.1). Its model options are ``NMTConfig``'s, with its defaults."""

    # shared knobs, defaults of their own
    lowercase: bool = option(True, "lowercase the text")
    min_count: int = option(2, "words seen fewer times become <unk>")
    max_len: int = option(50, "longest training sentence (and source) in words")
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
    num_samples: int = option(5, "translations sampled per source for the diversity metrics")
    dropout: float = option(0.3, "dropout on word embeddings and the output layer's input")
    # (here the model's own sizes: enc_hidden_dim, attention, attention_dim, out_dim, key_dropout)
    # evaluation
    beam_size: int = option(5, "beam width of the beam-search BLEU in the final report")
    eval_limit: int = option(
        0, "score beam search and sampling on the first N evaluation sources (0: all)"
    )
    heatmaps: int = option(4, "attention heat maps drawn (attention.png; 0: none)")

    # The conditional VAE's knobs this model does not read: not options, left at their
    # defaults (so are the conditional VAE's sizes NMTConfig lacks: cell, z_mode,
    # share_embeddings, cond_dim; @model_options adds them here).
    NOT_OPTIONS: ClassVar[tuple] = ("task", "label_attrs")
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
        self._check("beam_size", int, low=1)
        for name in ("eval_limit", "heatmaps"):
            self._check(name, int, low=0)
        if self.task != "translate":
            self._refuse("task", "must be translate: the model reads a source sentence")
        if self.cell != "lstm":
            self._refuse("cell", "must be lstm: the attention decoder is an LSTM")

    def build_model(self, data):
        from minivae.translation.nmt import TranslationVAE

        vocab, sources = len(data.vocab), data.condition.size
        return TranslationVAE(sizes_from(NMTConfig, self, vocab_size=vocab, src_vocab_size=sources))

    def selection_score(self, row: dict) -> float:
        """--select bleu: the highest validation BLEU (as a score, lower is better); else the
        lowest -ELBO."""
        return -row["bleu"] if self.select == "bleu" else super().selection_score(row)

    @property
    def selection_name(self) -> str:
        return "highest validation BLEU" if self.select == "bleu" else super().selection_name

    def task_metrics(self, model, params, data, log=print, out=None) -> dict:
        from minivae.translation.tasks import translation_metrics

        return translation_metrics(model, params, self, data, log, out)

    def epoch_metrics(self, model, params, data) -> dict:
        from minivae.translation.tasks import validation_bleu

        return validation_bleu(model, params, self, data)
