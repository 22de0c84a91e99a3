"""The model interface: what a model gives the trainer, the metrics, generation, checkpoints
and the command line, so that each of those is written once for every model.

A model is a small object around its frozen config dataclass. Its math stays in plain
functions composed from the ops and blocks (``minivae.model.vae.loss_and_grads`` and friends); the
object only binds the config and says how the pieces fit:

    param_shapes, init_params        the parameters (one flat dict of named arrays)
    encoder/decoder_param_names      which belong to q and which to p (for the remedies)
    loss_and_grads                   the training objective and its hand-written gradient,
                                     (params, batch, step): ``Step`` holds the rest
    posterior                        q(z|x[, c]) of each latent layer, from a batch
    sample_latent                    z ~ q with log q(z|x), log p(z) and each layer's KL
    log_likelihood                   log p(x | z[, c]) of each sentence (scoring_width:
                                     the memory it needs per token)
    prior_code                       z ~ p(z[|c]), for sampling
    mean_code                        the posterior mean, for reconstruction
    layer_code                       the code of a point in one latent layer, for
                                     interpolating in that layer
    decoder_start, decoder_step      one decoder step at a time, for greedy, sampling, beam

A *code* is whatever the decoder reads (the plain VAE's z; the conditional VAE's [z; c]):
an array, or a tuple of arrays, with one row per sentence. A decoder *state* is a tuple of
arrays with one row per sentence, so beam search can reorder any model's state the same way.

A new model implements these, gets one row in ``minivae.registry.FAMILIES`` and gets
training, resume, divergence handling, checkpoints, metrics, sampling, beam search, plots
and the command line from the shared code. docs/models.md walks through it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import numpy as np


@dataclass(frozen=True)
class Step:
    """What one training step needs besides the parameters and the batch: every model's
    ``loss_and_grads(params, batch, step)`` takes one. A regulariser is a field here, read
    by the families that honour it; ``Step()`` is a plain evaluation of the ELBO.

    beta: the KL weight (the trainer's schedule, 0 while pre-training an autoencoder)
    eps: fixed reparameterization noise (N, sum of the latent sizes), or None: drawn from rng
    rng: where noise comes from: eps, word dropout's and dropout's masks
    word_dropout: probability of replacing a decoder input word by <unk> (Bowman et al. 2016)
    free_bits: nats per latent dimension below which the KL is not pushed down, on each
        dimension's batch mean (Kingma et al. 2016)
    kl_threshold: Li et al. 2019's threshold, nats in total over the latent dimensions: a
        dimension's KL counts for a sentence only where it exceeds kl_threshold / (latent
        size); 0: off
    kernel: "auto" | "fused" | "array": the fused Numba kernels or the array code
    dropout: the rate of dropout on embeddings and RNN outputs (Srivastava et al. 2014)
    label_smoothing: train against (1 - eps) onehot + eps / V (Szegedy et al. 2016)
    training: False for a forward pass at inference (no dropout of any kind)
    """

    beta: float = 1.0
    eps: object = None
    rng: object = None
    word_dropout: float = 0.0
    free_bits: float = 0.0
    kl_threshold: float = 0.0
    kernel: str = "auto"
    dropout: float = 0.0
    label_smoothing: float = 0.0
    training: bool = True

    @property
    def cpu_kernel(self) -> str:
        """The softmax's and the embedding gradient's kernels: CPU ones only, so "fused"
        runs them fused wherever they can, as "auto" does (``ops.lstm.select_pointwise``)."""
        return "array" if self.kernel == "array" else "auto"


class LossTerms(NamedTuple):
    """Per-sentence batch means, as Python floats: loss = rec + beta * kl_objective + extra."""

    loss: float
    rec: float  # -E_q log p(x|z), nats per sentence
    kl: float  # KL(q(z|x) || p(z)), nats per sentence (all latent layers)
    kl_objective: float  # the KL term as optimized (differs from kl under free bits)
    beta: float
    num_tokens: int  # words + <eos> predicted, for perplexity
    kl_per_dim: object  # (Z,) batch-mean KL of each latent dimension
    extra: dict = {}  # model-specific terms (a bag-of-words loss, the KL of each layer)


def loss_terms(loss, rec, kl_objective, kl, kl_per_dim, beta, mask, **extra) -> LossTerms:
    """LossTerms from a model's arrays: kl (N,) each sentence's KL, mask the predicted
    positions (for the token count), ``extra`` more terms by name (a bag-of-words loss)."""
    return LossTerms(
        loss=float(loss),
        rec=float(rec),
        kl=float(kl.mean()),
        kl_objective=float(kl_objective),
        beta=float(beta),
        num_tokens=int(mask.sum()),
        kl_per_dim=kl_per_dim,
        extra={k: float(v) for k, v in extra.items()},
    )


class Gaussian(NamedTuple):
    """A diagonal Gaussian over one latent layer: mean and log-variance, (N, Z) each."""

    mu: object
    logvar: object


class Posterior(NamedTuple):
    """What a model's encoder says about a batch."""

    layers: dict  # layer name -> Gaussian q(z_l | x[, c])
    prior_means: dict  # layer name -> E_p[z_l] (N, Z) or None (0): active units are
    # measured as the spread of E_q[z_l] - E_p[z_l] over the data
    context: object = None  # what else the model computed (a condition vector c)
    gap_means: dict = {}  # layer name -> a reference mean (N, Z): the evaluation also counts
    # the units where E_q[z_l] minus it varies (``active_units_gap_<layer>``), a second
    # measure beside the active units


class LatentSample(NamedTuple):
    """One draw from q for each sentence (``samples`` draws: ``samples * N`` rows, the
    k-th draw of sentence n in row k * N + n)."""

    code: object  # what the decoder reads
    log_q: object  # (rows,) log q(z|x[, c]) of the draw
    log_prior: object  # (rows,) log p(z[|c]) of the draw
    kl: dict  # layer name -> (rows,) KL(q || p) of that layer (analytic given the draw)


def take_rows(code, rows):
    """Rows of a code or a state: an array, or a tuple of arrays (one row per sentence)."""
    if isinstance(code, tuple):
        return tuple(part[rows] for part in code)
    return code[rows]


def num_rows(code) -> int:
    return (code[0] if isinstance(code, tuple) else code).shape[0]


class TextModel(ABC):
    """The interface; see the module docstring. ``kind`` names the model in checkpoints."""

    kind: ClassVar[str]
    config_class: ClassVar[type]
    conditional: ClassVar[bool] = False  # reads a condition c besides x (batch.src)

    def __init__(self, config):
        if not isinstance(config, self.config_class):
            raise TypeError(f"{type(self).__name__} needs a {self.config_class.__name__}")
        self.config = config

    @classmethod
    def from_dict(cls, d: dict) -> TextModel:
        return cls(cls.config_class.from_dict(d))

    def to_dict(self) -> dict:
        return self.config.to_dict()

    @property
    def vocab_size(self) -> int:
        return self.config.vocab_size

    @property
    def scoring_width(self) -> int:
        """Numbers ``log_likelihood`` holds per token and code, for the evaluation's memory
        budget: by default a row of logits (the vocabulary)."""
        return self.vocab_size

    @property
    def latent_sizes(self) -> dict:
        """Layer name -> size, in the order the layers are reported (default: one layer z)."""
        return {"z": self.config.latent_dim}

    def describe(self) -> str:
        """The model's sizes in a few words, for the banner of a run."""
        c = self.config
        sizes = ", ".join(f"{k}={v}" for k, v in self.latent_sizes.items())
        return f"E={c.embed_dim} H={c.hidden_dim} {sizes}, z via {c.z_mode}"

    # -- parameters ---------------------------------------------------------------------
    @abstractmethod
    def param_shapes(self) -> dict:
        """Parameter name -> shape, for initialization and for checking checkpoints."""

    @abstractmethod
    def init_params(self, seed: int = 0, dtype=np.float32, xp=np) -> dict:
        """Fresh parameters."""

    @abstractmethod
    def encoder_param_names(self) -> set:
        """The inference network's own parameters (q's): what aggressive training updates
        alone. Parameters both sides use (a shared embedding) belong to neither set."""

    @abstractmethod
    def decoder_param_names(self) -> set:
        """The generative side's own parameters (p's): what is re-initialized after
        autoencoder pre-training."""

    # -- training -----------------------------------------------------------------------
    @abstractmethod
    def loss_and_grads(self, params, batch, step: Step | None = None):
        """The training objective of a batch and its gradient, under ``step`` (the KL weight,
        the noise, the regularisers, the kernels; None: ``Step()``).
        -> (LossTerms, {name: gradient})"""

    # -- inference ----------------------------------------------------------------------
    @abstractmethod
    def posterior(self, params, batch, kernel: str = "auto") -> Posterior:
        """q(z|x[, c]) for a batch."""

    @abstractmethod
    def sample_latent(self, params, posterior: Posterior, rng, samples: int = 1) -> LatentSample:
        """Draws from q (see ``LatentSample`` for the row order)."""

    @abstractmethod
    def log_likelihood(self, params, batch, code, kernel: str = "auto"):
        """log p(x | code) of each sentence, words and <eos>: (rows,). ``code`` may hold
        ``samples * N`` rows for a batch of N sentences (the batch is repeated)."""

    @abstractmethod
    def mean_code(self, params, posterior: Posterior):
        """The code of the posterior means: what reconstruction decodes."""

    @abstractmethod
    def prior_code(self, params, num: int, rng, context=None, use_mean: bool = False):
        """``num`` codes from the prior (per condition row of ``context`` for conditional
        models: ``num * M`` rows, condition-major). use_mean: the prior's mean instead."""

    def layer_code(self, params, layer: str, points):
        """The codes that decode points of one latent layer: points (M, Z_layer) -> M codes.

        What interpolating in a layer decodes. A one-layer unconditional model's point is its
        code (this default); a model with several layers says how a point in each becomes a
        code (the hierarchical VAE: z2 through the prior network's mean of z1)."""
        self.check_layer(layer)
        if self.conditional or len(self.latent_sizes) > 1:
            raise NotImplementedError(f"the {self.kind} model does not decode points of a layer")
        return points

    def check_layer(self, layer: str) -> None:
        """A ValueError naming the layers, for a layer this model does not have."""
        if layer not in self.latent_sizes:
            raise ValueError(
                f"the {self.kind} model has no latent layer {layer!r}; its layers are: "
                + ", ".join(self.latent_sizes)
            )

    def condition_context(self, params, src, src_lengths=None, kernel: str = "auto"):
        """The condition vectors c of encoded conditions (conditional models only): class ids
        (M,), or source ids (M, Ts) with their lengths (``minivae.data.pad_conditions``)."""
        raise TypeError(f"the {self.kind} model is not conditional")

    # -- generation ---------------------------------------------------------------------
    @abstractmethod
    def decoder_start(self, params, code, kernel: str = "auto") -> tuple:
        """The decoder's state before <bos>: a tuple of arrays with one row per code."""

    @abstractmethod
    def decoder_step(self, params, state: tuple, prev_tokens, kernel: str = "auto"):
        """Feed one token per row.  prev_tokens: (N,) int  ->  log_probs (N, V), new state"""
