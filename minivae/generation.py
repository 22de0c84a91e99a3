"""Turning latent codes into sentences: greedy, temperature, top-k and beam search; and
paths through the latent space (linear and spherical interpolation)."""

from __future__ import annotations

import numpy as np

from minivae.backend import get_array_module, to_numpy
from minivae.model.config import ModelConfig
from minivae.model.inference import decoder_start, decoder_step
from minivae.model.vae import BOS, EOS

METHODS = ("greedy", "sample", "beam")


def decode(
    params,
    config: ModelConfig,
    z,
    method: str = "greedy",
    max_len: int = 30,
    temperature: float = 1.0,
    top_k: int = 0,
    beam_size: int = 5,
    rng=None,
):
    """Generate one sentence per latent code.  z: (N, Z)  ->  list of N lists of token ids

    greedy: the most likely word each step; sample: draw from softmax(logits / temperature),
    keeping only the top_k words when top_k > 0; beam: beam search of width beam_size.
    """
    if method == "beam":
        return [
            beam_search(params, config, z[n : n + 1], beam_size, max_len) for n in range(z.shape[0])
        ]
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    if method == "sample" and rng is None:
        rng = np.random.default_rng()
    xp = get_array_module(z)
    N = z.shape[0]
    state = decoder_start(params, config, z)
    tokens = xp.full(N, BOS, dtype=np.int64)
    out = np.zeros((N, max_len), dtype=np.int64)
    for t in range(max_len):
        logp, state = decoder_step(params, config, state, tokens, z)
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
    params,
    config: ModelConfig,
    z,
    beam_size: int = 5,
    max_len: int = 30,
    length_penalty: float = 1.0,
) -> list[int]:
    """The highest-scoring sentence for one latent code.  z: (1, Z)

    Hypotheses are ranked by log p / length^length_penalty once finished, so long
    sentences are not beaten by short ones merely for having fewer terms.
    """
    xp = get_array_module(z)
    state = decoder_start(params, config, z)
    beams = [([], 0.0)]  # (token ids, summed log prob), alive ones
    finished = []
    tokens = xp.asarray([BOS])
    for _ in range(max_len):
        k = len(beams)
        zk = xp.broadcast_to(z, (k, z.shape[1]))
        logp, new_state = decoder_step(params, config, state, tokens, zk)
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
        keep_idx = xp.asarray(keep)
        state = tuple(s[keep_idx] for s in new_state)
        beams = next_beams
        tokens = xp.asarray([ids[-1] for ids, _ in beams])
    if not finished:
        finished = [(ids, s / max(len(ids), 1) ** length_penalty) for ids, s in beams]
    return max(finished, key=lambda f: f[1])[0]


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
