"""A model's data: the vocabulary, and encoded training, validation and test sets.

Plain text (sentences) and paired data (a condition and a sentence) go through the same
steps: split, build the vocabularies on the training part, encode every part.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from minivae.data.batching import EncodedCorpus, encode_sentences, train_valid_split
from minivae.data.condition import Condition
from minivae.data.vocab import Vocab

SPLITS = ("train", "valid", "test")


@dataclass
class Examples:
    """Raw examples of one split: sentences, and their conditions (None for plain text)."""

    sentences: list  # token lists
    conditions: list | None = None  # token lists (a class name or a source sentence)
    attrs: list | None = None  # known attributes of each sentence (the built-in corpus)

    def __len__(self) -> int:
        return len(self.sentences)

    def pick(self, idx) -> Examples:
        def part(xs):
            return None if xs is None else [xs[i] for i in idx]

        return Examples(part(self.sentences), part(self.conditions), part(self.attrs))


@dataclass
class Dataset:
    vocab: Vocab  # of the sentences the model reads and writes
    train: EncodedCorpus
    valid: EncodedCorpus
    test: EncodedCorpus | None
    source: str  # where the data came from, in words
    condition: Condition | None = None  # how conditions are read (conditional models)
    raw: dict = field(default_factory=dict)  # split name -> Examples, before encoding

    def split(self, name: str) -> EncodedCorpus:
        encoded = getattr(self, name, None) if name in SPLITS else None
        if encoded is None:
            raise ValueError(f"the data has no {name!r} split ({self.source})")
        return encoded

    def attrs(self, name: str) -> list | None:
        """The known attributes of each kept sentence of a split, or None."""
        raw = self.raw[name]
        if raw.attrs is None:
            return None
        return [raw.attrs[k] for k in self.split(name).kept]

    def references(self, name: str) -> list[list[str]]:
        """The original sentences (before truncation and <unk>) of each kept example."""
        raw = self.raw[name]
        return [raw.sentences[k] for k in self.split(name).kept]

    def kept_conditions(self, name: str) -> list:
        raw = self.raw[name]
        return [raw.conditions[k] for k in self.split(name).kept]


def build_dataset(
    examples: Examples,
    source: str,
    valid_fraction: float,
    seed: int,
    max_len: int,
    overflow: str = "truncate",
    max_vocab: int | None = None,
    min_count: int = 1,
    valid: Examples | None = None,
    test: Examples | None = None,
    condition_kind: str | None = None,
    vocab: Vocab | None = None,
    condition: Condition | None = None,
) -> Dataset:
    """Split ``examples`` (unless a ``valid`` set is given), build the vocabularies on the
    training part (unless given: a trained model's), and encode every part.

    condition_kind: "label" or "sequence" for paired data; label classes are taken from all
    splits, so a class seen only in validation still has an id.
    """
    if valid is None:
        train_idx, valid_idx = train_valid_split(len(examples), valid_fraction, seed=seed)
        train, valid = examples.pick(train_idx), examples.pick(valid_idx)
    else:
        train = examples
    parts = {"train": train, "valid": valid, "test": test}
    if vocab is None:
        vocab = Vocab.build(train.sentences, max_size=max_vocab, min_count=min_count)
    if condition is None and condition_kind == "label":
        names = {" ".join(c) for part in parts.values() if part for c in part.conditions}
        condition = Condition("label", classes=sorted(names))
    elif condition is None and condition_kind == "sequence":
        condition = Condition(
            "sequence", vocab=Vocab.build(train.conditions, max_size=max_vocab, min_count=min_count)
        )

    return Dataset(
        vocab,
        encode_examples(train, vocab, condition, max_len, overflow),
        encode_examples(valid, vocab, condition),
        encode_examples(test, vocab, condition),
        source,
        condition,
        {k: v for k, v in parts.items() if v is not None},
    )


def encode_examples(
    part: Examples | None, vocab, condition=None, max_len=None, overflow="truncate"
) -> EncodedCorpus | None:
    """Training sentences are cut to ``max_len``; evaluation sets (max_len None) are encoded
    whole, sentences of unknown words included, so that every sentence is scored."""
    if part is None:
        return None
    return encode_sentences(
        part.sentences,
        vocab,
        max_len,
        overflow,
        part.conditions,
        condition,
        keep_unknown=max_len is None,
    )
