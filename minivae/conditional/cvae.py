"""The conditional VAE behind the model interface (``minivae.interface``).

p(z|c) = N(prior_mu(c), e^prior_logvar(c)),   q(z|x,c),   p(x|z,c): the plain VAE's
decoder reading the code u = [z; c]
"""

from __future__ import annotations

import numpy as np

from minivae import ops
from minivae.backend import get_array_module
from minivae.blocks.inference import DecoderScoring
from minivae.blocks.latent import gaussian_kl, gaussian_sample, prior_forward
from minivae.blocks.sequence import on_device
from minivae.conditional.config import CVAEConfig
from minivae.conditional.model import condition_forward, loss_and_grads, recognition_forward
from minivae.conditional.params import cvae_param_shapes, init_cvae_params
from minivae.interface import Gaussian, LatentSample, Posterior, Step, TextModel


class ConditionalVAE(DecoderScoring, TextModel):
    kind = "cvae"
    config_class = CVAEConfig
    conditional = True

    def param_shapes(self) -> dict:
        return cvae_param_shapes(self.config)

    def init_params(self, seed: int = 0, dtype=np.float32, xp=np) -> dict:
        return init_cvae_params(self.config, seed=seed, dtype=dtype, xp=xp)

    def encoder_param_names(self) -> set:
        """The recognition network q(z|x,c) (the condition's encoder is shared)."""
        return {n for n in self.param_shapes() if n.startswith(("enc_", "mu_", "logvar_"))}

    def decoder_param_names(self) -> set:
        """The decoder p(x|z,c), the prior network p(z|c) and the bag-of-words head."""
        prefixes = ("dec_", "out_", "z_to_h_", "prior_", "bow_")
        return {n for n in self.param_shapes() if n.startswith(prefixes)}

    def loss_and_grads(self, params, batch, step: Step | None = None):
        return loss_and_grads(params, batch, self.config, step)

    def condition_context(self, params, src, src_lengths=None, kernel: str = "auto"):
        """c (M, C) of class ids (M,) or of source ids (M, Ts) with their lengths."""
        return condition_forward(params, self.config, src, src_lengths, kernel)[0]

    def posterior(self, params, batch, kernel: str = "auto") -> Posterior:
        _, tokens, _, mask = on_device(params, batch.tokens, batch.lengths)
        c = self.condition_context(params, batch.src, batch.src_lengths, kernel)
        mu, logvar, _ = recognition_forward(params, self.config, tokens, mask, c, kernel)
        prior_mu, prior_logvar, _ = prior_forward(params, c)
        return Posterior(
            {"z": Gaussian(mu, logvar)}, {"z": prior_mu}, (c, Gaussian(prior_mu, prior_logvar))
        )

    def sample_latent(self, params, posterior: Posterior, rng, samples: int = 1) -> LatentSample:
        xp = get_array_module(params["out_W"])
        c, prior = posterior.context
        z, mu, logvar = gaussian_sample(*posterior.layers["z"], rng, samples)
        c, prior_mu, prior_logvar = (xp.tile(a, (samples, 1)) for a in (c, *prior))
        return LatentSample(
            xp.concatenate([z, c], axis=1),
            ops.log_normal(z, mu, logvar),
            ops.log_normal(z, prior_mu, prior_logvar),
            {"z": gaussian_kl(mu, logvar, prior_mu, prior_logvar)},
        )

    def mean_code(self, params, posterior: Posterior):
        xp = get_array_module(params["out_W"])
        return xp.concatenate([posterior.layers["z"].mu, posterior.context[0]], axis=1)

    def prior_code(self, params, num: int, rng, context=None, use_mean: bool = False):
        """``num`` draws of z ~ p(z|c) for each condition row of ``context`` (c, (M, C))
        -> codes [z; c] (M * num, Z + C), condition-major."""
        if context is None:
            raise ValueError("the conditional VAE samples for a condition: give one")
        xp = get_array_module(context)
        c = xp.repeat(context, num, axis=0)
        prior_mu, prior_logvar, _ = prior_forward(params, c)
        z = prior_mu if use_mean else gaussian_sample(prior_mu, prior_logvar, rng)[0]
        return xp.concatenate([z, c], axis=1)
