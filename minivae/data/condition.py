"""How a conditional model reads its condition c: a class name, or a source sentence."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minivae.data.vocab import UNK, Vocab

KINDS = ("label", "sequence")


@dataclass
class Condition:
    """``label``: one of ``classes`` (a class id); ``sequence``: words of ``vocab`` (ids)."""

    kind: str
    classes: list | None = None
    vocab: Vocab | None = None

    def encode(self, tokens, max_len: int | None):
        """Condition tokens -> a class id (label) or an int64 id array (sequence).

        A source longer than ``max_len`` words (None: no limit) is cut to it; the caller
        counts such cuts.
        """
        if self.kind == "label":
            name = " ".join(tokens)
            if name not in self.classes:
                raise ValueError(f"unknown label {name!r}; the model knows {self.classes}")
            return self.classes.index(name)
        return np.array(self.vocab.encode(tokens[:max_len]), dtype=np.int64)

    def encode_texts(self, texts, max_len: int | None, lowercase: bool = False) -> list:
        """Conditions typed by a person -> encoded conditions; empty or all-unknown is an error."""
        from minivae.data.text import tokenize

        encoded = []
        for text in texts:
            words = tokenize(text, lowercase=lowercase)
            if not words:
                raise ValueError(f"the condition {text!r} is empty")
            if self.kind == "sequence" and max_len is not None and len(words) > max_len:
                raise ValueError(
                    f"the condition {text!r} has {len(words)} words, the model reads at most "
                    f"{max_len}"
                )
            ids = self.encode(words, max_len)
            if self.kind == "sequence" and np.all(ids == UNK):
                raise ValueError(
                    f"every word of {text!r} is unknown to the model's source vocabulary"
                )
            encoded.append(ids)
        return encoded

    @property
    def size(self) -> int:
        return len(self.classes) if self.kind == "label" else len(self.vocab)

    def to_dict(self) -> dict:
        if self.kind == "label":
            return {"kind": "label", "classes": self.classes}
        return {"kind": "sequence", "vocab": self.vocab.to_dict()}

    @classmethod
    def from_dict(cls, d) -> Condition:
        if not isinstance(d, dict) or d.get("kind") not in KINDS:
            raise ValueError(f"a condition dict must have kind in {KINDS}")
        if d["kind"] == "label":
            classes = d.get("classes")
            if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
                raise ValueError("a label condition needs classes: [str, ...]")
            return cls("label", classes=list(classes))
        return cls("sequence", vocab=Vocab.from_dict(d.get("vocab")))
