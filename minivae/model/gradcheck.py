"""Gradient check of the whole model's loss against every parameter (float64)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from minivae.gradcheck import DEFAULT_TOL, check_params
from minivae.model.config import ModelConfig
from minivae.model.params import init_params
from minivae.model.vae import loss_and_grads


def tiny_batch(vocab_size: int, seed: int = 0, N: int = 3, T: int = 5):
    """A random padded batch with sentences of different lengths (one full, one short)."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, T + 1, size=N)
    lengths[0], lengths[-1] = T, 1
    tokens = rng.integers(4, vocab_size, size=(N, T))
    tokens[np.arange(T)[None, :] >= lengths[:, None]] = 0
    return SimpleNamespace(tokens=tokens, lengths=lengths)


def check_model(
    config: ModelConfig,
    seed: int = 0,
    beta: float = 0.7,
    free_bits: float = 0.0,
    max_entries: int | None = None,
    tol: float = DEFAULT_TOL,
    label: str = "model",
    h: float = 3e-3,
    kernel: str = "auto",
):
    """Check d loss / d param for every parameter; return ``CheckRow``s.

    Noise eps is fixed and word dropout is off, so the loss is a deterministic function
    of the parameters. Parameters larger than ``max_entries`` are checked along random
    directions instead of entry by entry.
    """
    params = init_params(config, seed=seed, dtype=np.float64)
    rng = np.random.default_rng(seed + 1)
    for p in params.values():  # nonzero biases, so their gradients are exercised
        p += 0.1 * rng.standard_normal(p.shape)
    batch = tiny_batch(config.vocab_size, seed)
    eps = rng.standard_normal((batch.tokens.shape[0], config.latent_dim))

    def run():
        return loss_and_grads(
            params, batch, config, beta=beta, eps=eps, free_bits=free_bits, kernel=kernel
        )

    return check_params(run, params, label, tol=tol, h=h, max_entries=max_entries, seed=seed)
