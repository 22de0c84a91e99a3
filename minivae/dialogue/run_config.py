"""The dialogue model's training run (``minivae dialog train``): DailyDialog's official split
read from a folder (by default the shared data folder, when it is there), the model it
builds, validation BLEU every epoch and the test metrics of the final report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from minivae.config_dict import absolute, model_options, option, sizes_from
from minivae.dialogue.config import NUM_ACTS, DialogueConfig
from minivae.training.config import RunConfig

# Where the docs keep the data: ../shared/data/ beside the checkout (README "The data sets").
SHARED = Path("shared") / "data" / "dailydialog"


def default_data_dir() -> str | None:
    """The shared DailyDialog folder, looked for beside the working directory and beside the
    checkout this package runs from; None when neither has it."""
    here = Path(__file__).resolve().parents[2]
    for base in (Path.cwd().parent, here.parent):
        folder = base / SHARED
        if (folder / "dialogues_train.txt").is_file():
            return str(folder)
    return None


@dataclass
@model_options(DialogueConfig, before="num_samples")
class DialogueTrainConfig(RunConfig):
    """Every knob of ``minivae dialog train``: the shared ones with this model's defaults,
    the data and the evaluation; its model options are ``DialogueConfig``'s."""

    # shared knobs, defaults of their own
    max_vocab: int | None = option(
        10004, "vocabulary size cap, the 4 special tokens included (DialogWAE: 10,000 words)"
    )
    max_len: int = option(
        40,
        "utterances are cut at this many tokens, <s> and </s> counted (DialogWAE: 40, so 38 "
        "words); responses are decoded for at most this many steps",
    )
    epochs: int = option(10, "passes over the training dialogues")
    batch_size: int = option(16, "dialogues per batch (all their responses are trained on)")
    kl_warmup: int = option(2000, "steps for the KL weight to reach --beta-max")
    free_bits: float = option(0.0, "nats per latent dimension the KL is not pushed below")
    word_dropout: float = option(0.0, "probability of replacing a decoder input word by <unk>")
    iw_samples: int = option(5, "importance samples K for the final NLL estimate")
    out: str = option("runs/dialog", "run folder for checkpoints, metrics and plots")
    # the data
    data: str | None = option(
        None,
        "a DailyDialog folder (dialogues_{train,validation,test}.txt and "
        "dialogues_act_*.txt; default: ../shared/data/dailydialog when it is there)",
    )
    num_dialogues: int = option(0, "train on the first N training dialogues (0: all)")
    # evaluation
    num_samples: int = option(10, "responses sampled per context for BLEU and distinct-n")
    valid_limit: int = option(
        200, "validation BLEU of every epoch on the first N validation pairs (0: none)"
    )
    eval_limit: int = option(0, "final report: score the first N test pairs (0: all)")

    # The shared knobs this model does not read: not options, left at their defaults.
    NOT_OPTIONS: ClassVar[tuple] = (
        "lowercase",
        "z_mode",
        "share_embeddings",
        "overflow",
        "valid_fraction",
    )
    PRESETS: ClassVar[dict] = {
        "quick": (
            "a small model for one epoch over every training dialogue, batches of 8: "
            "sensible responses in about 3 minutes on a 2-core CPU (the values given here win)",
            dict(
                max_vocab=4004,
                embed_dim=64,
                hidden_dim=96,
                context_dim=96,
                latent_dim=16,
                epochs=1,
                batch_size=8,
                kl_warmup=300,
                valid_limit=50,
                eval_limit=300,
                iw_samples=1,
            ),
        )
    }

    def __post_init__(self):
        super().__post_init__()
        self._check("num_samples", int, low=1)
        self._check("max_len", int, low=3)
        for name in ("num_dialogues", "valid_limit", "eval_limit"):
            self._check(name, int, low=0)
        if self.data is None:
            self.data = default_data_dir()
        self.data = absolute(self.data)

    @property
    def max_words(self) -> int:
        """Words an utterance keeps: DialogWAE's ``pad_to`` keeps ``max_len`` tokens with
        <s> and </s> (data.py: ``tokens[0:max_utt_size-1] + [tokens[-1]]``)."""
        return self.max_len - 2

    def prepare_data(self, vocab=None, condition=None):
        from minivae.data import CorpusError
        from minivae.dialogue.data import build_dialogue_dataset, read_dialogues, split_paths

        if self.data is None:
            raise CorpusError(
                "no DailyDialog folder: give --data DIR (minivae data download dailydialog "
                "--to DIR fetches it)"
            )
        splits = {}
        for split in ("train", "valid", "test"):
            dialogues, acts = split_paths(self.data, split)
            splits[split] = read_dialogues(dialogues, acts)
        splits["train"] = splits["train"][: self.num_dialogues or None]
        return build_dialogue_dataset(splits, f"DailyDialog ({self.data})", self, vocab)

    def build_model(self, data):
        from minivae.dialogue.dialogue_vae import DialogueVAE

        sizes = sizes_from(DialogueConfig, self, vocab_size=len(data.vocab), num_acts=NUM_ACTS)
        return DialogueVAE(sizes)

    def epoch_metrics(self, model, params, data) -> dict:
        """Validation BLEU recall / precision / F1 of the first ``valid_limit`` pairs."""
        from minivae.dialogue.tasks import response_metrics

        if not self.valid_limit:
            return {}
        m, _ = response_metrics(model, params, self, data, "valid", self.valid_limit)
        return {f"bleu_{k}": m[f"bleu_{k}"] for k in ("recall", "precision", "f1")}

    def task_metrics(self, model, params, data, log=print, out=None) -> dict:
        """BLEU and distinct-n of sampled responses on the test pairs (the validation ones
        when there is no test split), with a few shown."""
        from minivae.dialogue.tasks import response_metrics, show_responses

        split = "test" if data.test is not None else "valid"
        metrics, _ = response_metrics(model, params, self, data, split, self.eval_limit)
        show_responses(model, params, self, data, split, log)
        log(
            f"\n== Responses to the {split} contexts ({metrics['pairs']} pairs, "
            f"{self.num_samples} samples each)"
        )
        log("    " + ", ".join(f"{k} {v:.3f}" for k, v in metrics.items() if k != "pairs"))
        return {f"{split}_{k}": v for k, v in metrics.items()}
