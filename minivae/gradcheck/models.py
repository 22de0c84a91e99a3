"""Gradient checks of whole models (float64): d loss / d every parameter, through the model
interface, so one function checks every model."""

from __future__ import annotations

import numpy as np

from minivae.data import Batch
from minivae.gradcheck.core import DEFAULT_TOL, CheckRow, check_params, not_implemented_row
from minivae.interface import Step, TextModel


def tiny_batch(vocab_size: int, seed: int = 0, N: int = 3, T: int = 5) -> Batch:
    """A random padded batch with sentences of different lengths (one full, one short)."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, T + 1, size=N)
    lengths[0], lengths[-1] = T, 1
    tokens = rng.integers(4, vocab_size, size=(N, T))
    mask = np.arange(T)[None, :] < lengths[:, None]
    tokens[~mask] = 0
    return Batch(tokens, mask, lengths, np.arange(N))


def tiny_model_batch(model: TextModel, seed: int = 0, N: int = 3, T: int = 5) -> Batch:
    """``tiny_batch`` with conditions when the model reads one: class ids, or padded source
    sentences of different lengths."""
    if model.kind == "dialogue":
        return tiny_dialogue_batch(model.config, seed, N, T)
    batch = tiny_batch(model.vocab_size, seed, N, T)
    if not model.conditional:
        return batch
    config, rng = model.config, np.random.default_rng(seed + 7)
    if config.condition == "label":
        return batch._replace(src=rng.integers(0, config.num_classes, N))
    source = tiny_batch(config.src_vocab_size, seed + 3, N, T - 1)
    return batch._replace(src=source.tokens, src_lengths=source.lengths)


def tiny_dialogue_batch(config, seed: int = 0, N: int = 3, T: int = 5):
    """Two random dialogues with N (context, response) pairs in all: one of N turns (its
    later contexts longer than a model with max_context 2 reads) and one of two turns."""
    from minivae.dialogue.data import dialogue_batch

    rng = np.random.default_rng(seed)
    dialogues = []
    for turns in (N, 2):
        lengths = rng.integers(1, T + 1, size=turns)
        lengths[0] = T
        dialogues.append([rng.integers(4, config.vocab_size, size=n) for n in lengths])
    acts = [list(rng.integers(0, config.num_acts, size=len(d))) for d in dialogues]
    return dialogue_batch(dialogues, acts, config.max_context)


def check_model(
    model: TextModel,
    seed: int = 0,
    beta: float = 0.7,
    free_bits: float = 0.0,
    max_entries: int | None = None,
    tol: float = DEFAULT_TOL,
    label: str = "model",
    h: float = 3e-3,
    kernel: str = "auto",
    dropout: float = 0.0,
    label_smoothing: float = 0.0,
) -> list[CheckRow]:
    """Check d loss / d param for every parameter with the five-point stencil.

    Noise eps is fixed, word dropout is off and dropout's masks are drawn afresh from the
    same seed at every evaluation, so the loss is a deterministic function of the
    parameters. Parameters larger than ``max_entries`` are checked along random directions
    instead of entry by entry.
    """
    params = model.init_params(seed=seed, dtype=np.float64)
    rng = np.random.default_rng(seed + 1)
    for p in params.values():  # nonzero biases, so their gradients are exercised
        p += 0.1 * rng.standard_normal(p.shape)
    batch = tiny_model_batch(model, seed)
    eps = rng.standard_normal((batch.tokens.shape[0], sum(model.latent_sizes.values())))

    def run():
        masks = np.random.default_rng(seed + 2)  # the same dropout masks every time
        step = Step(
            beta=beta,
            eps=eps,
            rng=masks,
            free_bits=free_bits,
            kernel=kernel,
            dropout=dropout,
            label_smoothing=label_smoothing,
        )
        return model.loss_and_grads(params, batch, step)

    try:
        return check_params(run, params, label, tol=tol, h=h, max_entries=max_entries, seed=seed)
    except NotImplementedError as e:
        return [not_implemented_row(label, e)]


def model_cases():
    """(label, model, kernel, options) of every model configuration ``minivae gradcheck``
    checks; options go to ``check_model``."""
    from minivae.conditional.config import CVAEConfig
    from minivae.conditional.cvae import ConditionalVAE
    from minivae.dialogue.config import DialogueConfig
    from minivae.dialogue.dialogue_vae import DialogueVAE
    from minivae.hierarchical.config import HVAEConfig
    from minivae.hierarchical.hvae import HierarchicalVAE
    from minivae.model import ModelConfig, TextVAE
    from minivae.translation.config import NMTConfig
    from minivae.translation.nmt import TranslationVAE

    tiny = dict(vocab_size=11, embed_dim=4, hidden_dim=5, latent_dim=3)
    # kernel "auto" runs the fused Numba kernels on the CPU, "array" the array code.
    plain = TextVAE(ModelConfig(**tiny))
    yield "model (lstm)", plain, "auto", {}
    yield "model (lstm, array code)", plain, "array", {}
    yield "model (lstm, dropout 0.3, free bits)", plain, "auto", dict(dropout=0.3, free_bits=0.1)
    yield "model (lstm, label smoothing 0.1)", plain, "auto", dict(label_smoothing=0.1)
    gru = TextVAE(ModelConfig(**tiny, cell="gru", share_embeddings=False))
    yield "model (gru)", gru, "auto", {}
    cvae = dict(tiny, prior_dim=4, cond_dim=3)
    sequence = CVAEConfig(**cvae, condition="sequence", src_vocab_size=9)
    yield "cvae (sequence, lstm)", ConditionalVAE(sequence), "auto", {}
    label = CVAEConfig(**cvae, condition="label", num_classes=4, cell="gru")
    yield "cvae (label, gru)", ConditionalVAE(label), "auto", {}
    hvae = dict(tiny, latent_dim2=2, prior_hidden=4)
    yield "hvae (lstm)", HierarchicalVAE(HVAEConfig(**hvae)), "auto", {}
    hvae_gru = HVAEConfig(**hvae, cell="gru", z_mode="concat", share_embeddings=False)
    # free bits 0.1 floor some dimensions of each layer and leave others free
    yield (
        "hvae (gru, dropout 0.3, free bits)",
        HierarchicalVAE(hvae_gru),
        "auto",
        dict(dropout=0.3, free_bits=0.1),
    )
    # Small widths keep the attention sharp enough at initialization that the gradients of its
    # weights stand well above the rounding noise of the five-point differences.
    nmt = dict(vocab_size=7, src_vocab_size=9, embed_dim=6, enc_hidden_dim=3, hidden_dim=3)
    nmt.update(attention_dim=3, out_dim=6, latent_dim=3, prior_dim=4)
    drop = dict(dropout=0.25)
    additive = NMTConfig(**nmt, bow=True, key_dropout=0.25)
    yield "nmt (additive attention, z, key dropout)", TranslationVAE(additive), "auto", drop
    yield "nmt (additive, array code)", TranslationVAE(NMTConfig(**nmt)), "array", drop
    smooth = dict(drop, label_smoothing=0.1)
    yield "nmt (additive, label smoothing 0.1)", TranslationVAE(NMTConfig(**nmt)), "auto", smooth
    bilinear = NMTConfig(**{**nmt, "latent_dim": 0}, attention="bilinear")
    yield "nmt (bilinear attention, no z)", TranslationVAE(bilinear), "auto", drop
    yield "nmt (no attention)", TranslationVAE(NMTConfig(**nmt, attention="none")), "auto", drop
    dialog = dict(tiny, context_dim=4, prior_dim=4, act_dim=2, head_dim=6, max_context=2)
    kg = DialogueVAE(DialogueConfig(**dialog))
    yield "dialogue (kgCVAE: z, act, bag of words)", kg, "auto", dict(dropout=0.2)
    yield "dialogue (kgCVAE, array code, free bits)", kg, "array", dict(free_bits=0.1)
    kg_gru = DialogueVAE(DialogueConfig(**dialog, cell="gru"))  # Zhao et al.'s default cell
    yield "dialogue (kgCVAE: gru cells)", kg_gru, "auto", {}
    gru = DialogueConfig(**{**dialog, "act_dim": 0}, bow=False, cell="gru")
    yield "dialogue (CVAE, gru, no bag of words)", DialogueVAE(gru), "auto", {}
    hred = DialogueConfig(**{**dialog, "latent_dim": 0})
    yield "dialogue (HRED: no z)", DialogueVAE(hred), "auto", dict(label_smoothing=0.1)


def check_all_models(seed: int = 0, tol: float = DEFAULT_TOL) -> list[CheckRow]:
    rows = []
    for label, model, kernel, options in model_cases():
        rows += check_model(model, seed=seed, tol=tol, label=label, kernel=kernel, **options)
    return rows
