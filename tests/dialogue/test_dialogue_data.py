"""Reading DailyDialog: the DialogWAE preprocessing, the pairs of whole-dialogue batches, and
bad input named by file, line and value."""

import numpy as np
import pytest
from dialogue_files import write_folder

from minivae.data import CorpusError, Vocab
from minivae.dialogue.data import (
    dialogue_batch,
    encode_dialogues,
    read_dialogues,
    split_paths,
    tokenize,
)
from minivae.dialogue.run_config import DialogueTrainConfig

SHARED = DialogueTrainConfig().data


def test_tokenize_is_nltks_word_punct_lowercased():
    from nltk.tokenize import WordPunctTokenizer

    text = "Don't you like it?! It’s 3.50 dollars -- O.K. , Mr. Smith"
    assert tokenize(text) == WordPunctTokenizer().tokenize(text.lower())
    assert tokenize("Don't!") == ["don", "'", "t", "!"]


def test_reads_dialogues_and_acts(tmp_path):
    folder = write_folder(tmp_path / "dd")
    dialogues = read_dialogues(*split_paths(folder, "train"))
    assert len(dialogues) == 12
    first = dialogues[0]
    assert first.turns[0] == ["hello", ",", "how", "are", "you", "?"]
    assert first.acts == [1, 0, 0]  # file labels 1-4 -> 0-3


def test_a_batch_holds_every_pair_of_whole_dialogues_with_a_window_of_turns():
    d1 = [np.array([5, 6]), np.array([7]), np.array([8, 9, 10]), np.array([11])]
    d2 = [np.array([12]), np.array([13, 14])]
    batch = dialogue_batch([d1, d2], [[0, 1, 2, 3], [1, 0]], max_context=2)
    assert batch.utterances.shape == (6, 3)  # each utterance once
    assert list(batch.responses) == [1, 2, 3, 5]
    assert list(batch.context_lengths) == [1, 2, 2, 1]
    assert batch.context[2].tolist() == [1, 2]  # the 2 turns before turn 3 of d1
    assert batch.speakers[2].tolist() == [1, 0]  # turn 1 said by the responder of turn 3
    assert list(batch.acts) == [1, 2, 3, 0]
    assert batch.tokens[1].tolist() == [8, 9, 10] and list(batch.lengths) == [1, 3, 1, 2]


def test_utterances_are_cut_and_one_turn_dialogues_left_out(tmp_path):
    long = " ".join(["word"] * 50)
    folder = write_folder(
        tmp_path / "dd",
        train=[(f"{long} __eou__ hi . __eou__", "1 1"), ("alone . __eou__", "1")],
        copies=1,
    )
    dialogues = read_dialogues(*split_paths(folder, "train"))
    vocab = Vocab.build([t for d in dialogues for t in d.turns])
    corpus = encode_dialogues(dialogues, vocab, max_words=38, max_context=9)
    assert len(corpus.ids) == 1 and len(corpus.ids[0][0]) == 38
    assert corpus.truncated == 1 and corpus.dropped_short == 1 and corpus.num_pairs == 1


@pytest.mark.parametrize(
    "dialogue, acts, message",
    [
        ("a . __eou__ b . __eou__\n", "1 2 3\n", "line 1: 3 act labels for a dialogue of 2"),
        ("a . __eou__ b . __eou__\n", "1 7\n", "line 1: act label '7' is out of range"),
        ("a . __eou__ b . __eou__\n", "1 x\n", "act label 'x'"),
        ("a . __eou__  __eou__ b . __eou__\n", "1 1 1\n", "line 1: turn 2 is empty"),
        ("a . __eou__ b . __eou__\nc . __eou__\n", "1 1\n", "has 1 lines"),
    ],
)
def test_bad_input_names_file_line_and_value(tmp_path, dialogue, acts, message):
    (tmp_path / "d.txt").write_text(dialogue)
    (tmp_path / "a.txt").write_text(acts)
    with pytest.raises(CorpusError, match=message) as e:
        read_dialogues(tmp_path / "d.txt", tmp_path / "a.txt")
    assert "d.txt" in str(e.value) or "a.txt" in str(e.value)


@pytest.mark.skipif(SHARED is None, reason="the shared DailyDialog folder is not here")
def test_the_official_test_split_gives_dialogwaes_6740_pairs():
    dialogues = read_dialogues(*split_paths(SHARED, "test"))
    vocab = Vocab.build([["x"]])
    assert encode_dialogues(dialogues, vocab, 40, 9).num_pairs == 6740
