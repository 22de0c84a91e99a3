"""Paired data for the conditional VAE: three built-in tasks, generated deterministically
(no download), or any ``source<TAB>target`` file. ``minivae.data`` encodes and batches them.

- label:     class name (e.g. ``food positive``) -> a sentence of the built-in corpus with
             those attributes: attribute-conditioned generation.
- translate: an English-like sentence -> its translation into a small rule-based language,
             so BLEU against the one right answer is meaningful.
- dialogue:  a question about a topic -> one of 3-5 valid answers, drawn at random: the
             latent variable has real diversity to capture.
"""

from __future__ import annotations

import random
from collections import defaultdict

from minivae.data import builtin_corpus, read_pairs
from minivae.data.corpus import INTENSIFIERS, TIME_WORDS, TOPICS

DEFAULT_SIZES = {"label": 4000, "translate": 3000, "dialogue": 3000}

# -- translation: English -> a toy language ---------------------------------------------------

DETERMINERS = ("a", "an", "the", "one", "another", "that", "my", "our")
CONSONANTS = "bdfgklmnprstvz"
VOWELS = "aeiou"
PAST_SUFFIX = "ri"  # past tense: stem + "ri"


def _english_words() -> list[str]:
    """Every word the built-in corpus's short sentences use, sorted."""
    words = set(DETERMINERS) | set(INTENSIFIERS)
    for w in TOPICS.values():
        for key in ("subjects", "objects", "positive", "negative"):
            for phrase in w[key]:
                words.update(phrase.split())
        words.update(present for present, _ in w["verbs"])
    for phrases in TIME_WORDS.values():
        for phrase in phrases:
            words.update(phrase.split())
    return sorted(words)


def toy_lexicon(seed: int = 0) -> dict[str, str]:
    """English word -> an invented word of 2-3 consonant-vowel syllables, all distinct."""
    rng = random.Random(seed)
    lexicon, used = {}, set()
    for word in _english_words():
        while True:
            n = 1 if word in DETERMINERS else rng.choice((2, 2, 3))
            new = "".join(rng.choice(CONSONANTS) + rng.choice(VOWELS) for _ in range(n))
            if new not in used and not new.endswith(PAST_SUFFIX):
                break
        used.add(new)
        lexicon[word] = new
    lexicon["an"] = lexicon["a"]  # one word where English spells it two ways
    return lexicon


def _word_classes():
    adjectives, nouns, verbs = set(INTENSIFIERS), set(), {}
    for w in TOPICS.values():
        adjectives.update(w["positive"] + w["negative"])
        nouns.update(w["objects"])
        for phrase in w["subjects"]:
            nouns.add(phrase.split()[-1])
            adjectives.update(phrase.split()[1:-1])  # "the young chef"
        for present, past in w["verbs"]:
            verbs[present] = (present, False)
            verbs[past] = (present, True)
    return adjectives, nouns, verbs


ADJECTIVES, NOUNS, VERBS = _word_classes()


def _noun_phrase(words, lexicon) -> list[str]:
    """det [modifiers] noun -> det' noun' modifiers': adjectives follow the noun."""
    det = [lexicon[w] for w in words if w in DETERMINERS]
    noun = [lexicon[w] for w in words if w in NOUNS]
    mods = [lexicon[w] for w in words if w not in DETERMINERS and w not in NOUNS]
    return det + noun + mods


def translate(tokens: list[str], lexicon: dict[str, str]) -> list[str]:
    """Subject Verb Object [Time] -> Subject' Object' [Time'] Verb' (verb-final), adjectives
    after their noun, words through the lexicon, the past tense as the suffix ``-ri``.

    ``the chef cooked a very tasty soup yesterday`` -> ``lo keva na pusi dobe moga tibari``
    """
    v = next(i for i, w in enumerate(tokens) if w in VERBS)
    noun_at = next(i for i in range(v + 1, len(tokens)) if tokens[i] in NOUNS)
    lemma, past = VERBS[tokens[v]]
    verb = lexicon[lemma] + (PAST_SUFFIX if past else "")
    subject = _noun_phrase(tokens[:v], lexicon)
    obj = _noun_phrase(tokens[v + 1 : noun_at + 1], lexicon)
    time = [lexicon[w] for w in tokens[noun_at + 1 :]]
    return subject + obj + time + [verb]


def translation_pairs(n: int, seed: int = 0) -> list[tuple[list[str], list[str]]]:
    """``n`` (English, toy language) pairs from the built-in corpus's short sentences."""
    lexicon = toy_lexicon()
    corpus = builtin_corpus(4 * n, seed)
    short = [s.tokens for s in corpus if s.attrs["length"] == "short"][:n]
    return [(s, translate(s, lexicon)) for s in short]


# -- attribute-conditioned generation ---------------------------------------------------------


def label_pairs(n: int, seed: int = 0, attrs=("topic", "sentiment")):
    """``n`` (class name as tokens, sentence) pairs; the class joins the sentence's attributes."""
    return [([s.attrs[a] for a in attrs], s.tokens) for s in builtin_corpus(n, seed)]


# -- dialogue ---------------------------------------------------------------------------------

QUESTIONS = ("how was the {o} ?", "what did you think of the {o} ?", "did you like the {o} ?")
ANSWERS = (
    "it was {p} .",
    "the {o} was really {p} .",
    "i loved it , so {p} .",
    "{a} {rp} it .",
    "honestly it was {n} .",
    "the {o} was {n} and {n2} .",
    "not for me , too {n} .",
    "{a} {rn} it .",
    "i did not see the {o} .",
    "it was {p} but a bit {n} .",
)


def dialogue_references(seed: int = 0) -> dict[tuple, list[tuple]]:
    """Every context (a question about one thing of one topic) -> its 3-5 valid answers.

    The answers mix praise, complaint and neither, so one context has several good replies.
    """
    rng = random.Random(seed)
    out = {}
    for topic in sorted(TOPICS):
        w = TOPICS[topic]
        for obj in w["objects"]:
            for question in QUESTIONS:
                context = tuple(question.format(o=obj).split())
                templates = rng.sample(ANSWERS, rng.randint(3, 5))
                answers = []
                for t in templates:
                    neg = rng.sample(w["negative"], 2)
                    text = t.format(
                        o=obj,
                        p=rng.choice(w["positive"]),
                        n=neg[0],
                        n2=neg[1],
                        a=rng.choice(w["audience"]),
                        rp=rng.choice(w["reactions_pos"])[1],
                        rn=rng.choice(w["reactions_neg"])[1],
                    )
                    answers.append(tuple(text.split()))
                out[context] = answers
    return out


def dialogue_pairs(n: int, seed: int = 0) -> list[tuple[list[str], list[str]]]:
    """``n`` (context, response) pairs: a random context, one of its answers at random."""
    refs = dialogue_references()
    contexts = sorted(refs)
    rng = random.Random(seed)
    pairs = []
    for _ in range(n):
        context = rng.choice(contexts)
        pairs.append((list(context), list(rng.choice(refs[context]))))
    return pairs


def builtin_pairs(task: str, n: int = 0, seed: int = 0, label_attrs=("topic", "sentiment")):
    """The built-in pairs of a task (``n`` = 0: the task's default size)."""
    n = n or DEFAULT_SIZES[task]
    if task == "label":
        return label_pairs(n, seed, label_attrs)
    if task == "translate":
        return translation_pairs(n, seed)
    if task == "dialogue":
        return dialogue_pairs(n, seed)
    raise ValueError(f"task must be one of {tuple(DEFAULT_SIZES)}, got {task!r}")


def references_by_source(pairs) -> dict[tuple, list[tuple]]:
    """Every distinct source -> its distinct targets, in first-seen order (multi-reference)."""
    refs = defaultdict(list)
    for src, tgt in pairs:
        if tuple(tgt) not in refs[tuple(src)]:
            refs[tuple(src)].append(tuple(tgt))
    return dict(refs)


def load_pairs(task: str, pairs_file=None, num_pairs=0, seed=0, label_attrs="topic,sentiment"):
    """-> (pairs, a description): a user file (its first ``num_pairs``; 0: all) or the task's
    built-in data."""
    if pairs_file is not None:
        return read_pairs(pairs_file)[: num_pairs or None], str(pairs_file)
    attrs = tuple(a.strip() for a in label_attrs.split(",") if a.strip())
    pairs = builtin_pairs(task, num_pairs, seed, attrs)
    return pairs, f"built-in {task} pairs"
