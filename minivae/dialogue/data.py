"""DailyDialog as the dialogue model reads it: whole dialogues, their dialogue acts, and the
(context, response) pairs inside them, preprocessed as the public DialogWAE code does (Gu et
al. 2019): lower-cased, word-punct tokenized (NLTK's ``WordPunctTokenizer``, the regular
expression ``\\w+|[^\\w\\s]+``), the 10,000 most frequent training words, every utterance cut
at 40 tokens with its <s> and </s> (38 words), every turn after the first a response to the
(up to 9) turns before it.

The unit of a batch is a *dialogue*, not a pair: each utterance is encoded once per batch
and the context RNN reads the vectors of up to ``max_context`` turns before each response,
so the cost of an epoch grows with the number of turns, not turns x context length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from minivae.data import CorpusError, Dataset, EncodedCorpus, Vocab
from minivae.data.batching import pad_ids

ACTS = ("inform", "question", "directive", "commissive")  # labels 1-4 of the act files
SPLIT_FILES = {"train": "train", "valid": "validation", "test": "test"}
EOU = "__eou__"
# NLTK's WordPunctTokenizer is this RegexpTokenizer (nltk/tokenize/regexp.py); written out
# here so reading data does not need NLTK (tests/dialogue/test_data.py compares the two).
WORD_PUNCT = re.compile(r"\w+|[^\w\s]+")


def tokenize(text: str) -> list[str]:
    """Lower-cased word-punct tokens: "Don't!" -> ["don", "'", "t", "!"]."""
    return WORD_PUNCT.findall(text.lower())


@dataclass
class Dialogue:
    """One dialogue: its turns (token lists, as read: not yet cut) and each turn's act (0-3)."""

    turns: list
    acts: list


def _lines(path) -> list[str]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise CorpusError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise CorpusError(f"cannot read {path}: {e.strerror or e}") from None
    lines = text.split("\n")
    if lines and lines[-1].strip() == "":
        lines.pop()  # the newline that ends the file
    return lines


def parse_dialogue(line: str, where: str) -> list[list[str]]:
    """One line of a dialogue file -> its turns' tokens; an empty turn is an error naming
    ``where`` (the file and line) and the turn."""
    pieces = line.split(EOU)
    if pieces and pieces[-1].strip() == "":
        pieces.pop()  # the line ends with __eou__
    if not pieces:
        raise CorpusError(f"{where}: an empty dialogue (no turn before {EOU})")
    turns = []
    for k, piece in enumerate(pieces, 1):
        tokens = tokenize(piece)
        if not tokens:
            raise CorpusError(f"{where}: turn {k} is empty ({piece!r} between two {EOU})")
        turns.append(tokens)
    return turns


def parse_acts(line: str, where: str, turns: int) -> list[int]:
    """One line of an act file -> acts 0-3 (the file's 1-4), one per turn."""
    values = line.split()
    if len(values) != turns:
        raise CorpusError(f"{where}: {len(values)} act labels for a dialogue of {turns} turns")
    acts = []
    for v in values:
        if v not in ("1", "2", "3", "4"):
            raise CorpusError(
                f"{where}: act label {v!r} is out of range (1 inform, 2 question, 3 "
                "directive, 4 commissive)"
            )
        acts.append(int(v) - 1)
    return acts


def read_dialogues(path, act_path=None) -> list[Dialogue]:
    """A DailyDialog file (one dialogue per line, turns ending in ``__eou__``) and its act
    file (a label 1-4 per turn, line i for dialogue i); without an act file every act is 0.
    Bad input is a CorpusError naming the file, the line and the value."""
    lines = _lines(path)
    act_lines = None if act_path is None else _lines(act_path)
    if act_lines is not None and len(act_lines) != len(lines):
        raise CorpusError(
            f"{act_path} has {len(act_lines)} lines, {path} {len(lines)} dialogues: line i "
            "of the act file labels the turns of dialogue i"
        )
    dialogues = []
    for i, line in enumerate(lines):
        turns = parse_dialogue(line, f"{path}, line {i + 1}")
        if act_lines is None:
            acts = [0] * len(turns)
        else:
            acts = parse_acts(act_lines[i], f"{act_path}, line {i + 1}", len(turns))
        dialogues.append(Dialogue(turns, acts))
    if not dialogues:
        raise CorpusError(f"{path}: no dialogue in the file")
    return dialogues


def split_paths(folder, split: str):
    """-> (dialogue file, act file) of a split (train, valid, test) in a DailyDialog folder."""
    name = SPLIT_FILES[split]
    folder = Path(folder)
    return folder / f"dialogues_{name}.txt", folder / f"dialogues_act_{name}.txt"


# -- encoded dialogues and their batches -----------------------------------------------------


class DialogueBatch(NamedTuple):
    """A batch of whole dialogues, and the (context, response) pairs inside them.

    The first fields are the responses, as every model's batch holds its sentences (so the
    shared metrics count and score them); the rest say how to build each pair's context.
    """

    tokens: np.ndarray  # (P, T) response token ids, padded
    mask: np.ndarray  # (P, T)
    lengths: np.ndarray  # (P,)
    index: np.ndarray  # (P,) position of each pair in the encoded set's pair order
    src: None = None
    src_lengths: None = None
    utterances: np.ndarray | None = None  # (U, Tu) every utterance of the batch's dialogues
    utt_lengths: np.ndarray | None = None  # (U,)
    context: np.ndarray | None = None  # (P, W) rows of ``utterances``, oldest first, padded 0
    context_lengths: np.ndarray | None = None  # (P,) turns of each context (0: an opening)
    speakers: np.ndarray | None = None  # (P, W) 1: said by the one who responds, else 0
    responses: np.ndarray | None = None  # (P,) the row of ``utterances`` of each response
    acts: np.ndarray | None = None  # (P,) the response's dialogue act, 0-3


def dialogue_batch(dialogues, acts, max_context: int, index=None) -> DialogueBatch:
    """Dialogues (each a list of id arrays) and their acts -> the batch of all their pairs:
    every turn after the first is a response to the ``max_context`` turns before it."""
    utterances, context, speakers, responses, pair_acts = [], [], [], [], []
    for turns, turn_acts in zip(dialogues, acts):
        offset = len(utterances)
        utterances += list(turns)
        for t in range(1, len(turns)):
            window = range(max(0, t - max_context), t)
            context.append([offset + j for j in window])
            speakers.append([int((t - j) % 2 == 0) for j in window])
            responses.append(offset + t)
            pair_acts.append(turn_acts[t])
    return pairs_batch(utterances, (context, speakers, responses, pair_acts), index)


def pairs_batch(utterances, pairs, index=None) -> DialogueBatch:
    """Utterance id arrays and the pairs over them (context rows, their speakers, response
    rows, acts) -> a DialogueBatch. A response row may be -1: no response (generation)."""
    context, speakers, responses, acts = pairs
    utt, utt_lengths = pad_ids(utterances)
    P = len(context)
    W = max(1, max(len(c) for c in context))
    ctx = np.zeros((P, W), dtype=np.int64)
    spk = np.zeros((P, W), dtype=np.int64)
    for p, (rows, who) in enumerate(zip(context, speakers)):
        ctx[p, : len(rows)], spk[p, : len(who)] = rows, who
    responses = np.asarray(responses, dtype=np.int64)
    real = responses >= 0
    tokens, lengths = pad_ids(
        [utterances[r] if r >= 0 else np.zeros(1, np.int64) for r in responses]
    )
    lengths = np.where(real, lengths, 0)
    tokens[~real] = 0
    return DialogueBatch(
        tokens=tokens,
        mask=np.arange(tokens.shape[1])[None, :] < lengths[:, None],
        lengths=lengths,
        index=np.arange(P) if index is None else np.asarray(index, dtype=np.int64),
        utterances=utt,
        utt_lengths=utt_lengths,
        context=ctx,
        context_lengths=np.array([len(c) for c in context], dtype=np.int64),
        speakers=spk,
        responses=responses,
        acts=np.asarray(acts, dtype=np.int64),
    )


@dataclass
class DialogueCorpus(EncodedCorpus):
    """Encoded dialogues: ``ids`` holds one entry per dialogue (the list of its utterances'
    id arrays), ``acts`` their acts; a batch of it is every pair of its dialogues."""

    acts: list = field(default_factory=list)
    max_context: int = 9
    dropped_short: int = 0  # dialogues of one turn: no pair

    @property
    def num_pairs(self) -> int:
        return sum(len(d) - 1 for d in self.ids)

    def batch(self, idx) -> DialogueBatch:
        return dialogue_batch(
            [self.ids[i] for i in idx], [self.acts[i] for i in idx], self.max_context
        )

    def report_lines(self) -> list[str]:
        turns = sum(len(d) for d in self.ids)
        lines = [
            f"{len(self.ids)} dialogues, {turns} turns, {self.num_pairs} (context, response) "
            f"pairs, {self.unknown_rate:.1%} of words <unk>"
        ]
        if self.truncated:
            lines.append(f"{self.truncated} utterances cut to the maximum length")
        if self.dropped_short:
            lines.append(f"{self.dropped_short} dialogues of one turn left out (no response)")
        return lines


def encode_dialogues(dialogues, vocab: Vocab, max_words: int, max_context: int) -> DialogueCorpus:
    """Dialogues -> DialogueCorpus: utterances cut at ``max_words`` words and encoded (unknown
    words become <unk>); a dialogue of one turn has no pair and is left out (counted)."""
    out = DialogueCorpus(ids=[], kept=np.zeros(0, np.int64), max_context=max_context)
    kept, words, unknown = [], 0, 0
    for i, d in enumerate(dialogues):
        if len(d.turns) < 2:
            out.dropped_short += 1
            continue
        turns = []
        for tokens in d.turns:
            out.truncated += len(tokens) > max_words
            ids = np.array(vocab.encode(tokens[:max_words]), dtype=np.int64)
            words += len(ids)
            unknown += int((ids == 1).sum())
            turns.append(ids)
        out.ids.append(turns)
        out.acts.append(list(d.acts))
        kept.append(i)
    if not out.ids:
        raise CorpusError(f"no dialogue of two turns or more among {len(dialogues)}")
    out.kept = np.array(kept, dtype=np.int64)
    out.unknown_rate = unknown / max(words, 1)
    return out


def build_dialogue_dataset(splits: dict, source: str, cfg, vocab=None) -> Dataset:
    """{split: [Dialogue]} -> Dataset; the vocabulary (unless given: a trained model's) is
    the ``cfg.max_vocab`` - 4 most frequent words of the training turns."""
    if vocab is None:
        vocab = Vocab.build(
            (t for d in splits["train"] for t in d.turns), cfg.max_vocab, cfg.min_count
        )
    encoded = {
        name: encode_dialogues(ds, vocab, cfg.max_words, cfg.max_context)
        for name, ds in splits.items()
    }
    return Dataset(
        vocab,
        encoded["train"],
        encoded["valid"],
        encoded.get("test"),
        source,
        None,
        dict(splits),
    )


def pairs_of(corpus: DialogueCorpus):
    """Every (dialogue, turn) of the corpus's pairs, in batch order: the response of pair k
    is turn ``t`` of dialogue ``d``."""
    return [(d, t) for d, turns in enumerate(corpus.ids) for t in range(1, len(turns))]
