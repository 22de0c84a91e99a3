"""Sentences from a conditional VAE: z from the prior network p(z|c), then the plain VAE's
decoding (greedy, sampling, beam) of u = [z; c].

Several samples of z for one condition give several different sentences for it: that is what
the latent variable is for when a condition has more than one good answer.
"""

from __future__ import annotations

import numpy as np

from minivae.backend import get_array_module
from minivae.conditional.config import CVAEConfig
from minivae.conditional.data import Condition
from minivae.conditional.model import condition_forward, prior_forward, recognition_forward
from minivae.generation import decode


def encode_conditions(condition: Condition, texts, max_len: int = 30, lowercase=False):
    """Conditions typed as text -> (src, src_lengths) of a batch (lengths None for labels)."""
    from minivae.data import UNK, pad_batch, tokenize

    encoded = []
    for text in texts:
        words = tokenize(text, lowercase=lowercase)
        if not words:
            raise ValueError(f"the condition {text!r} is empty")
        ids = condition.encode(words, max_len)
        if condition.kind == "sequence" and np.all(ids == UNK):
            raise ValueError(f"every word of {text!r} is unknown to the model's source vocabulary")
        encoded.append(ids)
    if condition.kind == "label":
        return np.array(encoded, dtype=np.int64), None
    batch = pad_batch(encoded, np.arange(len(encoded)))
    return batch.tokens, batch.lengths


def sample_prior_z(params, config: CVAEConfig, c, num: int, rng, use_mean: bool = False):
    """``num`` draws of z ~ p(z|c) per condition.  c: (M, C)  ->  z (M*num, Z), c (M*num, C)

    use_mean: the prior mean instead of draws (one most-typical sentence per condition).
    """
    xp = get_array_module(c)
    c = xp.repeat(c, num, axis=0)
    pmu, plv, _ = prior_forward(params, c)
    if use_mean:
        return pmu, c
    eps = xp.asarray(rng.standard_normal(pmu.shape), dtype=pmu.dtype)
    return pmu + xp.exp(0.5 * plv) * eps, c


def generate(
    params,
    config: CVAEConfig,
    src,
    src_lengths=None,
    num: int = 5,
    method: str = "greedy",
    rng=None,
    use_mean: bool = False,
    **decode_args,
) -> list[list[list[int]]]:
    """``num`` sentences (token ids) for each condition of a batch, z from the prior network.

    -> one list of ``num`` id lists per condition. ``decode_args``: max_len, temperature,
    top_k, beam_size, as ``minivae.generation.decode`` takes them.
    """
    rng = rng if rng is not None else np.random.default_rng()
    c, _ = condition_forward(params, config, src, src_lengths)
    z, c = sample_prior_z(params, config, c, num, rng, use_mean)
    xp = get_array_module(c)
    u = xp.concatenate([z, c], axis=1)
    flat = decode(params, config.decoder_config, u, method=method, rng=rng, **decode_args)
    return [flat[i * num : (i + 1) * num] for i in range(len(flat) // num)]


def reconstruct(params, config: CVAEConfig, batch, method: str = "greedy", **decode_args):
    """Decode each pair's posterior mean E_q(z|x,c)[z] with its condition.  -> id lists"""
    xp = get_array_module(params["out_W"])
    tokens, lengths = xp.asarray(batch.tokens), xp.asarray(batch.lengths)
    mask = xp.arange(tokens.shape[1])[None, :] < lengths[:, None]
    c, _ = condition_forward(params, config, batch.src, batch.src_lengths)
    mu, _, _ = recognition_forward(params, config, tokens, mask, c)
    u = xp.concatenate([mu, c], axis=1)
    return decode(params, config.decoder_config, u, method=method, **decode_args)
