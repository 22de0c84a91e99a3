"""Encoding sentences to ids, and padded batches of similar lengths with masks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from minivae.data.vocab import PAD, UNK


class Batch(NamedTuple):
    tokens: np.ndarray  # (N, T) int64, padded with PAD
    mask: np.ndarray  # (N, T) bool, True at real tokens
    lengths: np.ndarray  # (N,) int64
    index: np.ndarray  # (N,) positions in the encoded set, to look up attributes
    src: np.ndarray | None = None  # conditions: (N,) class ids, or (N, Ts) source ids
    src_lengths: np.ndarray | None = None  # (N,) for source sentences, None for classes


@dataclass
class EncodedCorpus:
    ids: list  # one int64 array per kept sentence
    kept: np.ndarray  # positions of the kept sentences in the input list
    src: list | None = None  # each kept sentence's condition (conditional models), or None
    truncated: int = 0
    truncated_source: int = 0  # of the ``truncated``: those whose source was cut
    dropped_long: int = 0
    dropped_empty: int = 0
    dropped_unknown: int = 0
    unknown_rate: float = 0.0
    notes: list = field(default_factory=list)

    def report_lines(self) -> list[str]:
        lines = [f"{len(self.ids)} sentences kept, {self.unknown_rate:.1%} of words <unk>"]
        for count, what in (
            (self.truncated, "truncated to the maximum length (sentence or source)"),
            (self.truncated_source, "of them with the source sentence cut to the maximum length"),
            (self.dropped_long, "dropped for being over the maximum length (sentence or source)"),
            (self.dropped_empty, "dropped for being empty"),
            (self.dropped_unknown, "dropped: every word unknown (sentence or source)"),
        ):
            if count:
                lines.append(f"{count} sentences {what}")
        return lines

    def __str__(self) -> str:
        return "; ".join(self.report_lines())

    def batch(self, idx) -> Batch:
        """The padded batch of the examples at positions ``idx`` (a corpus of other units,
        such as whole dialogues, overrides this)."""
        src = None if self.src is None else [self.src[i] for i in idx]
        return pad_batch([self.ids[i] for i in idx], idx, src)


def encode_sentences(
    sentences,
    vocab,
    max_len: int | None,
    overflow: str = "truncate",
    conditions=None,
    condition=None,
    keep_unknown: bool = False,
) -> EncodedCorpus:
    """Token lists -> id arrays; long sentences truncated or dropped, unusable ones dropped.

    max_len None: no limit (how evaluation sets are read: whole). keep_unknown: keep
    sentences made only of unknown words (a test set is scored on every sentence; training
    gains nothing from them). conditions: one token list per sentence (a class name or a
    source sentence), encoded by ``condition`` (a ``Condition``) and kept with its sentence.
    Everything cut or dropped is counted in the result; so is a source sentence made only
    of unknown words (dropped unless ``keep_unknown``: there is nothing to translate).
    """
    if overflow not in ("truncate", "drop"):
        raise ValueError(f"overflow must be 'truncate' or 'drop', got {overflow!r}")
    out = EncodedCorpus([], np.zeros(0, dtype=np.int64), None if conditions is None else [])
    limit = max_len if max_len is not None else float("inf")
    sources_are_sentences = condition is not None and condition.kind == "sequence"
    kept, words, unknown = [], 0, 0
    for i, tokens in enumerate(sentences):
        if not tokens:
            out.dropped_empty += 1
            continue
        source = conditions[i] if conditions is not None else []
        too_long = len(tokens) > limit or (sources_are_sentences and len(source) > limit)
        if too_long and overflow == "drop":
            out.dropped_long += 1
            continue
        if too_long:
            out.truncated += 1
            out.truncated_source += sources_are_sentences and len(source) > limit
            tokens = tokens[:max_len]
        ids = np.array(vocab.encode(tokens), dtype=np.int64)
        src = condition.encode(source, max_len) if conditions is not None else None
        unknown_source = sources_are_sentences and np.all(src == UNK)
        if not keep_unknown and (np.all(ids == UNK) or unknown_source):
            out.dropped_unknown += 1  # nothing for the model to learn from
            continue
        out.ids.append(ids)
        if conditions is not None:
            out.src.append(src)
        kept.append(i)
        words += len(ids)
        unknown += int((ids == UNK).sum())
    if not out.ids:
        raise ValueError(
            f"no usable sentence among {len(sentences)}: {out.dropped_empty} empty, "
            f"{out.dropped_long} over max_len={max_len}, {out.dropped_unknown} "
            "made only of unknown words"
        )
    out.kept = np.array(kept, dtype=np.int64)
    out.unknown_rate = unknown / max(words, 1)
    return out


def pad_ids(id_arrays):
    """Id arrays of different lengths -> tokens (N, T) padded with PAD, lengths (N,)."""
    lengths = np.array([len(a) for a in id_arrays], dtype=np.int64)
    tokens = np.full((len(id_arrays), int(lengths.max())), PAD, dtype=np.int64)
    for row, ids in enumerate(id_arrays):
        tokens[row, : len(ids)] = ids
    return tokens, lengths


def pad_conditions(conditions):
    """Encoded conditions -> (src, src_lengths): class ids (N,) and None, or padded source
    ids (N, Ts) and their lengths (N,)."""
    if np.ndim(conditions[0]) == 0:
        return np.asarray(conditions, dtype=np.int64), None
    return pad_ids(conditions)


def pad_batch(id_arrays, index, src=None) -> Batch:
    """Stack id arrays of different lengths into one padded batch, with the examples'
    encoded conditions (``src``) when there are some."""
    tokens, lengths = pad_ids(id_arrays)
    mask = np.arange(tokens.shape[1])[None, :] < lengths[:, None]
    batch = Batch(tokens, mask, lengths, np.asarray(index, dtype=np.int64))
    if src is None:
        return batch
    src, src_lengths = pad_conditions(src)
    return batch._replace(src=src, src_lengths=src_lengths)


def batch_of(encoded: EncodedCorpus, idx) -> Batch:
    """The padded batch of the examples at positions ``idx`` of an encoded set."""
    return encoded.batch(idx)


def num_batches(encoded: EncodedCorpus, batch_size: int) -> int:
    return -(-len(encoded.ids) // batch_size)


def iterate_batches(
    encoded: EncodedCorpus,
    batch_size: int,
    rng=None,
    shuffle: bool = True,
    bucket: bool = True,
    bucket_batches: int = 50,
):
    """Yield every sentence exactly once, in batches of similar lengths.

    With bucketing, sentences are shuffled, cut into chunks of ``bucket_batches`` batches,
    sorted by length inside each chunk, batched, and the batches shuffled: little padding,
    but still a random order. ``shuffle=False`` gives a fixed order.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    n = len(encoded.ids)
    if shuffle and rng is None:
        rng = np.random.default_rng()
    order = rng.permutation(n) if shuffle else np.arange(n)
    lengths = np.array([len(a) for a in encoded.ids])
    batches = []
    chunk = batch_size * bucket_batches if bucket else n
    for start in range(0, n, max(chunk, 1)):
        part = order[start : start + chunk]
        if bucket:
            part = part[np.argsort(lengths[part], kind="stable")]
        batches += [part[i : i + batch_size] for i in range(0, len(part), batch_size)]
    if shuffle:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    for idx in batches:
        yield batch_of(encoded, idx)


def train_valid_split(n: int, valid_fraction: float = 0.1, seed: int = 0):
    """A fixed random split of range(n): -> (train indices, valid indices), both sorted."""
    if n < 2:
        raise ValueError(f"need at least 2 sentences to split off a validation set, got {n}")
    perm = np.random.default_rng(seed).permutation(n)
    n_valid = min(max(1, round(n * valid_fraction)), n - 1)
    return np.sort(perm[n_valid:]), np.sort(perm[:n_valid])
