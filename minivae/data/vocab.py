"""The vocabulary: words <-> ids, with four special tokens at fixed ids."""

from __future__ import annotations

from collections import Counter

PAD, UNK, BOS, EOS = 0, 1, 2, 3
SPECIALS = ("<pad>", "<unk>", "<bos>", "<eos>")


class Vocab:
    """A list of words; a word's id is its position. Ids 0-3 are <pad> <unk> <bos> <eos>."""

    def __init__(self, words: list[str]):
        if tuple(words[:4]) != SPECIALS:
            raise ValueError(f"a vocabulary must start with {SPECIALS}, got {tuple(words[:4])}")
        if len(set(words)) != len(words):
            dupes = sorted(w for w, c in Counter(words).items() if c > 1)
            raise ValueError(f"a vocabulary lists words twice: {dupes[:5]}")
        self.words = list(words)
        self.index = {w: i for i, w in enumerate(self.words)}

    @classmethod
    def build(cls, sentences, max_size: int | None = None, min_count: int = 1) -> Vocab:
        """The most frequent words (ties alphabetical), at most ``max_size`` ids in all."""
        counts = Counter(w for s in sentences for w in s if w not in SPECIALS)
        ranked = sorted(
            (w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w)
        )
        if max_size is not None:
            if max_size <= len(SPECIALS):
                raise ValueError(
                    f"max_size must exceed the {len(SPECIALS)} special tokens, got {max_size}"
                )
            ranked = ranked[: max_size - len(SPECIALS)]
        return cls([*SPECIALS, *ranked])

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    def token_to_id(self, word: str) -> int:
        return self.index.get(word, UNK)

    def id_to_token(self, i: int) -> str:
        return self.words[i]

    def encode(self, tokens) -> list[int]:
        return [self.index.get(w, UNK) for w in tokens]

    def encode_text(self, text, lowercase: bool = False):
        """A sentence typed by a person (a string, split on whitespace, or a token list)
        -> an int64 id array; an empty sentence, or one of unknown words only, is an error."""
        import numpy as np

        words = text.split() if isinstance(text, str) else list(text)
        words = [w.lower() for w in words] if lowercase else words
        if not words:
            raise ValueError(f"the sentence {text!r} is empty")
        ids = self.encode(words)
        if all(i == UNK for i in ids):
            raise ValueError(f"every word of {text!r} is unknown to the model's vocabulary")
        return np.array(ids, dtype=np.int64)

    def decode(self, ids) -> list[str]:
        """Words of ``ids`` up to the first <eos>, without <pad> and <bos>."""
        out = []
        for i in ids:
            i = int(i)
            if i == EOS:
                break
            if i not in (PAD, BOS):
                out.append(self.words[i])
        return out

    def text(self, ids) -> str:
        """The decoded words as one string; ``(empty)`` when there are none."""
        return " ".join(self.decode(ids)) or "(empty)"

    def to_dict(self) -> dict:
        return {"words": self.words}

    @classmethod
    def from_dict(cls, d) -> Vocab:
        if (
            not isinstance(d, dict)
            or not isinstance(d.get("words"), list)
            or not all(isinstance(w, str) for w in d["words"])
        ):
            raise ValueError("a vocabulary dict must be {'words': [str, ...]}")
        return cls(d["words"])
