"""A trained model from a checkpoint, every field of it checked: what ``eval``, ``sample``,
``reconstruct``, ``interpolate``, the Python API and a resumed run start from. It finds the
model family of a checkpoint in the registry (``minivae.registry``), so it sits above
training, which knows only the model interface."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from minivae.data import Condition, Vocab
from minivae.interface import TextModel
from minivae.registry import model_class, train_config_class
from minivae.training.checkpoint import (
    CheckpointError,
    check_param_shapes,
    field,
    load_checkpoint,
)


class TrainedModel(NamedTuple):
    model: TextModel
    params: dict  # on the host
    vocab: Vocab  # of the sentences the model reads and writes
    condition: Condition | None  # how conditions are read (conditional models)
    train_config: object  # the run's TrainConfig (or CVAETrainConfig)
    meta: dict
    path: Path


def read_model(params: dict, meta: dict, path) -> TrainedModel:
    """Check a checkpoint's model, vocabularies and parameters against each other."""
    described = field(meta, "model", dict, path)
    kind = field(described, "kind", str, path)
    try:
        cls = model_class(kind)
        model = cls.from_dict(field(described, "config", dict, path))
        cfg = train_config_class(kind).from_dict(field(meta, "train_config", dict, path))
        vocab = Vocab.from_dict(meta.get("vocab"))
        condition = Condition.from_dict(meta["condition"]) if cls.conditional else None
    except (ValueError, TypeError, KeyError) as e:
        raise CheckpointError(f"checkpoint {path}: {e}") from None
    if len(vocab) != model.vocab_size:
        raise CheckpointError(
            f"checkpoint {path}: the vocabulary has {len(vocab)} words, the model "
            f"{model.vocab_size}"
        )
    config = model.config
    if condition is not None:
        size = condition.size
        needed = config.num_classes if condition.kind == "label" else config.src_vocab_size
        if condition.kind != config.condition or size != needed:
            raise CheckpointError(
                f"checkpoint {path}: the condition ({condition.kind}, {size}) does not match "
                f"the model ({config.condition}, {needed})"
            )
    check_param_shapes(params, model.param_shapes(), path)
    return TrainedModel(model, params, vocab, condition, cfg, meta, Path(path))


def load_model(path) -> TrainedModel:
    """A trained model from a checkpoint file, or from a run folder (its best.npz)."""
    path = Path(path)
    if path.is_dir():
        path = path / "best.npz"
    params, meta, _ = load_checkpoint(path)
    return read_model(params, meta, path)


def resume_trainer(path, out=None, overrides: dict | None = None, **options):
    """A ``Trainer`` that continues the run of a checkpoint (last.npz, or a run folder's):
    its settings win except ``overrides``; ``options`` go to the Trainer (log,
    progress_bar)."""
    from minivae.training.resume import ResumePoint
    from minivae.training.trainer import Trainer

    path = Path(path)
    if path.is_dir():
        path = path / "last.npz"
    params, meta, optim = load_checkpoint(path)
    point = ResumePoint(read_model(params, meta, path), optim)
    return Trainer(resume=point, out=out, overrides=overrides, **options)
