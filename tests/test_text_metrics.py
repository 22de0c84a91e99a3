"""ROUGE on sentences whose scores can be counted by hand."""

import pytest

from minivae.text_metrics import rouge


def test_identical_sentences_score_100_and_disjoint_ones_0():
    same = ["the cat sat on the mat", "a <unk> , he said ."]
    assert rouge(same, same) == pytest.approx({"rouge1": 100, "rouge2": 100, "rougeL": 100})
    disjoint = rouge(["the cat sat"], ["a dog ran away"])
    assert disjoint == {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}


def test_a_partial_overlap_counted_by_hand():
    # unigrams: the x2, cat, on, mat match: 5 of 6 each way -> F 5/6.
    # bigrams: "the cat", "on the", "the mat": 3 of 5 each way -> F 3/5.
    # longest common subsequence: "the cat on the mat", 5 of 6 -> F 5/6.
    got = rouge(["the cat sat on the mat"], ["the cat is on the mat"])
    assert got == pytest.approx({"rouge1": 500 / 6, "rouge2": 60.0, "rougeL": 500 / 6})
    # P = 1, R = 2/3 for unigrams -> F = 0.8; bigrams 1 of 1 vs 1 of 2 -> F = 2/3.
    short = rouge(["the cat"], ["the cat sat"])
    assert short == pytest.approx({"rouge1": 80.0, "rouge2": 200 / 3, "rougeL": 80.0})


def test_the_corpus_score_is_the_mean_of_the_sentence_scores():
    got = rouge(["the cat sat on the mat", "a b"], ["the cat is on the mat", "c d"])
    assert got == pytest.approx({"rouge1": 250 / 6, "rouge2": 30.0, "rougeL": 250 / 6})


def test_several_references_the_best_one_counts_for_each_type():
    refs = [["a dog ran", "the cat is on the mat", "the cat sat"]]
    # rouge1 and rougeL: "the cat sat" (P 3/6, R 1 -> F 2/3) loses to 5/6; rouge2: 2 of 5
    # bigrams vs 2 of 2 -> F 4/7, also below 3/5.
    got = rouge(["the cat sat on the mat"], refs)
    assert got == pytest.approx({"rouge1": 500 / 6, "rouge2": 60.0, "rougeL": 500 / 6})
    # A plain string is one reference.
    assert rouge(["x y"], ["x y"]) == rouge(["x y"], [["x y"]])


def test_tokens_are_the_space_separated_words_compared_exactly():
    # rouge-score's default tokenizer lowercases, maps <unk> to "unk", drops punctuation and
    # cuts non-ASCII words up; each of these pairs would then score 100.
    from rouge_score.rouge_scorer import RougeScorer

    default = RougeScorer(["rouge1"])
    for hyp, ref, ours in [
        ("a <unk> .", "a unk ,", 100 / 3),  # "a" of 3 each way
        ("Männer laden", "m nner laden", 40.0),  # P 1/2, R 1/3
        ("The man", "the man", 50.0),
    ]:
        assert default.score(ref, hyp)["rouge1"].fmeasure == 1.0  # what we must not do
        assert rouge([hyp], [ref])["rouge1"] == pytest.approx(ours)
    assert rouge(["<unk> ran ."], ["<unk> ran ."])["rouge2"] == 100.0


def test_an_empty_hypothesis_scores_0():
    assert rouge([""], ["the cat"]) == {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}


@pytest.mark.parametrize(
    "hyps, refs, error, message",
    [
        (["a", "b"], ["a"], ValueError, "2 hypotheses but 1 references"),
        ([], [], ValueError, "no hypotheses"),
        (["a"], [[]], ValueError, "hypothesis 0 has no reference"),
        (["a", ["b"]], ["a", "b"], TypeError, "hypothesis 1 must be a string"),
        (["a"], [[["a"]]], TypeError, "references of hypothesis 0 must be strings"),
        ("a b", ["a b"], TypeError, "not a string"),
    ],
)
def test_bad_input_is_a_clear_error(hyps, refs, error, message):
    with pytest.raises(error, match=message):
        rouge(hyps, refs)
