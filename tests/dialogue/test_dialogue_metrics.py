"""The response metrics: BLEU is NLTK's on the same tokens, recall/precision as defined, the
distinct-n variants."""

import pytest

from minivae.dialogue.metrics import END, distinct, response_scores, sentence_bleu, words_of


def test_bleu_is_nltks_sentence_bleu_with_method7():
    from nltk.translate import bleu_score
    from nltk.translate.bleu_score import SmoothingFunction

    ref = "i would like a cup of tea , please .".split()
    for hyp in ["i would like tea .", "a cup of coffee , please", "no", "i would like a cup"]:
        want = bleu_score.sentence_bleu(
            [ref],
            hyp.split(),
            weights=(1 / 3,) * 3,
            smoothing_function=SmoothingFunction().method7,
        )
        assert sentence_bleu(ref, hyp.split()) == pytest.approx(want, abs=1e-12)
    assert sentence_bleu(ref, []) == 0.0


def test_recall_is_the_best_sample_precision_the_mean():
    ref = "how much is it ?".split()
    hyps = [ref, "no".split()]
    m = response_scores([hyps], [ref])
    b = [sentence_bleu(ref, h) for h in hyps]
    assert m["bleu_recall"] == pytest.approx(max(b)) and max(b) > 0.9
    assert m["bleu_precision"] == pytest.approx(sum(b) / 2)
    p, r = m["bleu_precision"], m["bleu_recall"]
    assert m["bleu_f1"] == pytest.approx(2 * p * r / (p + r))


def test_distinct_within_among_and_over_the_corpus():
    same = [["a", "b", "a"], ["a", "b", "a"]]
    assert distinct([same[0]], 1) == pytest.approx(2 / 3)
    m = response_scores([same], [["a"]])
    assert m["intra_dist1"] == pytest.approx(2 / 3)
    assert m["inter_dist1"] == pytest.approx(2 / 6)  # the two samples repeat each other
    assert m["inter_dist2"] == pytest.approx(2 / 4)
    other = response_scores([[["x", "y"], ["z", "w"]]], [["a"]])
    assert other["inter_dist1"] == 1.0 and other["dist2"] == 1.0


def test_the_end_token_is_scored_as_dialogwae_scores_it():
    """DialogWAE's indexes2sent keeps </s> on the reference and on a response that ended, so
    BLEU sees it (". </s>" matches); distinct-n and bleu_words_* see the words alone."""
    ref = "see you .".split() + [END]
    hyp = "ok .".split() + [END]
    m = response_scores([[hyp]], [ref])
    assert m["bleu_recall"] == pytest.approx(sentence_bleu(ref, hyp))
    assert m["bleu_words_recall"] == pytest.approx(sentence_bleu(ref[:-1], hyp[:-1]))
    assert m["bleu_recall"] > m["bleu_words_recall"]  # the shared ". </s>"
    assert m["intra_dist1"] == 1.0 and m["dist1"] == 1.0  # "ok ." : 2 of 2, no </s>
    assert words_of(hyp) == ["ok", "."] and words_of(["a"]) == ["a"]


def test_a_response_cut_by_the_decoding_limit_gets_no_end_token():
    from minivae.data.vocab import Vocab
    from minivae.dialogue.tasks import scored_samples, scored_text

    vocab = Vocab.build([["a", "b"]])
    a, b = vocab.encode(["a", "b"])
    assert scored_text(vocab, [a, b]) == ["a", "b", END]
    assert scored_samples(vocab, [[a], [a, b, a]], max_len=3) == [["a", END], ["a", "b", "a"]]


def test_the_cut_keeps_dialogwaes_38_words():
    from minivae.dialogue.run_config import DialogueTrainConfig

    assert DialogueTrainConfig(data="x").max_words == 38
    with pytest.raises(ValueError, match="max_len"):
        DialogueTrainConfig(data="x", max_len=2)


# Computed with NLTK 3.3's own bleu_score.py (pip install nltk==3.3; its sentence_bleu with
# SmoothingFunction().method7, weights 1/3): the version DialogWAE's code ran with.
NLTK33 = {
    "i would like tea . </s>": 0.2756329013140225,
    "a cup of coffee , please </s>": 0.3107964923854562,
    "no . </s>": 0.033770222797887293,
    "what ? </s>": 0.02168787330934033,
    "i would like a cup": 0.34754425974795566,
}


def test_the_old_smoothing_gives_what_nltk_3_3_gave():
    ref = "i would like a cup of tea , please . </s>".split()
    for hyp, want in NLTK33.items():
        assert sentence_bleu(ref, hyp.split(), "nltk35") == pytest.approx(want, rel=1e-12)
        # NLTK >= 3.6 gives a response that misses n-grams less: never more than 3.5 did
        assert sentence_bleu(ref, hyp.split()) <= want + 1e-12
    assert sentence_bleu(ref, ["</s>"], "nltk35") == 0.0  # ln 1 = 0: the old code raised
    m = response_scores([[h.split() for h in NLTK33]], [ref])
    assert m["bleu_nltk35_recall"] == pytest.approx(max(NLTK33.values()))
