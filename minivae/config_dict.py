"""The JSON form of the config dataclasses, as checkpoints store them, and ``option``: a
config field with its command-line help and allowed values (the command line, the
validation and the checkpoint are derived from the fields)."""

from __future__ import annotations

from dataclasses import asdict, field, fields
from pathlib import Path


class DictConfig:
    """``to_dict`` and a strict ``from_dict`` for a config dataclass: a key it does not
    know, or something that is not a dict, is a ValueError naming the class."""

    def to_dict(self) -> dict:
        return asdict(self)

    def require_positive(self, *names) -> None:
        """Each of the fields ``names`` must be an integer >= 1 (a size)."""
        for name in names:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(
                    f"{type(self).__name__}.{name} must be a positive integer, got {value!r}"
                )

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


def option(default, help: str, choices=None):
    """A config field with its command-line help (and allowed values)."""
    return field(default=default, metadata={"help": help, "choices": choices})


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
    same name. A model's size is then a field of its config and an option of its run, and
    no ``build_model`` copies it by hand."""
    return cls(**{f.name: given[f.name] if f.name in given else getattr(run, f.name)
                  for f in fields(cls)})
