"""The dialogue model behind the model interface (``minivae.interface``).

A batch is a ``DialogueBatch``: its sentences (tokens, lengths) are the responses, so the
shared metrics score them; everything the model computes per response comes from the
context (the turns before it) and, for q, the response itself. A *code* is [z; c; y]: what
the decoder reads.
"""

from __future__ import annotations

import numpy as np

from minivae import ops
from minivae.backend import get_array_module
from minivae.blocks.inference import DecoderScoring
from minivae.blocks.latent import (
    gaussian_heads_forward,
    gaussian_kl,
    gaussian_sample,
    prior_forward,
)
from minivae.dialogue.config import DialogueConfig
from minivae.dialogue.model import (
    act_logits_forward,
    context_forward,
    encode_pairs,
    loss_and_grads,
    recognition_input,
    utterances_forward,
)
from minivae.dialogue.params import dialogue_param_shapes, init_dialogue_params
from minivae.interface import Gaussian, LatentSample, Posterior, Step, TextModel


def check_dialogue_batch(batch) -> None:
    """A ValueError for a batch of lone sentences (``minivae reconstruct`` on a dialogue run):
    the model reads responses in their dialogues."""
    if getattr(batch, "utterances", None) is None:
        raise ValueError(
            "the dialogue model reads responses with the turns before them, not lone "
            "sentences: use minivae dialog respond / chat / eval"
        )


class DialogueVAE(DecoderScoring, TextModel):
    kind = "dialogue"
    config_class = DialogueConfig

    def describe(self) -> str:
        c = self.config
        parts = [f"E={c.embed_dim} H={c.hidden_dim} C={c.context_dim} z={c.latent_dim}"]
        parts.append("HRED (no z)" if not c.latent_dim else "kgCVAE" if c.act_dim else "CVAE")
        parts.append("bag-of-words loss" if c.bow else "no bag-of-words loss")
        parts.append(f"act y ({c.act_dim})" if c.act_dim else "no act")
        return ", ".join(parts) + f", context {c.max_context} turns"

    def param_shapes(self) -> dict:
        return dialogue_param_shapes(self.config)

    def init_params(self, seed: int = 0, dtype=np.float32, xp=np) -> dict:
        return init_dialogue_params(self.config, seed=seed, dtype=dtype, xp=xp)

    def encoder_param_names(self) -> set:
        """q(z|x,c,y)'s own layers (the utterance and context encoders serve p too)."""
        return {n for n in self.param_shapes() if n.startswith(("mu_", "logvar_", "y_fc_"))}

    def decoder_param_names(self) -> set:
        prefixes = ("dec_", "out_", "z_to_h_", "prior_", "bow_", "act_W", "act_b", "act_fc_")
        return {n for n in self.param_shapes() if n.startswith(prefixes)}

    def loss_and_grads(self, params, batch, step: Step | None = None):
        return loss_and_grads(params, batch, self.config, step)

    # -- inference ----------------------------------------------------------------------
    def _no_z(self, params, rows: int):
        xp = get_array_module(params["out_W"])
        dtype = params["out_W"].dtype
        return xp.zeros((rows, 0), dtype=dtype), xp.zeros(rows, dtype=dtype)

    def posterior(self, params, batch, kernel: str = "auto") -> Posterior:
        check_dialogue_batch(batch)
        u, c, y, _ = encode_pairs(params, self.config, batch, Step(kernel=kernel))
        if not self.config.latent_dim:
            empty, _ = self._no_z(params, c.shape[0])
            prior = Gaussian(empty, empty)
            return Posterior({"z": prior}, {"z": empty}, (c, y, prior))
        mu, logvar, _ = gaussian_heads_forward(params, recognition_input(params, u, c, y, batch))
        prior = Gaussian(*prior_forward(params, c)[:2])
        return Posterior({"z": Gaussian(mu, logvar)}, {"z": prior.mu}, (c, y, prior))

    def _code(self, z, c, y):
        xp = get_array_module(c)
        return xp.concatenate([a for a in (z, c, y) if a is not None], axis=1)

    def sample_latent(self, params, posterior: Posterior, rng, samples: int = 1) -> LatentSample:
        xp = get_array_module(params["out_W"])
        c, y, prior = posterior.context
        c = xp.tile(c, (samples, 1))
        y = None if y is None else xp.tile(y, (samples, 1))
        if not self.config.latent_dim:
            empty, zeros = self._no_z(params, c.shape[0])
            return LatentSample(self._code(None, c, y), zeros, zeros, {"z": zeros})
        z, mu, logvar = gaussian_sample(*posterior.layers["z"], rng, samples)
        prior_mu, prior_logvar = (xp.tile(a, (samples, 1)) for a in prior)
        return LatentSample(
            self._code(z, c, y),
            ops.log_normal(z, mu, logvar),
            ops.log_normal(z, prior_mu, prior_logvar),
            {"z": gaussian_kl(mu, logvar, prior_mu, prior_logvar)},
        )

    def mean_code(self, params, posterior: Posterior):
        c, y, _ = posterior.context
        z = posterior.layers["z"].mu if self.config.latent_dim else None
        return self._code(z, c, y)

    def contexts(self, params, batch, kernel: str = "auto"):
        """The context vectors c (P, C) of a batch's pairs (its responses are not read)."""
        check_dialogue_batch(batch)
        u, _ = utterances_forward(params, self.config, batch, Step(kernel=kernel))
        return context_forward(params, self.config, u, batch, kernel)[0]

    def prior_code(self, params, num: int, rng, context=None, use_mean: bool = False):
        """``num`` codes per context row: z ~ p(z|c), then y's embedding: of the act given,
        else the embeddings weighed by p(y|z,c), as Zhao et al.'s code decodes
        (``pred_attribute_embedding = da_prob @ d_embedding`` when ``forward``).
        context: c (M, C), or (c, acts) with acts (M,) ints (the act each response must
        have) or None; None: one empty context (an opening).
        -> codes (M * num, Z + C + A), context-major"""
        xp = get_array_module(params["out_W"])
        c, acts = context if isinstance(context, tuple) else (context, None)
        if c is None:
            c = xp.zeros((1, self.config.context_dim), dtype=params["out_W"].dtype)
        c = xp.repeat(c, num, axis=0)
        z = None
        if self.config.latent_dim:
            prior_mu, prior_logvar, _ = prior_forward(params, c)
            z = prior_mu if use_mean else gaussian_sample(prior_mu, prior_logvar, rng)[0]
        y = None
        if self.config.act_dim:
            if acts is None:
                logits, _ = act_logits_forward(params, self._code(z, c, None))
                y = xp.exp(ops.log_softmax(logits)) @ params["act_embed"]
            else:
                y = params["act_embed"][xp.repeat(xp.asarray(acts, dtype=np.int64), num)]
        return self._code(z, c, y)
