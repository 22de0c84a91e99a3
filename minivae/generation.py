"""Turning latent codes into sentences, for every model (through ``minivae.interface``):
greedy, temperature, top-k and beam search; and paths through the latent space (linear and
spherical interpolation)."""

from __future__ import annotations

import numpy as np

from minivae.backend import get_array_module, to_numpy
from minivae.data.vocab import BOS, EOS
from minivae.interface import TextModel, num_rows, take_rows

METHODS = ("greedy", "sample", "beam")

MIN_TEMPERATURE = 1e-3  # below it, sampling is greedy decoding (and logits / T overflow)


def decode(
    model: TextModel,
    params,
    code,
    method: str = "greedy",
    max_len: int = 30,
    temperature: float = 1.0,
    top_k: int = 0,
    beam_size: int = 5,
    rng=None,
    kernel: str = "auto",
):
    """Generate one sentence per code (a row of z for the VAE)  ->  list of lists of token ids

    greedy: the most likely word each step; sample: draw from softmax(logits / temperature),
    keeping only the top_k words when top_k > 0; beam: beam search of width beam_size.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if max_len < 1:
        raise ValueError(f"max_len must be at least 1, got {max_len}")
    if method == "beam":
        if beam_size < 1:
            raise ValueError(f"beam_size must be at least 1, got {beam_size}")
        return [
            beam_search(
                model, params, take_rows(code, slice(n, n + 1)), beam_size, max_len, kernel=kernel
            )
            for n in range(num_rows(code))
        ]
    if not temperature >= MIN_TEMPERATURE:  # logits / 1e-300 overflow: NaN probabilities
        raise ValueError(
            f"temperature must be at least {MIN_TEMPERATURE:g}, got {temperature:g} (a "
            "temperature near 0 is greedy decoding: use the greedy method)"
        )
    if top_k < 0:
        raise ValueError(f"top_k must be >= 0, got {top_k}")
    if method == "sample" and rng is None:
        rng = np.random.default_rng()
    state = model.decoder_start(params, code, kernel)
    xp = get_array_module(state[0])
    N = num_rows(code)
    tokens = xp.full(N, BOS, dtype=np.int64)
    out = np.zeros((N, max_len), dtype=np.int64)
    for t in range(max_len):
        logp, state = model.decoder_step(params, state, tokens, kernel)
        if method == "greedy":
            tokens = logp.argmax(axis=1)
        else:
            tokens = xp.asarray(_sample(to_numpy(logp) / temperature, top_k, rng))
        out[:, t] = to_numpy(tokens)
        if (out[:, : t + 1] == EOS).any(axis=1).all():
            break
    return [_until_eos(row) for row in out]


def _sample(logits: np.ndarray, top_k: int, rng) -> np.ndarray:
    """One draw per row from softmax(logits), restricted to the top_k largest when top_k > 0."""
    if 0 < top_k < logits.shape[1]:
        kth = np.partition(logits, -top_k, axis=1)[:, -top_k][:, None]
        logits = np.where(logits >= kth, logits, -np.inf)
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    cumulative = p.cumsum(axis=1)
    u = rng.random((logits.shape[0], 1)) * cumulative[:, -1:]
    return np.minimum((cumulative < u).sum(axis=1), logits.shape[1] - 1)


def _until_eos(ids) -> list[int]:
    ids = [int(i) for i in ids]
    return ids[: ids.index(EOS)] if EOS in ids else ids


def beam_search(
    model: TextModel,
    params,
    code,
    beam_size: int = 5,
    max_len: int = 30,
    length_penalty: float = 1.0,
    kernel: str = "auto",
) -> list[int]:
    """The highest-scoring sentence for one code (one row).

    Hypotheses are ranked by log p / length^length_penalty once finished, so long
    sentences are not beaten by short ones merely for having fewer terms.
    """
    state = model.decoder_start(params, code, kernel)
    xp = get_array_module(state[0])
    beams = [([], 0.0)]  # (token ids, summed log prob), alive ones
    finished = []
    tokens = xp.asarray([BOS])
    for _ in range(max_len):
        logp, new_state = model.decoder_step(params, state, tokens, kernel)
        scores = to_numpy(logp) + np.array([s for _, s in beams])[:, None]
        flat = np.argsort(scores, axis=None)[::-1][: 2 * beam_size]
        rows, words = np.unravel_index(flat, scores.shape)
        next_beams, keep = [], []
        for rank, (r, w) in enumerate(zip(rows, words)):
            ids, score = beams[r][0] + [int(w)], float(scores[r, w])
            if w == EOS:
                # An ending counts only if it ranks among the beam_size best continuations.
                if rank < beam_size:
                    finished.append((ids[:-1], score / len(ids) ** length_penalty))
            elif len(next_beams) < beam_size:
                next_beams.append((ids, score))
                keep.append(r)
        if not next_beams or len(finished) >= beam_size:
            break
        state = take_rows(new_state, xp.asarray(keep))
        beams = next_beams
        tokens = xp.asarray([ids[-1] for ids, _ in beams])
    if not finished:
        finished = [(ids, s / max(len(ids), 1) ** length_penalty) for ids, s in beams]
    return max(finished, key=lambda f: f[1])[0]


def posterior_path(
    model: TextModel, params, posterior, layer: str | None = None, steps: int = 5, mode="linear"
):
    """Codes on a path between the first two sentences of a ``Posterior``  ->  ``steps`` codes.

    layer None: between their codes (``model.mean_code``). A layer's name: between their
    posterior means in that latent layer, each point made a code by ``model.layer_code``
    (the hierarchical VAE's z2 moves z1 through the prior network).
    """
    if layer is None:
        mean = model.mean_code(params, posterior)
        return interpolate(mean[0], mean[1], steps=steps, mode=mode)
    model.check_layer(layer)
    mu = posterior.layers[layer].mu
    return model.layer_code(params, layer, interpolate(mu[0], mu[1], steps=steps, mode=mode))


def interpolate(z1, z2, steps: int = 5, mode: str = "linear"):
    """Points from z1 to z2 (both (Z,)), ends included  ->  (steps, Z)

    linear: (1 - t) z1 + t z2.  slerp: along the great circle, which keeps the norm
    typical of Gaussian samples instead of cutting through the low-density middle.
    """
    xp = get_array_module(z1)
    t = xp.linspace(0.0, 1.0, steps)[:, None]
    if mode == "linear":
        return (1 - t) * z1 + t * z2
    if mode != "slerp":
        raise ValueError(f"mode must be 'linear' or 'slerp', got {mode!r}")
    cos = float(xp.dot(z1, z2) / (xp.linalg.norm(z1) * xp.linalg.norm(z2) + 1e-12))
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    if omega < 1e-6:
        return (1 - t) * z1 + t * z2
    return (xp.sin((1 - t) * omega) * z1 + xp.sin(t * omega) * z2) / np.sin(omega)
