"""Numbers for a conditional VAE: likelihood terms, BLEU, multi-reference BLEU precision and
recall, distinct-n, and attribute agreement for label-conditioned samples.

BLEU comes from ``sacrebleu`` (Post 2018), the standard implementation whose scores can be
compared across papers: corpus BLEU for translation and reconstruction, smoothed sentence
BLEU (method ``exp``) for the per-sample scores of the dialogue metrics (Zhao et al. 2017):

    precision = mean over samples of  max over references of BLEU(sample, reference)
    recall    = mean over references of max over samples of  BLEU(sample, reference)

Precision asks whether every sample is a good answer; recall, whether every good answer is
among the samples: a model that always says the same good thing has high precision, low recall.
"""

from __future__ import annotations

import functools

import numpy as np


@functools.lru_cache(maxsize=4)
def _bleu(sentence: bool = False, lowercase: bool = False):
    """sacrebleu's BLEU over the words between spaces (``tokenize="none"``, signature
    ``tok:none``): minivae's sentences are already lists of words, as is every corpus it reads.
    sacrebleu's default 13a tokenizer would split them again, e.g. the placeholder ``<unk>``
    into three tokens ``< unk >`` and Moses' ``@-@`` into ``@ - @``, which changes the score
    and the lengths of the brevity penalty (on Multi30k by up to 1.5 BLEU). The same tokens
    are what multi-bleu.perl and torchtext's ``bleu_score`` compare. ``force`` silences
    sacrebleu's warning that the text looks tokenized: it is, on purpose.
    lowercase: compare lower-cased text (signature ``case:lc``)."""
    from sacrebleu.metrics import BLEU

    if sentence:
        return BLEU(effective_order=True, lowercase=lowercase, tokenize="none")
    return BLEU(force=True, lowercase=lowercase, tokenize="none")


def corpus_bleu(hypotheses: list[str], references: list[list[str]], lowercase=False) -> float:
    """Corpus BLEU (0-100) of hypotheses, each with one or more references."""
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} reference lists")
    if not hypotheses:
        raise ValueError("corpus_bleu: no hypotheses")
    k = max(len(r) for r in references)
    streams = [[r[j] if j < len(r) else None for r in references] for j in range(k)]
    return float(_bleu(lowercase=lowercase).corpus_score(hypotheses, streams).score)


def bleu_signature(lowercase: bool = False) -> str:
    """sacrebleu's signature of the settings of the last ``corpus_bleu`` (print it with the
    score: it names the number of references, the case, the tokenizer, the smoothing)."""
    return str(_bleu(lowercase=lowercase).get_signature())


def sentence_bleu(hypothesis: str, references: list[str], lowercase: bool = False) -> float:
    """Smoothed sentence BLEU (0-100) of one hypothesis against its references."""
    bleu = _bleu(sentence=True, lowercase=lowercase)
    return float(bleu.sentence_score(hypothesis, list(references)).score)


def bleu_precision_recall(samples: list[list[str]], references: list[list[str]]) -> dict:
    """Zhao et al. (2017)'s BLEU precision and recall, averaged over contexts.

    samples[i]: the sentences generated for context i; references[i]: its valid responses.
    """
    if len(samples) != len(references) or not samples:
        raise ValueError("need one non-empty list of samples and of references per context")
    precisions, recalls = [], []
    for hyps, refs in zip(samples, references):
        scores = np.array([[sentence_bleu(h, [r]) for r in refs] for h in hyps])  # (S, R)
        precisions.append(scores.max(axis=1).mean())
        recalls.append(scores.max(axis=0).mean())
    return {"bleu_precision": float(np.mean(precisions)), "bleu_recall": float(np.mean(recalls))}


def distinct_n(sentences: list[list[str]], n: int) -> float:
    """Distinct n-grams / all n-grams over the sentences (Li et al. 2016): 1 = no repeats."""
    grams = [tuple(s[i : i + n]) for s in sentences for i in range(len(s) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def attribute_agreement(sentences: list[list[str]], labels: list[str], attrs) -> float | None:
    """Fraction of samples whose words show the attributes of their label (built-in corpus).

    A sentence shows a topic when it uses a word of that topic only, and a sentiment when
    its positive and negative words (built-in word lists) lean that way. None when no
    attribute of the label can be read this way.
    """
    from minivae.data.corpus import ADVERBS, TOPICS

    readable = [a for a in attrs if a in ("topic", "sentiment")]
    if not readable:
        return None
    topic_words = {
        t: {x for k in ("objects", "positive", "negative") for p in w[k] for x in p.split()}
        for t, w in TOPICS.items()
    }
    mood = {s: set(ADVERBS[s]) | {x for w in TOPICS.values() for x in w[s]} for s in ADVERBS}
    hits = 0
    for words, label in zip(sentences, labels):
        values = dict(zip(attrs, label.split()))
        ok = True
        for a in readable:
            if a == "topic":
                seen = {t for t, ws in topic_words.items() if ws & set(words)}
                ok &= seen == {values["topic"]}
            else:
                pos, neg = (sum(w in mood[s] for w in words) for s in ("positive", "negative"))
                ok &= (pos > neg) if values["sentiment"] == "positive" else (neg > pos)
        hits += ok
    return hits / max(len(sentences), 1)
