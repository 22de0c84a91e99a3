"""The plain text VAE behind the model interface (``minivae.interface``).

p(z) = N(0, I),   q(z|x) = N(mu(x), e^logvar(x)),   p(x|z): the LSTM/GRU decoder
"""

from __future__ import annotations

import numpy as np

from minivae import ops
from minivae.backend import get_array_module
from minivae.blocks import inference
from minivae.blocks.latent import gaussian_kl, gaussian_sample
from minivae.blocks.params import init_params, param_shapes
from minivae.interface import Gaussian, LatentSample, Posterior, Step, TextModel
from minivae.model.config import ModelConfig
from minivae.model.vae import loss_and_grads


class TextVAE(TextModel):
    kind = "vae"
    config_class = ModelConfig

    def param_shapes(self) -> dict:
        return param_shapes(self.config)

    def init_params(self, seed: int = 0, dtype=np.float32, xp=np) -> dict:
        return init_params(self.config, seed=seed, dtype=dtype, xp=xp)

    def encoder_param_names(self) -> set:
        return {n for n in self.param_shapes() if n.startswith(("enc_", "mu_", "logvar_"))}

    def decoder_param_names(self) -> set:
        return {n for n in self.param_shapes() if n.startswith(("dec_", "out_", "z_to_h_"))}

    def loss_and_grads(self, params, batch, step: Step | None = None):
        return loss_and_grads(params, batch, self.config, step)

    def posterior(self, params, batch, kernel: str = "auto") -> Posterior:
        mu, logvar = inference.posterior(params, self.config, batch.tokens, batch.lengths, kernel)
        return Posterior({"z": Gaussian(mu, logvar)}, {"z": None})

    def sample_latent(self, params, posterior: Posterior, rng, samples: int = 1) -> LatentSample:
        z, mu, logvar = gaussian_sample(*posterior.layers["z"], rng, samples)
        log_q = ops.log_normal(z, mu, logvar)
        return LatentSample(z, log_q, ops.log_normal(z), {"z": gaussian_kl(mu, logvar)})

    @property
    def scoring_width(self) -> int:
        return inference.scoring_width(self.config)

    def log_likelihood(self, params, batch, code, kernel: str = "auto"):
        return inference.log_px_given_z(
            params, self.config, batch.tokens, batch.lengths, code, kernel
        )

    def mean_code(self, params, posterior: Posterior):
        return posterior.layers["z"].mu

    def prior_code(self, params, num: int, rng, context=None, use_mean: bool = False):
        xp = get_array_module(params["out_W"])
        shape = (num, self.config.latent_dim)
        dtype = params["out_W"].dtype
        if use_mean:
            return xp.zeros(shape, dtype=dtype)
        return xp.asarray(rng.standard_normal(shape), dtype=dtype)

    def decoder_start(self, params, code, kernel: str = "auto") -> tuple:
        return inference.decoder_start(params, self.config, code)

    def decoder_step(self, params, state: tuple, prev_tokens, kernel: str = "auto"):
        return inference.decoder_step(params, self.config, state, prev_tokens, kernel)
