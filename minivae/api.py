"""Using a trained model from Python: load a checkpoint, then encode, decode, sample,
reconstruct, interpolate and evaluate, and export to PyTorch.

    import minivae
    vae = minivae.load("runs/latest")              # a run folder (its best.npz) or a .npz
    mu, logvar = vae.encode(["the chef cooked a tasty soup"])
    print(vae.decode(mu))                          # a sentence of the same kind (README)
    print(vae.sample(3, method="sample", temperature=0.8))
    print(vae.interpolate("the chef cooked", "the band played", steps=5))
    print(vae.evaluate("my_test.txt")["nll"])      # every metric of ``minivae eval``
    torch_module = vae.to_torch()                  # nn.Modules with the same weights

Every method is the command line's code (``minivae.generation``, ``minivae.evaluation``)
called on one ``TrainedModel``; conditional models take ``condition=`` texts.
"""

from __future__ import annotations

import numpy as np

from minivae.backend import resolve_device, xp_for
from minivae.data import Examples, encode_examples, pad_batch, pad_conditions, read_sentences
from minivae.evaluation import evaluate
from minivae.generation import decode, posterior_path
from minivae.loading import TrainedModel, load_model
from minivae.training.trainer import eval_batches


class Model:
    """A trained model, ready to use. ``trained``: what ``minivae.loading.load_model``
    returns (model, params, vocabularies, the run's config)."""

    def __init__(self, trained: TrainedModel, device: str = "cpu", kernel: str = "auto"):
        xp = xp_for(resolve_device(device))
        self.trained = trained._replace(
            params={k: xp.asarray(v) for k, v in trained.params.items()}
        )
        self.model, self.params, self.vocab = trained.model, self.trained.params, trained.vocab
        self.kernel = kernel

    def _batch(self, sentences, condition=None):
        lowercase = self.trained.train_config.lowercase
        ids = [self.vocab.encode_text(s, lowercase) for s in sentences]
        batch = pad_batch(ids, range(len(ids)))
        conditions = self._conditions(condition, len(ids))
        if conditions is not None:
            batch = batch._replace(src=conditions[0], src_lengths=conditions[1])
        return batch

    def _conditions(self, condition, count: int):
        if not self.model.conditional:
            if condition is not None:
                raise ValueError(f"the {self.model.kind} model takes no condition")
            return None
        texts = [condition] * count if isinstance(condition, str) else list(condition or [])
        if len(texts) != count:
            raise ValueError(f"the {self.model.kind} model needs {count} condition texts")
        cfg = self.trained.train_config
        return pad_conditions(
            self.trained.condition.encode_texts(texts, cfg.max_len, cfg.lowercase)
        )

    def encode(self, sentences, condition=None, layer: str | None = None):
        """Posterior means and log-variances of one latent layer (default: the first).
        sentences: strings (split on spaces) or token lists  ->  mu, logvar: (N, Z)"""
        post = self.model.posterior(self.params, self._batch(sentences, condition), self.kernel)
        layer = layer or next(iter(self.model.latent_sizes))
        return post.layers[layer]

    def codes(self, sentences, condition=None):
        """The decoder's codes of the sentences' posterior means (what reconstruction decodes)."""
        post = self.model.posterior(self.params, self._batch(sentences, condition), self.kernel)
        return self.model.mean_code(self.params, post)

    def decode(self, code, method: str = "greedy", seed: int = 0, **options) -> list[str]:
        """Sentences from codes (the plain VAE's z, (N, Z)); options: max_len, temperature,
        top_k, beam_size, as ``minivae.generation.decode`` takes them."""
        rng = np.random.default_rng(seed)
        out = decode(self.model, self.params, code, method, rng=rng, kernel=self.kernel, **options)
        return [self.vocab.text(ids) for ids in out]

    def sample(self, num: int = 5, condition=None, seed: int = 0, **options) -> list[str]:
        """``num`` sentences from the prior (per condition text for conditional models)."""
        context = None
        texts = [condition] if isinstance(condition, str) else condition
        conditions = self._conditions(texts, len(texts)) if texts is not None else None
        if self.model.conditional and conditions is None:
            raise ValueError(f"the {self.model.kind} model samples for a condition: give one")
        if conditions is not None:
            context = self.model.condition_context(self.params, *conditions, self.kernel)
        code = self.model.prior_code(self.params, num, np.random.default_rng(seed), context)
        return self.decode(code, seed=seed, **options)

    def reconstruct(self, sentences, condition=None, **options) -> list[str]:
        return self.decode(self.codes(sentences, condition), **options)

    def interpolate(
        self, start: str, end: str, steps: int = 5, mode="slerp", layer=None, **options
    ):
        """Sentences decoded along a path between two sentences' posterior-mean codes, or
        (``layer``, e.g. the hierarchical VAE's "z2") between their means in one layer."""
        post = self.model.posterior(self.params, self._batch([start, end]), self.kernel)
        path = posterior_path(self.model, self.params, post, layer, steps, mode)
        return self.decode(path, **options)

    def evaluate(self, path=None, iw_samples: int | None = None, seed: int | None = None):
        """Every metric of ``minivae eval`` on a file (one sentence per line; scored whole)
        or, by default, the run's validation split."""
        cfg = self.trained.train_config
        if path is None:
            data = cfg.prepare_data(vocab=self.vocab, condition=self.trained.condition)
            encoded = data.valid
        else:
            examples = Examples(read_sentences(path, lowercase=cfg.lowercase))
            encoded = encode_examples(examples, self.vocab, self.trained.condition)
        return evaluate(
            self.model,
            self.params,
            eval_batches(encoded, cfg.batch_size),
            iw_samples=cfg.iw_samples if iw_samples is None else iw_samples,
            seed=cfg.seed if seed is None else seed,
            kernel=self.kernel,
        )

    def to_torch(self):
        """The plain VAE as PyTorch modules with the same weights (needs PyTorch)."""
        from minivae.export import to_torch

        if self.model.kind != "vae":
            raise ValueError(f"to_torch exports the plain VAE, not a {self.model.kind} model")
        return to_torch(self.params, self.model.config)


def load(path, device: str = "cpu", kernel: str = "auto") -> Model:
    """A trained model from a checkpoint file or a run folder (its best.npz)."""
    return Model(load_model(path), device, kernel)
