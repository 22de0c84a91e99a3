"""The hierarchical VAE behind the model interface (``minivae.interface``).

p(z2) = N(0, I),   p(z1|z2) = N(prior_mu(z2), e^prior_logvar(z2)),   p(x|z1): the plain
VAE's decoder;   q(z1|x) q(z2|x) from one encoder (``minivae.hierarchical.model``).

The code the decoder reads is z1. Its layers, in the order they are reported: z1, z2.
"""

from __future__ import annotations

import numpy as np

from minivae import ops
from minivae.backend import get_array_module
from minivae.blocks.inference import DecoderScoring
from minivae.blocks.latent import gaussian_kl, gaussian_sample, prior_forward
from minivae.blocks.sequence import on_device
from minivae.hierarchical.config import HVAEConfig
from minivae.hierarchical.model import encode_forward, loss_and_grads
from minivae.hierarchical.params import hvae_param_shapes, init_hvae_params
from minivae.interface import Gaussian, LatentSample, Posterior, Step, TextModel


class HierarchicalVAE(DecoderScoring, TextModel):
    kind = "hvae"
    config_class = HVAEConfig

    @property
    def latent_sizes(self) -> dict:
        return {"z1": self.config.latent_dim, "z2": self.config.latent_dim2}

    def param_shapes(self) -> dict:
        return hvae_param_shapes(self.config)

    def init_params(self, seed: int = 0, dtype=np.float32, xp=np) -> dict:
        return init_hvae_params(self.config, seed=seed, dtype=dtype, xp=xp)

    def encoder_param_names(self) -> set:
        """Both layers' q: the encoder RNN and the heads of q(z1|x) and q(z2|x)."""
        prefixes = ("enc_", "mu_", "logvar_", "z2_mu_", "z2_logvar_")
        return {n for n in self.param_shapes() if n.startswith(prefixes)}

    def decoder_param_names(self) -> set:
        """The generative side: the decoder p(x|z1) and the prior network p(z1|z2)."""
        prefixes = ("dec_", "out_", "z_to_h_", "prior_")
        return {n for n in self.param_shapes() if n.startswith(prefixes)}

    def loss_and_grads(self, params, batch, step: Step | None = None):
        return loss_and_grads(params, batch, self.config, step)

    def posterior(self, params, batch, kernel: str = "auto") -> Posterior:
        """Both layers' q. Active units are Burda et al.'s (2016) for both layers: the
        variance over x of E_q[z1] and of E_q[z2] (no prior mean is taken off). The gap
        measure the reports used before, the variance of E_q[z1] minus p(z1|z2)'s mean at
        z2 = E_q[z2] (z1 active where it varies more than the prior predicts), is kept
        under its own name: ``active_units_gap_z1``."""
        _, tokens, _, mask = on_device(params, batch.tokens, batch.lengths)
        q, _ = encode_forward(params, self.config, tokens, mask, Step(kernel=kernel))
        layers = {name: Gaussian(*q[name]) for name in self.latent_sizes}
        prior_mu_at_mean = prior_forward(params, layers["z2"].mu)[0]
        return Posterior(layers, {"z1": None, "z2": None}, gap_means={"z1": prior_mu_at_mean})

    def sample_latent(self, params, posterior: Posterior, rng, samples: int = 1) -> LatentSample:
        """z2 ~ q(z2|x), z1 ~ q(z1|x):  log q = log q(z1|x) + log q(z2|x),
        log p = log p(z1|z2) + log N(z2; 0, I), KL of z2 analytic, of z1 analytic given z2."""
        (mu1, lv1), (mu2, lv2) = posterior.layers["z1"], posterior.layers["z2"]
        # Both layers' noise side by side, one row per draw and sentence: k draws at a time
        # read the same numbers as all at once (the evaluation scores draws in chunks).
        Z1 = mu1.shape[1]
        eps = rng.standard_normal((samples * mu1.shape[0], Z1 + mu2.shape[1]))
        z1, mu1, lv1 = gaussian_sample(mu1, lv1, None, samples, eps[:, :Z1])
        z2, mu2, lv2 = gaussian_sample(mu2, lv2, None, samples, eps[:, Z1:])
        prior_mu, prior_logvar, _ = prior_forward(params, z2)
        return LatentSample(
            z1,
            ops.log_normal(z1, mu1, lv1) + ops.log_normal(z2, mu2, lv2),
            ops.log_normal(z1, prior_mu, prior_logvar) + ops.log_normal(z2),
            {"z1": gaussian_kl(mu1, lv1, prior_mu, prior_logvar), "z2": gaussian_kl(mu2, lv2)},
        )

    def mean_code(self, params, posterior: Posterior):
        return posterior.layers["z1"].mu

    def layer_code(self, params, layer: str, points):
        """z1 points are codes; a z2 point decodes through the prior's mean of z1 given it."""
        self.check_layer(layer)
        return points if layer == "z1" else prior_forward(params, points)[0]

    def prior_code(self, params, num: int, rng, context=None, use_mean: bool = False):
        """From the top: z2 ~ N(0, I), z1 ~ p(z1|z2)  ->  z1 (num, Z1). use_mean: z2 = 0 and
        z1 = p(z1|z2=0)'s mean."""
        xp = get_array_module(params["out_W"])
        shape, dtype = (num, self.config.latent_dim2), params["out_W"].dtype
        z2 = xp.zeros(shape, dtype=dtype)
        if not use_mean:
            z2 = xp.asarray(rng.standard_normal(shape), dtype=dtype)
        prior_mu, prior_logvar, _ = prior_forward(params, z2)
        return prior_mu if use_mean else gaussian_sample(prior_mu, prior_logvar, rng)[0]
