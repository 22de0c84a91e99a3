"""From a corpus (the built-in one or a file) to encoded training and validation sets."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minivae.data import (
    EncodedCorpus,
    Vocab,
    builtin_corpus,
    encode_sentences,
    read_sentences,
    train_valid_split,
)
from minivae.training.config import TrainConfig


@dataclass
class Dataset:
    vocab: Vocab
    train: EncodedCorpus
    valid: EncodedCorpus
    train_attrs: list | None  # known attributes of each kept sentence (built-in corpus only)
    valid_attrs: list | None
    source: str


def load_sentences(cfg: TrainConfig) -> tuple[list[list[str]], list | None, str]:
    """-> (token lists, attribute dicts or None, a name for the source)"""
    if cfg.corpus is None:
        corpus = builtin_corpus(n=cfg.builtin_size, seed=cfg.seed)
        return [s.tokens for s in corpus], [s.attrs for s in corpus], "built-in corpus"
    return read_sentences(cfg.corpus, lowercase=cfg.lowercase), None, str(cfg.corpus)


def prepare_data(cfg: TrainConfig, vocab: Vocab | None = None) -> Dataset:
    """Split, build the vocabulary on the training part (unless given), encode both parts."""
    sentences, attrs, source = load_sentences(cfg)
    train_idx, valid_idx = train_valid_split(len(sentences), cfg.valid_fraction, seed=cfg.seed)
    train_sents = [sentences[i] for i in train_idx]
    valid_sents = [sentences[i] for i in valid_idx]
    if vocab is None:
        vocab = Vocab.build(train_sents, max_size=cfg.max_vocab, min_count=cfg.min_count)
    train = encode_sentences(train_sents, vocab, cfg.max_len, cfg.overflow)
    valid = encode_sentences(valid_sents, vocab, cfg.max_len, cfg.overflow)

    def kept_attrs(idx, encoded):
        return None if attrs is None else [attrs[idx[k]] for k in np.asarray(encoded.kept)]

    return Dataset(
        vocab, train, valid, kept_attrs(train_idx, train), kept_attrs(valid_idx, valid), source
    )
