"""The config dataclasses: their JSON form (as checkpoints store them), ``option`` (a field
with its command-line help, choices and limits as data), the one check of those limits, and
``model_options``, which makes a model config's options the options of a training run.

A model's sizes and choices are declared once, as ``option`` fields of its model config
dataclass (say ``minivae.blocks.config.ModelConfig``). From there:
- the validation: ``DictConfig.check_options`` refuses a value outside the choices or limits;
- the run config: ``@model_options(ModelConfig)`` copies the fields into the dataclass of the
  training run, so each size is an option of the run with the same name, help and limits;
- the command line: ``minivae.cli.options`` makes an option of each run config field;
- the checkpoint: the run config is saved field by field (``to_dict``: flat names such as
  ``embed_dim``), and ``sizes_from`` builds the model config back from the run by name.
Adding a size to a model is so a one-line change of its model config.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import MISSING, asdict, field, fields
from pathlib import Path


def option(default, help: str, choices=None, low=None, high=None):
    """A config field with its command-line help and the values it may take: one of
    ``choices``, or a number in [``low``, ``high``] (either bound may be None: no bound).
    ``DictConfig.check_options`` checks them; the command line shows the help and choices."""
    metadata = {"help": help, "choices": choices, "low": low, "high": high}
    return field(default=default, metadata=metadata)


class DictConfig:
    """``to_dict`` and a strict ``from_dict`` for a config dataclass: a key it does not
    know, or something that is not a dict, is a ValueError naming the class. On creation
    every ``option`` field is checked against its choices and limits (a subclass with a
    ``__post_init__`` of its own calls ``super().__post_init__()`` first)."""

    def __post_init__(self):
        self.check_options()

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d):
        if not isinstance(d, dict):
            raise ValueError(f"a {cls.__name__} must be a dict, got {type(d).__name__}")
        unknown = set(d) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown {cls.__name__} keys: {sorted(unknown)}")
        try:
            return cls(**d)
        except TypeError as e:  # a field of the wrong type that __post_init__ trips over
            raise ValueError(f"a bad {cls.__name__}: {e}") from None

    # -- validation ----------------------------------------------------------------------------
    def check_options(self) -> None:
        """The one check of what ``option`` declares: each field with choices holds one of
        them, each field with a limit is a number within it (an integer, for an int field)."""
        for f in fields(self):
            meta = f.metadata
            choices = meta.get("choices")
            if choices and getattr(self, f.name) not in choices:
                self._refuse(f.name, f"must be one of {list(choices)}")
            if meta.get("low") is not None or meta.get("high") is not None:
                kind = int if annotation(f) == "int" else float
                self._check(f.name, kind, low=meta.get("low"), high=meta.get("high"))

    def _check(self, name: str, kind, low=None, high=None, strict: bool = False) -> None:
        """An int (or a finite number, for float) in [low, high] ((low, high) if strict)."""
        value = getattr(self, name)
        number = isinstance(value, int | float) and not isinstance(value, bool)
        ok = isinstance(value, int) and not isinstance(value, bool) if kind is int else number
        ok = ok and (isinstance(value, int) or math.isfinite(value))  # (a huge int: no float)
        if ok and low is not None:
            ok = value > low if strict else value >= low
        if ok and high is not None:
            ok = value < high if strict else value <= high
        if not ok:
            what = "an integer" if kind is int else "a finite number"
            if high is not None and low is not None:
                lo, hi = ("(", ")") if strict else ("[", "]")
                bounds = f"in {lo}{low}, {high}{hi}"
            elif high is not None:
                bounds = f"{'<' if strict else '<='} {high}"
            else:
                bounds = f"{'>' if strict else '>='} {low}"
            self._refuse(name, f"must be {what} {bounds}")

    def _refuse(self, name: str, why: str):
        """The error for a bad field (a run config names the command-line option instead)."""
        raise ValueError(f"{type(self).__name__}.{name} {why}, got {getattr(self, name)!r}")


def annotation(f) -> str:
    """A field's type as written, without "| None": "int", "float", "str", "bool"."""
    written = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "str")
    return written.split("|")[0].strip()


def options_of(cls) -> list:
    """The fields of the dataclass ``cls`` declared with ``option`` (they have help text);
    a model config's other fields (the vocabulary size...) are decided by the data."""
    return [f for f in fields(cls) if "help" in f.metadata]


def model_options(model_config, before: str | None = None):
    """A class decorator: the ``option`` fields of ``model_config`` become fields (and so
    command-line options) of the run config it decorates, with the model config's defaults,
    help text, choices and limits. Write it below ``@dataclass``, which then makes the fields::

        @dataclass
        @model_options(NMTConfig, before="beam_size")
        class NMTTrainConfig(CVAETrainConfig):
            beam_size: int = option(5, "beam width ...")

    ``before``: the run's own field the new options come before (the order of ``--help`` and
    of the checkpoint's keys); None puts them after the run's own fields. An option the run
    inherits keeps its place and takes the model config's default and help (a translation
    model's --embed-dim defaults to 256). Sizes the run inherits from its base's model and
    ``model_config`` lacks stay fields (old checkpoints store them) but are no options
    (``NOT_OPTIONS``). A run config that declares a model option itself is an error: a size
    is declared once, in its model config.
    """

    def decorate(cls):
        if "__dataclass_fields__" in cls.__dict__:
            raise TypeError(f"{cls.__name__}: write @model_options below @dataclass")
        own = dict(inspect.get_annotations(cls))  # the fields the class body declares
        options = options_of(model_config)
        names = [f.name for f in options]
        twice = [name for name in names if name in own]
        if twice:
            raise TypeError(
                f"{cls.__name__} declares {twice}, option(s) of {model_config.__name__}: "
                "a model's size is declared once, in its model config"
            )
        if before is not None and before not in own:
            raise TypeError(f"{cls.__name__} has no field {before!r} to put the options before")
        # The sizes of the base's model that this model lacks: kept, but no options.
        base_model = getattr(cls, "MODEL_CONFIG", None)
        lacking = [f.name for f in options_of(base_model)] if base_model else []
        hidden = (*getattr(cls.__base__, "NOT_OPTIONS", ()), *cls.__dict__.get("NOT_OPTIONS", ()))
        cls.NOT_OPTIONS = tuple(dict.fromkeys(n for n in (*hidden, *lacking) if n not in names))
        cls.MODEL_CONFIG = model_config
        # The class body's annotations with the model's options put in (dataclass makes a
        # field of each annotation, in this order; an inherited field keeps its place).
        annotations = {}
        for name, kind in own.items():
            if name == before:
                annotations.update({f.name: f.type for f in options})
            annotations[name] = kind
        annotations.update({f.name: f.type for f in options})  # no-op where added above
        cls.__annotations__ = annotations
        for f in options:  # each with the model config's default, help, choices and limits
            if f.default is MISSING:
                raise TypeError(f"{model_config.__name__}.{f.name}: an option needs a default")
            setattr(cls, f.name, field(default=f.default, metadata=f.metadata))
        return cls

    return decorate


def absolute(path: str | None) -> str | None:
    if path is None:
        return None
    try:
        return str(Path(path).expanduser().resolve())
    except RuntimeError:  # Python < 3.13 on a loop of symbolic links (later: OSError)
        raise ValueError(f"{path} is a loop of symbolic links") from None
    except OSError as e:
        raise ValueError(f"cannot follow the path {path}: {e.strerror or e}") from None


def sizes_from(cls, run, **given):
    """The model config dataclass ``cls`` of a run: each field from ``given`` (what the data
    decides, such as the vocabulary size), else from the run config ``run``'s option of the
    same name; a field that is not an option and not given keeps its default. A model's
    size is then a field of its config and an option of its run, and no ``build_model``
    copies it by hand."""
    sizes = dict(given)
    for f in options_of(cls):  # every option from the run; other fields: given or default
        if f.name not in sizes:
            sizes[f.name] = getattr(run, f.name)
    return cls(**sizes)
