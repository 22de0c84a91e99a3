"""The response metrics of the dialogue papers (Zhao et al. 2017; Gu et al. 2019, DialogWAE),
computed as the public DialogWAE code does, over ``k`` sampled responses per context:

- BLEU of each response against the reference: NLTK's ``sentence_bleu``, weights 1/3 over 1-
  to 3-grams, ``SmoothingFunction().method7``; per context recall = the best of the k,
  precision = their mean; both averaged over contexts; F1 = 2PR / (P + R). The tokens end
  with ``END`` ("</s>") where the sentence ended, as DialogWAE scores them (its
  ``helper.indexes2sent`` appends the end token before it stops, on both the reference and
  the samples); ``bleu_words_*`` is the same BLEU on the words alone, without ``END``;
  ``bleu_nltk35_*`` the same tokens with the smoothing of NLTK 3.2-3.5, which the papers
  of 2017-2020 computed their figures with (``method7_nltk35``);
- intra-distinct-n: distinct n-grams / n-grams within each response, averaged over the
  responses of a context, then over contexts;
- inter-distinct-n: distinct n-grams / n-grams among the k responses of a context, averaged
  over contexts (DialogWAE's tables report intra and inter distinct-1/2);
- corpus distinct-n: distinct n-grams / n-grams over every response of the set (Li et al.
  2016's distinct-n, as other papers report it). Distinct-n counts words only (DialogWAE's
  ``div_distinct`` stops before the end token).
"""

from __future__ import annotations

import math

import numpy as np

END = "</s>"  # the end token DialogWAE's BLEU sees (an n-gram like ". </s>" can match)


def words_of(tokens: list) -> list:
    """The words of scored tokens: without a final ``END``."""
    return tokens[:-1] if tokens and tokens[-1] == END else tokens


def method7_nltk35(p_n, references, hypothesis, hyp_len=None, *args, **kwargs):
    """NLTK 3.2-3.5's smoothing method 7, the one DialogWAE's BLEU ran with (its code dates
    from 2018; NLTK changed method 4 in 3.6, 2021): method 4 as those versions wrote it, a
    zero count of order i (from 0) becoming 1 / (i + k / ln(hyp_len)) with k = 5
    (``incvnt = i + 1 * self.k / math.log(hyp_len)``), then NLTK's method 5. NLTK 3.6 and
    later give a zero count 1 / (2^j k / ln(hyp_len)) over the n-gram count instead: far
    less credit to a short response that misses the reference's bigrams. A one-token
    response with a zero count divides by ln 1 = 0, as the old code did."""
    from nltk.translate.bleu_score import SmoothingFunction

    smooth = SmoothingFunction()
    for i, p_i in enumerate(p_n):
        if p_i.numerator == 0 and hyp_len != 0:
            p_n[i] = 1 / (i + smooth.k / math.log(hyp_len))
    return smooth.method5(p_n, references, hypothesis, hyp_len)


def sentence_bleu(reference: list, hypothesis: list, smoothing: str = "nltk") -> float:
    """NLTK's sentence BLEU of one tokenized response (1/3 over 1-3-grams, method 7); 0 for
    an empty response, and where NLTK raises, as DialogWAE's code gives (``except:``).
    smoothing: "nltk" (the installed NLTK's method 7) or "nltk35" (``method7_nltk35``)."""
    from nltk.translate.bleu_score import SmoothingFunction
    from nltk.translate.bleu_score import sentence_bleu as nltk_sentence_bleu

    if not hypothesis or not reference:
        return 0.0
    method = SmoothingFunction().method7 if smoothing == "nltk" else method7_nltk35
    try:
        bleu = nltk_sentence_bleu(
            [reference], hypothesis, weights=(1 / 3, 1 / 3, 1 / 3), smoothing_function=method
        )
    except (ZeroDivisionError, ValueError):
        return 0.0
    return float(bleu)


def ngrams(tokens: list, n: int) -> list:
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def distinct(sentences: list, n: int) -> float:
    """Distinct n-grams / n-grams over token lists (0 when there is no n-gram)."""
    grams = [g for s in sentences for g in ngrams(s, n)]
    return len(set(grams)) / len(grams) if grams else 0.0


def bleu_scores(samples: list, references: list, prefix: str = "bleu", smoothing="nltk") -> dict:
    """BLEU recall (the best of each context's k), precision (their mean), both averaged
    over contexts, and F1 = 2PR / (P + R). -> {prefix_recall, prefix_precision, prefix_f1}"""
    recall, precision = [], []
    for hyps, ref in zip(samples, references):
        bleu = [sentence_bleu(ref, h, smoothing) for h in hyps]
        recall.append(max(bleu))
        precision.append(float(np.mean(bleu)))
    r, p = float(np.mean(recall)), float(np.mean(precision))
    return {
        f"{prefix}_recall": r,
        f"{prefix}_precision": p,
        f"{prefix}_f1": 2 * p * r / (p + r) if p + r > 0 else 0.0,
    }


def response_scores(samples: list, references: list) -> dict:
    """samples: per context a list of k token lists; references: per context a token list
    (each ending with ``END`` where the sentence ended, as DialogWAE scores them).
    -> bleu_recall/precision/f1, bleu_words_recall/precision/f1,
    bleu_nltk35_recall/precision/f1 (``method7_nltk35``), intra_dist1/2,
    inter_dist1/2, dist1/2"""
    words = [[words_of(h) for h in hyps] for hyps in samples]
    intra = {1: [], 2: []}
    inter = {1: [], 2: []}
    for hyps in words:
        for n in (1, 2):
            intra[n].append(float(np.mean([distinct([h], n) for h in hyps])))
            inter[n].append(distinct(hyps, n))
    flat = [h for hyps in words for h in hyps]
    return {
        **bleu_scores(samples, references),
        **bleu_scores(words, [words_of(r) for r in references], "bleu_words"),
        **bleu_scores(samples, references, "bleu_nltk35", smoothing="nltk35"),
        "intra_dist1": float(np.mean(intra[1])),
        "intra_dist2": float(np.mean(intra[2])),
        "inter_dist1": float(np.mean(inter[1])),
        "inter_dist2": float(np.mean(inter[2])),
        "dist1": distinct(flat, 1),
        "dist2": distinct(flat, 2),
    }
