"""A small dialogue-act classifier, to measure act control: multinomial naive Bayes over the
unigrams and bigrams of a turn, add-one smoothing, trained on the training turns."""

from __future__ import annotations

import math
from collections import Counter


def features(tokens: list) -> list:
    return list(tokens) + [f"{a} {b}" for a, b in zip(tokens, tokens[1:])]


class ActClassifier:
    """``fit(turns, acts)``, then ``predict(tokens)`` -> the likeliest act id."""

    def fit(self, turns, acts, num_acts: int = 4) -> ActClassifier:
        self.num_acts = num_acts
        self.counts = [Counter() for _ in range(num_acts)]
        prior = Counter(acts)
        for tokens, act in zip(turns, acts):
            self.counts[act].update(features(tokens))
        self.vocab = set().union(*self.counts)
        total = sum(prior.values())
        self.log_prior = [math.log((prior[a] + 1) / (total + num_acts)) for a in range(num_acts)]
        self.totals = [sum(c.values()) + len(self.vocab) for c in self.counts]
        return self

    def predict(self, tokens) -> int:
        scores = []
        for a in range(self.num_acts):
            s = self.log_prior[a]
            for f in features(tokens):
                if f in self.vocab:  # unseen features say nothing about any act
                    s += math.log((self.counts[a][f] + 1) / self.totals[a])
            scores.append(s)
        return max(range(self.num_acts), key=scores.__getitem__)

    def accuracy(self, turns, acts) -> float:
        return sum(self.predict(t) == a for t, a in zip(turns, acts)) / max(len(acts), 1)
