"""The text VAE's training run (``minivae train``): a plain text corpus, one sentence per line,
and the model it builds: the text VAE, or the hierarchical VAE with ``--model hierarchical``."""

from __future__ import annotations

from dataclasses import dataclass

from minivae.config_dict import absolute, model_options, option, sizes_from
from minivae.hierarchical.config import HVAEConfig
from minivae.training.config import RunConfig

MODEL_NAMES = ["vae", "hierarchical"]  # TrainConfig.model -> the model built


@dataclass
@model_options(HVAEConfig)
class TrainConfig(RunConfig):
    """A text VAE on one sentence per line: the built-in corpus or a file. Its model options
    are the hierarchical VAE's (``HVAEConfig``: the text VAE's sizes and latent_dim2,
    prior_hidden), after its own."""

    model: str = option(
        "vae",
        "the model: vae (the plain text VAE) or hierarchical (two latent layers z2 -> z1 -> x; "
        "--latent-dim is z1's size)",
        MODEL_NAMES,
    )
    corpus: str | None = option(
        None, "text file, one sentence per line (default: the built-in corpus)"
    )
    valid: str | None = option(
        None, "validation file, one sentence per line (default: --valid-fraction of the corpus)"
    )
    test: str | None = option(None, "test file, one sentence per line: scored in the final report")
    builtin_size: int = option(10000, "number of sentences of the built-in corpus")

    def __post_init__(self):
        super().__post_init__()
        self._check("builtin_size", int, low=2, high=1_000_000)
        for name in ("corpus", "valid", "test"):  # saved whole: a run must not depend on
            setattr(self, name, absolute(getattr(self, name)))  # the folder it was started in

    def prepare_data(self, vocab=None, condition=None):
        from minivae.data import Examples, builtin_corpus, read_sentences

        def read(path):
            return None if path is None else Examples(read_sentences(path, self.lowercase))

        if self.corpus is None:
            corpus = builtin_corpus(n=self.builtin_size, seed=self.seed)
            examples = Examples([s.tokens for s in corpus], attrs=[s.attrs for s in corpus])
            source = "built-in corpus"
        else:
            examples, source = read(self.corpus), self.corpus
        return self.dataset(
            examples, source, valid=read(self.valid), test=read(self.test), vocab=vocab
        )

    def build_model(self, data):
        from minivae.hierarchical.hvae import HierarchicalVAE
        from minivae.model import ModelConfig, TextVAE

        if self.model == "hierarchical":
            return HierarchicalVAE(sizes_from(HVAEConfig, self, vocab_size=len(data.vocab)))
        return TextVAE(sizes_from(ModelConfig, self, vocab_size=len(data.vocab)))
