"""The hierarchical VAE's parameters: the plain VAE's (with latent z1), plus the q(z2 | x)
heads on the same encoder state and the prior network p(z1 | z2).

    encoder     embed / enc_embed, enc_Wx, enc_Wh, enc_b*                (the plain VAE's)
    q(z1|x)     mu_W, logvar_W (H, Z1), mu_b, logvar_b (Z1,)              (the plain VAE's)
    q(z2|x)     z2_mu_W, z2_logvar_W (H, Z2), z2_mu_b, z2_logvar_b (Z2,)
    p(z1|z2)    prior_W (Z2, P), prior_b (P,), prior_mu_W, prior_logvar_W (P, Z1), *_b (Z1,)
    p(x|z1)     z_to_h_W (Z1, H), dec_Wx (E + Z1, gH), ..., out_W, out_b   (the plain VAE's)
"""

from __future__ import annotations

import numpy as np

from minivae.blocks.latent import prior_net_shapes
from minivae.blocks.params import init_from_shapes, param_shapes
from minivae.hierarchical.config import HVAEConfig


def hvae_param_shapes(config: HVAEConfig) -> dict[str, tuple]:
    """Name -> shape of every parameter."""
    H, Z1, Z2 = config.hidden_dim, config.latent_dim, config.latent_dim2
    shapes = dict(param_shapes(config.decoder_config))
    shapes.update({"z2_mu_W": (H, Z2), "z2_mu_b": (Z2,)})
    shapes.update({"z2_logvar_W": (H, Z2), "z2_logvar_b": (Z2,)})
    shapes.update(prior_net_shapes(Z2, config.prior_hidden, Z1))
    return shapes


def init_hvae_params(config: HVAEConfig, seed: int = 0, dtype=np.float32, xp=np) -> dict:
    """Xavier-uniform matrices, N(0, 0.1^2) embeddings, zero biases, LSTM forget bias 1."""
    return init_from_shapes(hvae_param_shapes(config), config.cell, ("enc", "dec"), seed, dtype, xp)
