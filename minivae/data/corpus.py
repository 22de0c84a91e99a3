"""The built-in corpus: English-like sentences generated with known latent attributes.

Every sentence has a topic, a sentiment, a tense and a length class that can be read off
its words, so a tutorial can colour the latent space by what the model should discover.
Deterministic for a seed; no download.
"""

from __future__ import annotations

import random
from typing import NamedTuple


class Sentence(NamedTuple):
    tokens: list
    attrs: dict


ATTRIBUTES = {
    "topic": ("food", "weather", "sports", "music"),
    "sentiment": ("positive", "negative"),
    "tense": ("present", "past"),
    "length": ("short", "long"),
}

# Per topic: who acts, verbs as (present, past), things acted on, and adjectives for each
# sentiment. Words are mostly unique to a topic so the topic is recoverable from the text.
TOPICS = {
    "food": {
        "subjects": [
            "the chef",
            "my mother",
            "the baker",
            "our neighbor",
            "the cook",
            "a waiter",
            "the young chef",
            "my uncle",
        ],
        "verbs": [
            ("cooks", "cooked"),
            ("bakes", "baked"),
            ("serves", "served"),
            ("prepares", "prepared"),
            ("tastes", "tasted"),
            ("orders", "ordered"),
        ],
        "objects": [
            "soup",
            "bread",
            "pasta",
            "salad",
            "pizza",
            "cake",
            "curry",
            "stew",
            "pie",
            "noodles",
            "rice",
            "sandwich",
            "dinner",
            "breakfast",
        ],
        "positive": ["delicious", "fresh", "tasty", "warm", "savory", "perfect", "homemade"],
        "negative": ["bland", "burnt", "cold", "stale", "greasy", "salty", "soggy"],
        "places": [
            "in the kitchen",
            "at the restaurant",
            "at the cafe",
            "for lunch",
            "at the market",
        ],
        "reactions_pos": [("enjoy", "enjoyed"), ("devour", "devoured")],
        "reactions_neg": [("refuse", "refused"), ("waste", "wasted")],
        "audience": ["the guests", "the children", "the customers", "the family"],
    },
    "weather": {
        "subjects": [
            "the morning",
            "the forecast",
            "the sky",
            "the afternoon",
            "the wind",
            "the season",
            "the storm",
            "the night",
        ],
        "verbs": [
            ("brings", "brought"),
            ("promises", "promised"),
            ("shows", "showed"),
            ("delivers", "delivered"),
            ("carries", "carried"),
            ("offers", "offered"),
        ],
        "objects": [
            "rain",
            "sunshine",
            "snow",
            "clouds",
            "fog",
            "thunder",
            "breeze",
            "frost",
            "showers",
            "heat",
            "hail",
            "drizzle",
        ],
        "positive": ["gentle", "bright", "pleasant", "mild", "clear", "lovely", "calm"],
        "negative": ["harsh", "gloomy", "freezing", "heavy", "bitter", "dreadful", "endless"],
        "places": [
            "over the hills",
            "across the valley",
            "along the coast",
            "in the city",
            "over the lake",
        ],
        "reactions_pos": [("welcome", "welcomed"), ("admire", "admired")],
        "reactions_neg": [("curse", "cursed"), ("dread", "dreaded")],
        "audience": ["the farmers", "the sailors", "the hikers", "the villagers"],
    },
    "sports": {
        "subjects": [
            "the team",
            "the striker",
            "the coach",
            "our captain",
            "the goalkeeper",
            "the runner",
            "the champion",
            "the referee",
        ],
        "verbs": [
            ("wins", "won"),
            ("plays", "played"),
            ("loses", "lost"),
            ("leads", "led"),
            ("finishes", "finished"),
            ("starts", "started"),
        ],
        "objects": [
            "match",
            "game",
            "race",
            "final",
            "tournament",
            "season",
            "league",
            "championship",
            "derby",
            "marathon",
            "relay",
            "cup",
        ],
        "positive": [
            "thrilling",
            "brilliant",
            "historic",
            "glorious",
            "impressive",
            "great",
            "stunning",
        ],
        "negative": [
            "dull",
            "disappointing",
            "sloppy",
            "painful",
            "embarrassing",
            "awful",
            "messy",
        ],
        "places": ["at the stadium", "on the field", "in the arena", "on the track", "at the park"],
        "reactions_pos": [("cheer", "cheered"), ("celebrate", "celebrated")],
        "reactions_neg": [("boo", "booed"), ("mock", "mocked")],
        "audience": ["the fans", "the crowd", "the supporters", "the reporters"],
    },
    "music": {
        "subjects": [
            "the band",
            "the singer",
            "the pianist",
            "the orchestra",
            "the drummer",
            "the choir",
            "the guitarist",
            "the composer",
        ],
        "verbs": [
            ("performs", "performed"),
            ("records", "recorded"),
            ("writes", "wrote"),
            ("sings", "sang"),
            ("rehearses", "rehearsed"),
            ("releases", "released"),
        ],
        "objects": [
            "song",
            "album",
            "concert",
            "melody",
            "ballad",
            "symphony",
            "anthem",
            "tune",
            "chorus",
            "solo",
            "record",
            "opera",
        ],
        "positive": ["beautiful", "catchy", "moving", "soulful", "elegant", "wonderful", "joyful"],
        "negative": ["noisy", "boring", "awkward", "tuneless", "clumsy", "terrible", "shrill"],
        "places": [
            "on the stage",
            "in the studio",
            "at the festival",
            "in the hall",
            "on the radio",
        ],
        "reactions_pos": [("applaud", "applauded"), ("adore", "adored")],
        "reactions_neg": [("ignore", "ignored"), ("criticize", "criticized")],
        "audience": ["the listeners", "the critics", "the audience", "the students"],
    },
}

ADVERBS = {
    "positive": ["happily", "warmly", "gladly", "eagerly"],
    "negative": ["sadly", "angrily", "reluctantly", "bitterly"],
}
INTENSIFIERS = ["very", "really", "quite", "truly", "rather"]
TIME_WORDS = {
    "present": ["today", "tonight", "this week", "again", "every day"],
    "past": ["yesterday", "last night", "last week", "once", "two days ago"],
}


def _determiner(rng: random.Random) -> str:
    return rng.choice(["a", "the", "one", "another", "that"])


def _clause(rng, words, sentiment, tense) -> list[str]:
    """subject verb det [intensifier] adjective object"""
    k = 0 if tense == "present" else 1
    adjective = rng.choice(words[sentiment])
    np_ = [_determiner(rng)]
    if rng.random() < 0.3:
        np_.append(rng.choice(INTENSIFIERS))
    np_ += [adjective, rng.choice(words["objects"])]
    if np_[0] == "a" and np_[1][0] in "aeiou":
        np_[0] = "an"
    return [*rng.choice(words["subjects"]).split(), rng.choice(words["verbs"])[k], *np_]


def _long_tail(rng, words, sentiment, tense) -> list[str]:
    """Extra clauses that keep the sentence's attributes: place, time, a reaction."""
    k = 0 if tense == "present" else 1
    reaction = rng.choice(words["reactions_pos" if sentiment == "positive" else "reactions_neg"])
    verb = reaction[k] if tense == "past" else reaction[0]
    tail = rng.choice(words["places"]).split() + rng.choice(TIME_WORDS[tense]).split()
    audience = rng.choice(words["audience"]).split()
    connector = rng.choice(["and", "so", "and then"]).split()
    adverb = [rng.choice(ADVERBS[sentiment])] if rng.random() < 0.5 else []
    return tail + connector + audience + adverb + [verb, "it"]


def builtin_corpus(n: int = 6000, seed: int = 0) -> list[Sentence]:
    """``n`` sentences with balanced random attributes, the same for the same seed."""
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        attrs = {name: rng.choice(values) for name, values in ATTRIBUTES.items()}
        words = TOPICS[attrs["topic"]]
        tokens = _clause(rng, words, attrs["sentiment"], attrs["tense"])
        if attrs["length"] == "long":
            tokens += _long_tail(rng, words, attrs["sentiment"], attrs["tense"])
        elif rng.random() < 0.5:
            tokens += rng.choice(TIME_WORDS[attrs["tense"]]).split()
        out.append(Sentence(tokens, attrs))
    return out
