"""What a translation model is judged by, on the test pairs (the validation pairs without a
test set), printed in the final report:

- corpus BLEU (sacrebleu, lower-cased, its signature printed) of greedy decoding and of beam
  search, both with z at the prior network's mean: the model's translation;
- what the latent variable adds: ``num_samples`` translations per source with z ~ p(z|x),
  their diversity (distinct translations, distinct-1/2 within a source's samples, self-BLEU:
  each sample scored against the others, lower = more varied), the BLEU of one sample and of
  the best of them (an oracle choosing by sentence BLEU against the reference), and the
  BLEU of decoding the posterior mean (which has read the reference: an upper bound);
- the attention heat map of a few sentences (attention.png in the run folder).

Decoding runs through ``minivae.generation.decode``, in chunks of sources of similar length.
"""

from __future__ import annotations

import time

import numpy as np

from minivae.backend import to_numpy
from minivae.conditional.tasks import generate
from minivae.data import pad_batch, pad_conditions
from minivae.generation_metrics import bleu_signature, corpus_bleu, distinct_n, sentence_bleu

CHUNK = 256  # sources decoded together


def translate(model, params, sources, num: int = 1, rng=None, **decode_args):
    """``num`` translations (token ids) of each encoded source, z from the prior network
    (its mean unless ``use_mean=False``), decoded in chunks of similar length.
    -> one list of ``num`` id lists per source, in the order given"""
    use_mean = decode_args.pop("use_mean", True)
    order = np.argsort([len(s) for s in sources], kind="stable")
    out = [None] * len(sources)
    for start in range(0, len(order), CHUNK):
        idx = order[start : start + CHUNK]
        chunk = generate(
            model, params, [sources[i] for i in idx], num, rng, use_mean=use_mean, **decode_args
        )
        for i, group in zip(idx, chunk):
            out[i] = group
    return out


def validation_bleu(model, params, cfg, data) -> dict:
    """Greedy BLEU on the validation pairs (z at the prior mean), for each epoch's row."""
    hyps = _texts(data.vocab, translate(model, params, data.valid.src, **_decoding(cfg)))
    refs = [[" ".join(t)] for t in data.references("valid")]
    return {"bleu": corpus_bleu([h[0] for h in hyps], refs, lowercase=True)}


def _decoding(cfg) -> dict:
    """Decoding settings of a run: translations up to --max-len words."""
    return {"max_len": cfg.max_len, "kernel": cfg.kernel}


def _texts(vocab, groups):
    return [[" ".join(vocab.decode(ids)) for ids in group] for group in groups]


def translation_metrics(model, params, cfg, data, log=print, out=None) -> dict:
    """Every metric above; ``out``: the run folder for attention.png (None: no figure)."""
    split = "test" if data.test is not None else "valid"
    encoded, vocab = data.split(split), data.vocab
    sources = encoded.src
    refs = [[" ".join(t)] for t in data.references(split)]
    src_words = data.kept_conditions(split)
    n = len(sources)
    limit = min(cfg.eval_limit or n, n)
    decoding = _decoding(cfg)
    metrics: dict = {}
    log(f"\n== Translation of the {split} pairs ({n} sentences; z at the prior mean)")

    def bleu(hyps, references):
        return corpus_bleu(hyps, references, lowercase=True)

    start = time.perf_counter()
    greedy = [g[0] for g in _texts(vocab, translate(model, params, sources, **decoding))]
    metrics["bleu_greedy"] = bleu(greedy, refs)
    log(
        f"  BLEU greedy     {metrics['bleu_greedy']:.2f}   ({time.perf_counter() - start:.0f} s)"
        f"  sacrebleu {bleu_signature(lowercase=True)}"
    )
    start = time.perf_counter()
    beam = translate(
        model, params, sources[:limit], method="beam", beam_size=cfg.beam_size, **decoding
    )
    beam = [g[0] for g in _texts(vocab, beam)]
    subset = f" on the first {limit}" if limit < n else ""
    metrics["bleu_beam"] = bleu(beam, refs[:limit])
    if limit < n:
        metrics["bleu_greedy_subset"] = bleu(greedy[:limit], refs[:limit])
        subset += f" (greedy there: {metrics['bleu_greedy_subset']:.2f})"
    log(
        f"  BLEU beam {cfg.beam_size}     {metrics['bleu_beam']:.2f}{subset}   "
        f"({time.perf_counter() - start:.0f} s)"
    )
    for i in range(min(3, limit)):
        log(
            f"  source:    {' '.join(src_words[i])}\n    reference: {refs[i][0]}\n"
            f"    greedy:    {greedy[i]}\n    beam:      {beam[i]}"
        )
    if model.config.latent_dim > 0:
        metrics.update(_latent_metrics(model, params, cfg, data, split, log))
    metrics = {f"{split}_{k}": v for k, v in metrics.items()}
    if out is not None and cfg.heatmaps and model.config.attention != "none":
        path = draw_attention(model, params, cfg, data, split, out)
        log(f"  attention heat maps of {min(cfg.heatmaps, n)} sentences: {path}")
    return metrics


def _latent_metrics(model, params, cfg, data, split, log) -> dict:
    """Samples of z ~ p(z|x): diversity and best-of-k BLEU; and the posterior mean's BLEU
    (on the first --eval-limit sources of ``split``)."""
    vocab, k = data.vocab, cfg.num_samples
    n = len(data.split(split).src)
    limit, decoding = min(cfg.eval_limit or n, n), _decoding(cfg)
    rng = np.random.default_rng(cfg.seed)
    sources = data.split(split).src[:limit]
    refs = [[" ".join(t)] for t in data.references(split)[:limit]]
    samples = _texts(vocab, translate(model, params, sources, k, rng, use_mean=False, **decoding))
    metrics = {"bleu_sample": corpus_bleu([s[0] for s in samples], refs, lowercase=True)}
    best = [
        max(group, key=lambda h, r=r: sentence_bleu(h, r, True)) for group, r in zip(samples, refs)
    ]
    metrics["bleu_best_of_k"] = corpus_bleu(best, refs, lowercase=True)
    metrics["distinct_translations"] = float(np.mean([len(set(g)) for g in samples]))
    for order in (1, 2):
        metrics[f"distinct_{order}"] = float(
            np.mean([distinct_n([h.split() for h in g], order) for g in samples])
        )
    if k > 1:  # each sample against the other samples of its source
        metrics["self_bleu"] = float(
            np.mean(
                [
                    corpus_bleu(
                        [g[i] for g in samples], [g[:i] + g[i + 1 :] for g in samples], True
                    )
                    for i in range(k)
                ]
            )
        )
    batch = pad_batch(data.split(split).ids[:limit], range(limit), sources)
    mean = model.mean_code(params, model.posterior(params, batch, cfg.kernel))
    recon = translate_codes(model, params, mean, vocab, decoding)
    metrics["bleu_posterior_mean"] = corpus_bleu(recon, refs, lowercase=True)
    subset = f" (the first {limit} sources)" if limit < len(data.split(split).src) else ""
    log(
        f"  z ~ p(z|x), {k} samples per source{subset}: "
        f"BLEU of one {metrics['bleu_sample']:.2f}, of the best of {k} "
        f"{metrics['bleu_best_of_k']:.2f}; {metrics['distinct_translations']:.2f} distinct "
        f"translations per source, distinct-1 {metrics['distinct_1']:.3f}, distinct-2 "
        f"{metrics['distinct_2']:.3f}"
        + (f", self-BLEU {metrics['self_bleu']:.1f}" if "self_bleu" in metrics else "")
    )
    log(
        "  z at the posterior mean (it has read the reference): BLEU "
        f"{metrics['bleu_posterior_mean']:.2f}"
    )
    for i in range(min(2, limit)):
        log(f"  {' '.join(data.kept_conditions(split)[i])}")
        for s in dict.fromkeys(samples[i]):
            log(f"    {s}")
    return metrics


def translate_codes(model, params, code, vocab, decoding) -> list[str]:
    """Greedy translations of given codes (rows of (z, *context)), one text per row."""
    from minivae.generation import decode

    return [" ".join(vocab.decode(ids)) for ids in decode(model, params, code, **decoding)]


def attention_weights(model, params, sources, outputs, kernel: str = "auto") -> list:
    """The attention of the decoder writing ``outputs`` (id lists) for ``sources`` (encoded),
    z at the prior mean: teacher-forced through the training pass, so the weights are those
    of the decoding that wrote them.  -> per sentence (len(output) + 1, len(source))"""
    context = model.condition_context(params, *pad_conditions(sources), kernel)
    code = model.prior_code(params, 1, None, context, use_mean=True)
    batch = pad_batch([np.asarray(o, dtype=np.int64) for o in outputs], range(len(outputs)))
    _, _, _, weights = model.decode_teacher_forced(params, batch, code, kernel)
    weights = to_numpy(weights)
    return [weights[i, : len(o) + 1, : len(s)] for i, (s, o) in enumerate(zip(sources, outputs))]


def draw_attention(model, params, cfg, data, split, out):
    """attention.png in the folder ``out``: the heat maps of the first --heatmaps sentences
    of ``split``."""
    count, decoding = cfg.heatmaps, _decoding(cfg)
    from pathlib import Path

    from minivae.translation.heatmap import plot_attention

    sources = data.split(split).src[:count]
    outputs = [g[0] for g in translate(model, params, sources, **decoding)]
    weights = attention_weights(model, params, sources, outputs, decoding["kernel"])
    words = data.kept_conditions(split)[:count]
    items = [(s, data.vocab.decode(o), w) for s, o, w in zip(words, outputs, weights)]
    path = Path(out) / "attention.png"
    plot_attention(items, path)
    return path
