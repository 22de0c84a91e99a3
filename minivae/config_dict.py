"""The JSON form of the config dataclasses, as checkpoints store them."""

from __future__ import annotations

from dataclasses import asdict, fields


class DictConfig:
    """``to_dict`` and a strict ``from_dict`` for a config dataclass: a key it does not
    know, or something that is not a dict, is a ValueError naming the class."""

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
