"""The importance-weighted NLL of ``minivae eval``, against the straightforward loop it
replaced, measured in the same run on the same model, sentences and K.

The straightforward loop draws one z per sentence at a time and scores it with a full
log-softmax over the vocabulary: K decoder passes over the batch, each building an
(N, T, V) array of log-probabilities and picking T of them per sentence. ``evaluate`` scores
all K draws of a batch in one decoder pass (as many as fit in a fixed amount of memory), with
the words' share of the input projection computed once for the K, and only the real
positions through the output layer, a cache-sized block of logits at a time, each target's
log-probability from the softmax's sums-only pass (the log-softmax is never built).
"""

from __future__ import annotations

import math
import time

import numpy as np

from minivae import ops
from minivae.blocks.decoder import decode_forward
from minivae.blocks.inference import posterior
from minivae.blocks.sequence import decoder_io, on_device
from minivae.data import EncodedCorpus, Examples, Vocab, encode_examples, read_sentences
from minivae.evaluation import evaluate
from minivae.model import ModelConfig, TextVAE
from minivae.training.trainer import eval_batches


def reference_iw_nll(model: TextVAE, params, batches, iw_samples: int, seed: int = 0) -> float:
    """The straightforward estimate: one draw at a time, a full log-softmax each.
    -> NLL per sentence"""
    rng = np.random.default_rng(seed)
    total, sentences = 0.0, 0
    for batch in batches:
        mu, logvar = posterior(params, model.config, batch.tokens, batch.lengths)
        xp, tokens, lengths, _ = on_device(params, batch.tokens, batch.lengths)
        inputs, targets, mask = decoder_io(tokens, lengths)
        log_w = []
        for _ in range(iw_samples):
            z = mu + np.exp(0.5 * logvar) * rng.standard_normal(mu.shape).astype(mu.dtype)
            logits, _ = decode_forward(params, model.config, z, inputs, mask)
            logp = ops.log_softmax(logits)
            N, T1, V = logp.shape
            rows = np.arange(N * T1)
            picked = logp.reshape(N * T1, V)[rows, targets.reshape(-1)].reshape(N, T1)
            log_px = (picked * mask).sum(axis=1)
            log_w.append(log_px + ops.log_normal(z) - ops.log_normal(z, mu, logvar))
        total -= float((ops.logsumexp(np.stack(log_w), axis=0) - math.log(iw_samples)).sum())
        sentences += len(batch.lengths)
    return total / sentences


def run_eval_bench(corpus=None, sentences: int = 400, iw_samples: int = 10, log=print) -> dict:
    """Time both on a PTB-sized model (V=10000, E=H=256, Z=32; random weights: the cost does
    not depend on them) over ``sentences`` sentences of ``corpus`` (default: random ones
    of PTB's lengths)."""
    config = ModelConfig(vocab_size=10000, embed_dim=256, hidden_dim=256, latent_dim=32)
    model = TextVAE(config)
    params = model.init_params(seed=0)
    rng = np.random.default_rng(0)
    if corpus is not None:
        raw = read_sentences(corpus)[:sentences]
        vocab = Vocab.build(raw, max_size=config.vocab_size)
        encoded = encode_examples(Examples(raw), vocab)
        source = f"{len(raw)} sentences of {corpus}"
    else:
        lengths = np.clip(rng.poisson(21, sentences), 1, 80)
        ids = [rng.integers(4, config.vocab_size, n) for n in lengths]
        encoded = EncodedCorpus(ids, np.arange(sentences))
        source = f"{sentences} random sentences of PTB's lengths (mean 21 words)"
    batches = eval_batches(encoded, 32)
    log(f"importance-weighted NLL, K={iw_samples}: {source}; V=10000 E=H=256 Z=32, float32")
    start = time.perf_counter()
    old = reference_iw_nll(model, params, batches, iw_samples)
    old_s = time.perf_counter() - start
    start = time.perf_counter()
    new = evaluate(model, params, batches, iw_samples=iw_samples, progress=False)["nll"]
    new_s = time.perf_counter() - start
    log(f"  one draw at a time, full log-softmax  {old_s:7.2f} s   NLL {old:.3f}")
    log(f"  minivae eval (draws batched, blocked)  {new_s:7.2f} s   NLL {new:.3f}")
    log(f"  speed-up {old_s / new_s:.2f}x (the NLLs differ by sampling noise only)")
    return {
        "reference_s": old_s,
        "evaluate_s": new_s,
        "speedup": old_s / new_s,
        "reference_nll": old,
        "evaluate_nll": new,
    }
