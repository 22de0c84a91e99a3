"""The data layer: vocabulary, reading files, the built-in corpus, encoding and batching."""

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from minivae.data import (
    ATTRIBUTES,
    EOS,
    PAD,
    UNK,
    CorpusError,
    Vocab,
    builtin_corpus,
    encode_sentences,
    iterate_batches,
    read_pairs,
    read_parallel,
    read_sentences,
    tokenize,
    train_valid_split,
)

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared/data"
PTB_VALID = SHARED_DATA / "ptb/ptb.valid.txt"
MULTI30K = SHARED_DATA / "multi30k"


def test_vocab_specials_order_and_round_trip():
    v = Vocab.build([["b", "a", "b"], ["c", "b", "a"]])
    assert v.words[:4] == ["<pad>", "<unk>", "<bos>", "<eos>"]
    assert v.words[4:] == ["b", "a", "c"]  # by count, then alphabetical
    assert v.decode(v.encode(["a", "c", "zzz"]) + [EOS, 5]) == ["a", "c", "<unk>"]
    assert v.encode(["zzz"]) == [UNK] and "a" in v and "zzz" not in v
    assert Vocab.from_dict(v.to_dict()).words == v.words


def test_vocab_size_cap_and_min_count():
    sents = [["a"] * 5 + ["b"] * 3 + ["c"]]
    assert Vocab.build(sents, max_size=6).words[4:] == ["a", "b"]
    assert Vocab.build(sents, min_count=2).words[4:] == ["a", "b"]
    with pytest.raises(ValueError, match="max_size"):
        Vocab.build(sents, max_size=4)


@pytest.mark.parametrize(
    "bad",
    [
        {"words": ["a", "b"]},
        {"words": ["<pad>", "<unk>", "<bos>", "<eos>", "x", "x"]},
        {"nope": 1},
        [],
    ],
)
def test_malformed_vocab_dict_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="vocabulary"):
        Vocab.from_dict(bad)


def test_tokenizer():
    assert tokenize("  The cat\tSAT \n") == ["The", "cat", "SAT"]
    assert tokenize("The cat", lowercase=True) == ["the", "cat"]


def test_read_sentences_and_its_errors(tmp_path):
    f = tmp_path / "c.txt"
    f.write_text("the cat sat\n\n  a dog  \n")
    assert read_sentences(f) == [["the", "cat", "sat"], ["a", "dog"]]
    with pytest.raises(CorpusError, match="does not exist"):
        read_sentences(tmp_path / "missing.txt")
    with pytest.raises(CorpusError, match="not a file"):
        read_sentences(tmp_path)
    (tmp_path / "empty.txt").write_text("\n  \n")
    with pytest.raises(CorpusError, match="empty.txt.*empty"):
        read_sentences(tmp_path / "empty.txt")
    (tmp_path / "latin1.txt").write_bytes(b"fine line\ncaf\xe9 au lait\n")
    with pytest.raises(CorpusError, match=r"latin1.txt, line 2, column 4.*UTF-8"):
        read_sentences(tmp_path / "latin1.txt")


def test_read_pairs_and_its_errors(tmp_path):
    f = tmp_path / "p.tsv"
    f.write_text("a b\tx y\nc\tz\n")
    assert read_pairs(f) == [(["a", "b"], ["x", "y"]), (["c"], ["z"])]
    f.write_text("a b\tx y\nno tab here\n")
    with pytest.raises(CorpusError, match="p.tsv, line 2: no tab"):
        read_pairs(f)
    f.write_text("a\t \n")
    with pytest.raises(CorpusError, match="line 1: the target side is empty"):
        read_pairs(f)


def _parallel(tmp_path, source: str, target: str, encoding="utf-8"):
    src, tgt = tmp_path / "train.de", tmp_path / "train.en"
    src.write_bytes(source.encode(encoding))
    tgt.write_bytes(target.encode("utf-8"))
    return src, tgt


def test_read_parallel_pairs_line_i_with_line_i(tmp_path):
    src, tgt = _parallel(tmp_path, "Ein Hund läuft .\r\nZwei Männer\n", "A dog runs .\nTwo men")
    assert read_parallel(src, tgt) == [
        (["Ein", "Hund", "läuft", "."], ["A", "dog", "runs", "."]),
        (["Zwei", "Männer"], ["Two", "men"]),
    ]
    assert read_parallel(src, tgt, lowercase=True)[1] == (["zwei", "männer"], ["two", "men"])
    # A line separator inside a line (U+2028, U+0085) does not end it: the pairs stay aligned.
    src, tgt = _parallel(tmp_path, "ein\u2028hund\nzwei\n", "a\x85dog\ntwo\n")
    assert read_parallel(src, tgt) == [(["ein", "hund"], ["a", "dog"]), (["zwei"], ["two"])]


@pytest.mark.parametrize(
    "source, target, message",
    [
        ("a\nb\nc\n", "x\ny\n", r"train.de has 3 lines, .*train.en has 2"),
        ("a\n\nc\n", "x\ny\nz\n", r"train.de, line 2: empty"),
        ("a\nb\n", "x\n   \n", r"train.en, line 2: empty"),
        ("a\nb\n\n", "x\ny\nz\n", r"train.de, line 3: empty"),  # a trailing blank line
        ("", "", "train.de and .*train.en are empty"),
    ],
)
def test_read_parallel_errors_name_the_file_and_line(tmp_path, source, target, message):
    src, tgt = _parallel(tmp_path, source, target)
    with pytest.raises(CorpusError, match=message):
        read_parallel(src, tgt)


def test_read_parallel_refuses_missing_and_non_utf8_files(tmp_path):
    src, tgt = _parallel(tmp_path, "ein café\n", "a café\n", encoding="latin-1")
    with pytest.raises(CorpusError, match=r"train.de, line 1, column 8.*not UTF-8"):
        read_parallel(src, tgt)
    with pytest.raises(CorpusError, match="missing.en does not exist"):
        read_parallel(tgt, tmp_path / "missing.en")


@pytest.mark.skipif(not MULTI30K.is_dir(), reason=f"Multi30k data not found at {MULTI30K}")
def test_real_multi30k_validation_files_load():
    pairs = read_parallel(MULTI30K / "val.de", MULTI30K / "val.en")
    assert len(pairs) == 1014
    assert pairs[1] == (
        "Ein Mann schläft in einem grünen Raum auf einem Sofa .".split(),
        "A man sleeping in a green room on a couch .".split(),
    )
    assert all(src and tgt for src, tgt in pairs)


def test_builtin_corpus_is_deterministic_and_sized():
    a, b = builtin_corpus(500, seed=3), builtin_corpus(500, seed=3)
    assert a == b and a != builtin_corpus(500, seed=4)
    big = builtin_corpus(6000)
    assert 250 <= len(Vocab.build([s.tokens for s in big])) <= 600
    assert all(4 <= len(s.tokens) <= 25 for s in big)
    for name, values in ATTRIBUTES.items():
        counts = Counter(s.attrs[name] for s in big)
        assert set(counts) == set(values)
        assert min(counts.values()) > 0.6 * len(big) / len(values), f"{name} unbalanced"


def test_builtin_attributes_are_recoverable_from_the_words():
    corpus = builtin_corpus(3000)
    for name in ("topic", "sentiment", "tense"):
        # Words that occur with one value only identify it: most sentences must hold one.
        seen: dict = {}
        for s in corpus:
            for w in s.tokens:
                seen.setdefault(w, set()).add(s.attrs[name])
        telling = {w for w, vals in seen.items() if len(vals) == 1}
        share = np.mean([any(w in telling for w in s.tokens) for s in corpus])
        assert share > 0.95, f"{name}: only {share:.0%} of sentences reveal it"
    long = [len(s.tokens) for s in corpus if s.attrs["length"] == "long"]
    short = [len(s.tokens) for s in corpus if s.attrs["length"] == "short"]
    assert min(long) > max(short) - 3 and np.mean(long) > np.mean(short) + 5


def test_encoding_truncates_drops_and_reports():
    vocab = Vocab.build([["a", "b", "c"]])
    sents = [["a", "b", "c", "a"], ["zz", "yy"], [], ["b"]]
    enc = encode_sentences(sents, vocab, max_len=3, overflow="truncate")
    assert enc.truncated == 1 and enc.dropped_unknown == 1 and enc.dropped_empty == 1
    np.testing.assert_array_equal(enc.kept, [0, 3])
    assert len(enc.ids[0]) == 3 and "every word unknown" in str(enc)
    dropped = encode_sentences(sents, vocab, max_len=3, overflow="drop")
    assert dropped.dropped_long == 1 and list(dropped.kept) == [3]
    with pytest.raises(ValueError, match="no usable sentence"):
        encode_sentences([["zz"]], vocab, max_len=3)


def _encoded(n=237, seed=0):
    corpus = builtin_corpus(n, seed=seed)
    vocab = Vocab.build([s.tokens for s in corpus])
    return encode_sentences([s.tokens for s in corpus], vocab, max_len=40)


def test_batches_cover_every_sentence_once_with_matching_masks():
    enc = _encoded()
    seen = []
    for b in iterate_batches(enc, 16, rng=np.random.default_rng(0)):
        assert b.tokens.shape == b.mask.shape and b.tokens.shape[0] <= 16
        np.testing.assert_array_equal(b.mask.sum(1), b.lengths)
        assert np.all(b.tokens[~b.mask] == PAD) and np.all(b.tokens[b.mask] != PAD)
        for row, i in enumerate(b.index):
            np.testing.assert_array_equal(b.tokens[row, : b.lengths[row]], enc.ids[i])
        seen += list(b.index)
    assert sorted(seen) == list(range(len(enc.ids)))


def test_bucketing_reduces_padding_and_order_is_reproducible():
    enc = _encoded(600)

    def padding(**kw):
        return sum((~b.mask).sum() for b in iterate_batches(enc, 16, **kw))

    assert padding(rng=np.random.default_rng(0)) < 0.5 * padding(
        rng=np.random.default_rng(0), bucket=False
    )
    order = lambda s: [list(b.index) for b in iterate_batches(enc, 16, np.random.default_rng(s))]
    assert order(1) == order(1) and order(1) != order(2)
    fixed = [list(b.index) for b in iterate_batches(enc, 16, shuffle=False)]
    assert fixed == [list(b.index) for b in iterate_batches(enc, 16, shuffle=False)]


def test_train_valid_split():
    tr, va = train_valid_split(100, 0.1, seed=0)
    assert len(va) == 10 and len(tr) == 90 and not set(tr) & set(va)
    assert np.array_equal(va, train_valid_split(100, 0.1, seed=0)[1])


@pytest.mark.skipif(not PTB_VALID.exists(), reason=f"PTB data not found at {PTB_VALID}")
def test_real_ptb_validation_file_loads():
    sents = read_sentences(PTB_VALID)
    assert len(sents) == 3370
    vocab = Vocab.build(sents)
    assert 5000 < len(vocab) <= 10004
    enc = encode_sentences(sents, vocab, max_len=40, overflow="drop")
    assert enc.dropped_long > 0 and len(enc.ids) > 3000
