"""The model's parameters: one flat dict of named arrays, and how they start."""

from __future__ import annotations

import numpy as np

from minivae.blocks.config import ModelConfig


def param_shapes(config: ModelConfig) -> dict[str, tuple]:
    """Name -> shape of every parameter (V, E, H, Z from the config)."""
    V, E, H, Z = config.vocab_size, config.embed_dim, config.hidden_dim, config.latent_dim
    gates = 4 if config.cell == "lstm" else 3
    shapes = {}
    if config.share_embeddings:
        shapes["embed"] = (V, E)
    else:
        shapes["enc_embed"] = (V, E)
        shapes["dec_embed"] = (V, E)
    shapes.update({"enc_Wx": (E, gates * H), "enc_Wh": (H, gates * H)})
    shapes.update(rnn_bias_shapes("enc", config.cell, H))
    shapes.update({"mu_W": (H, Z), "mu_b": (Z,), "logvar_W": (H, Z), "logvar_b": (Z,)})
    if config.z_init:
        shapes.update({"z_to_h_W": (Z, H), "z_to_h_b": (H,)})
    dec_in = E + config.step_width
    shapes.update({"dec_Wx": (dec_in, gates * H), "dec_Wh": (H, gates * H)})
    shapes.update(rnn_bias_shapes("dec", config.cell, H))
    shapes.update({"out_W": (H, V), "out_b": (V,)})
    return shapes


def rnn_bias_shapes(prefix: str, cell: str, H: int) -> dict[str, tuple]:
    if cell == "lstm":
        return {f"{prefix}_b": (4 * H,)}
    return {f"{prefix}_bx": (3 * H,), f"{prefix}_bh": (3 * H,)}


def init_params(config: ModelConfig, seed: int = 0, dtype=np.float32, xp=np) -> dict:
    """Small random weights: Xavier-uniform matrices, zero biases (LSTM forget bias 1)."""
    return init_from_shapes(param_shapes(config), config.cell, ("enc", "dec"), seed, dtype, xp)


def init_from_shapes(
    shapes: dict, cell: str, rnn_prefixes, seed: int = 0, dtype=np.float32, xp=np
) -> dict:
    """Initialize named parameters of the given shapes, in the order given.

    Embedding tables (names ending in ``embed``) ~ N(0, 0.1^2); other matrices
    Xavier-uniform; vectors zero, except the LSTM forget-gate bias of each RNN in
    ``rnn_prefixes``, which is 1: it keeps the cell state flowing early in training, so
    gradients reach the first words of a sentence (Jozefowicz et al. 2015).
    """
    rng = np.random.default_rng(seed)
    params = {}
    for name, shape in shapes.items():
        if len(shape) == 1:
            value = np.zeros(shape)
        elif name.endswith("embed"):
            value = rng.normal(0.0, 0.1, size=shape)
        else:
            limit = np.sqrt(6.0 / (shape[0] + shape[1]))
            value = rng.uniform(-limit, limit, size=shape)
        params[name] = value
    if cell == "lstm":
        for prefix in rnn_prefixes:
            H = shapes[f"{prefix}_Wh"][0]
            params[f"{prefix}_b"][H : 2 * H] = 1.0
    return {k: xp.asarray(v, dtype=dtype) for k, v in params.items()}


def count_params(params: dict) -> int:
    return int(sum(p.size for p in params.values()))
