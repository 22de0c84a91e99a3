"""The conditional VAE's parameters: the plain VAE's, plus the condition's encoder, the
recognition heads on [h_x; c], the prior network and the bag-of-words head.

    condition   label:    label_embed (K, C)
                sequence: src_embed (Vs, E), src_Wx, src_Wh, src_b*  (C = H)
    x encoder   embed / enc_embed, enc_Wx, enc_Wh, enc_b*             (the plain VAE's)
    q(z|x,c)    mu_W, logvar_W (H + C, Z), mu_b, logvar_b (Z,)
    p(z|c)      prior_W (C, P), prior_b (P,), prior_mu_W, prior_logvar_W (P, Z), *_b (Z,)
    p(x|z,c)    z_to_h_W (Z + C, H), dec_Wx (E + Z + C, gH), ..., out_W, out_b  (the plain VAE's)
    bag of words  bow_W (Z + C, V), bow_b (V,)
"""

from __future__ import annotations

import numpy as np

from minivae.blocks.latent import prior_net_shapes
from minivae.blocks.params import init_from_shapes, param_shapes, rnn_bias_shapes
from minivae.conditional.config import CVAEConfig


def cvae_param_shapes(config: CVAEConfig) -> dict[str, tuple]:
    """Name -> shape of every parameter."""
    E, H, Z, P = config.embed_dim, config.hidden_dim, config.latent_dim, config.prior_dim
    C = config.c_dim
    gates = 4 if config.cell == "lstm" else 3
    shapes = {}
    if config.condition == "label":
        shapes["label_embed"] = (config.num_classes, C)
    else:
        shapes["src_embed"] = (config.src_vocab_size, E)
        shapes.update({"src_Wx": (E, gates * H), "src_Wh": (H, gates * H)})
        shapes.update(rnn_bias_shapes("src", config.cell, H))
    # The plain VAE with latent size Z + C gives the x encoder and the decoder reading [z; c];
    # its mu/logvar heads (H -> Z + C) are replaced by heads on [h_x; c] -> Z.
    plain = param_shapes(config.decoder_config)
    for name, shape in plain.items():
        if name.startswith(("mu_", "logvar_")):
            continue
        shapes[name] = shape
    shapes.update({"mu_W": (H + C, Z), "mu_b": (Z,), "logvar_W": (H + C, Z), "logvar_b": (Z,)})
    shapes.update(prior_net_shapes(C, P, Z))
    if config.bow:
        shapes.update({"bow_W": (Z + C, config.vocab_size), "bow_b": (config.vocab_size,)})
    return shapes


def init_cvae_params(config: CVAEConfig, seed: int = 0, dtype=np.float32, xp=np) -> dict:
    """Xavier-uniform matrices, N(0, 0.1^2) embeddings, zero biases, LSTM forget bias 1."""
    prefixes = ("enc", "dec") if config.condition == "label" else ("src", "enc", "dec")
    return init_from_shapes(cvae_param_shapes(config), config.cell, prefixes, seed, dtype, xp)
