"""Data: the built-in corpus, reading text files, the vocabulary, and padded batches."""

from minivae.data.batching import (
    Batch,
    EncodedCorpus,
    batch_of,
    encode_sentences,
    iterate_batches,
    num_batches,
    pad_batch,
    pad_conditions,
    train_valid_split,
)
from minivae.data.condition import Condition
from minivae.data.corpus import ATTRIBUTES, Sentence, builtin_corpus
from minivae.data.dataset import Dataset, Examples, build_dataset, encode_examples
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
    "Condition",
    "CorpusError",
    "Dataset",
    "EncodedCorpus",
    "Examples",
    "Sentence",
    "Vocab",
    "batch_of",
    "build_dataset",
    "builtin_corpus",
    "encode_examples",
    "encode_sentences",
    "iterate_batches",
    "num_batches",
    "pad_batch",
    "pad_conditions",
    "read_pairs",
    "read_parallel",
    "read_sentences",
    "tokenize",
    "train_valid_split",
]
