"""The translation model behind the model interface (``minivae.interface``).

The condition context of a source batch is what the decoder reads of it, computed once:
(summary (M, K), keys (M, S, K), keys_proj (M, S, A), mask (M, S)). A code is
(z, *context), a decoder state (h, c, z, *context): tuples of arrays with one row per
sentence, so sampling and the shared beam search (which reorders rows) need nothing else.
With latent_dim 0, z is an empty (N, 0) array and every KL is 0.
"""

from __future__ import annotations

import numpy as np

from minivae import ops
from minivae.backend import get_array_module
from minivae.blocks.latent import gaussian_kl, gaussian_sample, prior_forward
from minivae.blocks.sequence import decoder_io, on_device
from minivae.interface import Gaussian, LatentSample, Posterior, Step, TextModel
from minivae.translation import decoder
from minivae.translation.config import NMTConfig
from minivae.translation.model import (
    embed_forward,
    loss_and_grads,
    recognition_forward,
    source_forward,
)
from minivae.translation.params import init_nmt_params, nmt_param_shapes


class TranslationVAE(TextModel):
    kind = "nmt"
    config_class = NMTConfig
    conditional = True

    def describe(self) -> str:
        c = self.config
        return (
            f"E={c.embed_dim}, bidirectional encoder 2x{c.enc_hidden_dim}, decoder "
            f"H={c.hidden_dim}, attention {c.attention}"
            + (f" (A={c.attention_dim})" if c.attention == "additive" else "")
            + f", output {c.out_dim}, z={c.latent_dim}"
            + (f", key dropout {c.key_dropout:g}" if c.key_dropout else "")
        )

    def param_shapes(self) -> dict:
        return nmt_param_shapes(self.config)

    def init_params(self, seed: int = 0, dtype=np.float32, xp=np) -> dict:
        return init_nmt_params(self.config, seed=seed, dtype=dtype, xp=xp)

    def encoder_param_names(self) -> set:
        """The recognition network q(z|x,y); the source encoder and the word embeddings
        (which q's LSTM reads too) are shared."""
        return {n for n in self.param_shapes() if n.startswith(("enc_", "mu_", "logvar_"))}

    def decoder_param_names(self) -> set:
        """The decoder p(y|z,x) with its attention, the prior network p(z|x) and the
        bag-of-words head."""
        prefixes = ("att_", "init_", "dec_", "hid_", "out_", "prior_", "bow_")
        return {n for n in self.param_shapes() if n.startswith(prefixes)}

    def loss_and_grads(self, params, batch, step: Step | None = None):
        return loss_and_grads(params, batch, self.config, step)

    def condition_context(self, params, src, src_lengths=None, kernel: str = "auto"):
        """(summary, keys, keys_proj, mask) of source ids (M, S) with their lengths (M,)."""
        inference = Step(training=False, kernel=kernel)
        return source_forward(params, self.config, src, src_lengths, inference)[0]

    @staticmethod
    def _no_z(params, rows: int):
        """Without a latent variable: z, an empty (rows, 0), and zeros (rows,) for its
        log-densities and KL."""
        xp, dtype = get_array_module(params["out_W"]), params["out_W"].dtype
        return xp.zeros((rows, 0), dtype=dtype), xp.zeros(rows, dtype=dtype)

    def posterior(self, params, batch, kernel: str = "auto") -> Posterior:
        context = self.condition_context(params, batch.src, batch.src_lengths, kernel)
        summary = context[0]
        if not self.config.latent:
            empty, _ = self._no_z(params, summary.shape[0])
            prior = Gaussian(empty, empty)
            return Posterior({"z": prior}, {"z": empty}, (context, prior))
        _, tokens, _, mask = on_device(params, batch.tokens, batch.lengths)
        mu, logvar, _ = recognition_forward(params, tokens, mask, summary, kernel)
        prior_mu, prior_logvar, _ = prior_forward(params, summary)
        return Posterior(
            {"z": Gaussian(mu, logvar)},
            {"z": prior_mu},
            (context, Gaussian(prior_mu, prior_logvar)),
        )

    def sample_latent(self, params, posterior: Posterior, rng, samples: int = 1) -> LatentSample:
        xp = get_array_module(params["out_W"])
        context, prior = posterior.context
        rows = samples * context[0].shape[0]
        repeated = tuple(xp.concatenate([a] * samples) for a in context)  # row k*N + n
        if not self.config.latent:
            empty, zeros = self._no_z(params, rows)
            return LatentSample((empty, *repeated), zeros, zeros, {"z": zeros})
        z, mu, logvar = gaussian_sample(*posterior.layers["z"], rng, samples)
        prior_mu, prior_logvar = (xp.tile(a, (samples, 1)) for a in prior)
        return LatentSample(
            (z, *repeated),
            ops.log_normal(z, mu, logvar),
            ops.log_normal(z, prior_mu, prior_logvar),
            {"z": gaussian_kl(mu, logvar, prior_mu, prior_logvar)},
        )

    def decode_teacher_forced(self, params, batch, code, kernel: str = "auto"):
        """The decoder over a batch's targets (no dropout); ``code`` may hold K * N rows.
        -> logits (K*N, T+1, V), targets, mask (K*N, T+1), weights (K*N, T+1, S) or None"""
        xp, tokens, lengths, _ = on_device(params, batch.tokens, batch.lengths)
        repeats = code[0].shape[0] // tokens.shape[0]
        if repeats * tokens.shape[0] != code[0].shape[0]:
            raise ValueError(
                f"the code has {code[0].shape[0]} rows, not a multiple of the "
                f"{tokens.shape[0]} sentences"
            )
        if repeats > 1:
            tokens, lengths = xp.tile(tokens, (repeats, 1)), xp.tile(lengths, repeats)
        inputs, targets, mask = decoder_io(tokens, lengths)
        emb, _ = embed_forward(params, inputs, 0.0, None, False, kernel)
        z, *context = code
        inference = Step(training=False, kernel=kernel)
        logits, weights, _ = decoder.decoder_forward(
            params, self.config.attention, emb, z, context, inference
        )
        return logits, targets, mask, weights

    def log_likelihood(self, params, batch, code, kernel: str = "auto"):
        logits, targets, mask, _ = self.decode_teacher_forced(params, batch, code, kernel)
        cpu_kernel = "array" if kernel == "array" else "auto"
        return (ops.target_log_probs(logits, targets, cpu_kernel) * mask).sum(axis=1)

    def mean_code(self, params, posterior: Posterior):
        return (posterior.layers["z"].mu, *posterior.context[0])

    def prior_code(self, params, num: int, rng, context=None, use_mean: bool = False):
        """``num`` draws of z ~ p(z|x) for each source row of ``context`` -> codes
        (z, *context) with M * num rows, source-major."""
        if context is None:
            raise ValueError("the translation model samples for a source sentence: give one")
        xp = get_array_module(context[0])
        rows = xp.repeat(xp.arange(context[0].shape[0]), num)
        context = tuple(a[rows] for a in context)
        if not self.config.latent:
            return (self._no_z(params, rows.shape[0])[0], *context)
        prior_mu, prior_logvar, _ = prior_forward(params, context[0])
        z = prior_mu if use_mean else gaussian_sample(prior_mu, prior_logvar, rng)[0]
        return (z, *context)

    def decoder_start(self, params, code, kernel: str = "auto") -> tuple:
        return decoder.decoder_start(params, code)

    def decoder_step(self, params, state: tuple, prev_tokens, kernel: str = "auto"):
        log_probs, _, state = decoder.decoder_step(
            params, self.config.attention, state, prev_tokens, kernel
        )
        return log_probs, state
