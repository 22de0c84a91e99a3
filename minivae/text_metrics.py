"""ROUGE (Lin 2004) of generated sentences against references, by Google's ``rouge-score``.

    ROUGE-n: P = matched n-grams / hypothesis n-grams,  R = matched / reference n-grams
    ROUGE-L: the same with the longest common subsequence in place of matched n-grams
    F = 2 P R / (P + R);   reported: the corpus mean of sentence F, times 100

BLEU asks how much of the hypothesis is in the reference (precision, with a brevity
penalty); ROUGE's F also asks how much of the reference the hypothesis recovers, which
suits reconstructions. With several references, each hypothesis takes its best one, for
each ROUGE type separately (``RougeScorer.score_multi``).

Tokens are the words between spaces, compared exactly. rouge-score's default tokenizer
would lowercase, turn every character outside a-z0-9 into a space and drop what is left
empty: ``<unk>`` would match the word "unk", punctuation tokens (", . 's") would vanish,
and non-ASCII words would be cut up ("Männer" -> "m nner"). Our text is already
tokenized, so the split is ours.
"""

from __future__ import annotations

import functools

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")


class WhitespaceTokenizer:
    """The tokenizer ``rouge_score`` calls: split on whitespace, change nothing."""

    def tokenize(self, text: str) -> list[str]:
        return text.split()


@functools.lru_cache(maxsize=1)
def _scorer():
    from rouge_score.rouge_scorer import RougeScorer  # imported on first use: pulls in nltk

    return RougeScorer(list(ROUGE_TYPES), tokenizer=WhitespaceTokenizer())


def _reference_list(i: int, refs) -> list[str]:
    """References of hypothesis i: one string, or a non-empty list of strings."""
    refs = [refs] if isinstance(refs, str) else list(refs)
    if not refs:
        raise ValueError(f"rouge: hypothesis {i} has no reference")
    for r in refs:
        if not isinstance(r, str):
            raise TypeError(f"rouge: references of hypothesis {i} must be strings, got {r!r}")
    return refs


def rouge(hypotheses: list[str], references: list) -> dict[str, float]:
    """Corpus ROUGE-1, ROUGE-2 and ROUGE-L F-measures (0-100) of space-tokenized sentences.

    hypotheses: one string per sentence; references: for each, a string or a list of strings
    (multi-reference: the best-scoring one counts) -> {"rouge1": .., "rouge2": .., "rougeL": ..}
    """
    if isinstance(hypotheses, str) or isinstance(references, str):
        raise TypeError("rouge takes a list of hypotheses and a list of references, not a string")
    hypotheses, references = list(hypotheses), list(references)
    if len(hypotheses) != len(references):
        raise ValueError(
            f"rouge: {len(hypotheses)} hypotheses but {len(references)} references; "
            "give one reference (or list of references) per hypothesis"
        )
    if not hypotheses:
        raise ValueError("rouge: no hypotheses")
    totals = dict.fromkeys(ROUGE_TYPES, 0.0)
    for i, (hyp, refs) in enumerate(zip(hypotheses, references)):
        if not isinstance(hyp, str):
            raise TypeError(f"rouge: hypothesis {i} must be a string, got {hyp!r}")
        scores = _scorer().score_multi(_reference_list(i, refs), hyp)
        for t in ROUGE_TYPES:
            totals[t] += scores[t].fmeasure
    return {t: 100.0 * total / len(hypotheses) for t, total in totals.items()}
