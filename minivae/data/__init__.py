"""Data: the built-in corpus, reading text files, the vocabulary, and padded batches."""

from minivae.data.batching import (
    Batch,
    EncodedCorpus,
    encode_sentences,
    iterate_batches,
    num_batches,
    pad_batch,
    train_valid_split,
)
from minivae.data.corpus import ATTRIBUTES, Sentence, builtin_corpus
from minivae.data.text import CorpusError, read_pairs, read_parallel, read_sentences, tokenize
from minivae.data.vocab import BOS, EOS, PAD, SPECIALS, UNK, Vocab

__all__ = [
    "ATTRIBUTES",
    "BOS",
    "EOS",
    "PAD",
    "SPECIALS",
    "UNK",
    "Batch",
    "CorpusError",
    "EncodedCorpus",
    "Sentence",
    "Vocab",
    "builtin_corpus",
    "encode_sentences",
    "iterate_batches",
    "num_batches",
    "pad_batch",
    "read_pairs",
    "read_parallel",
    "read_sentences",
    "tokenize",
    "train_valid_split",
]
