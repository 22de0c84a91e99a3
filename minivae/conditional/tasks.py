"""The conditional VAE's task metrics, on the validation pairs and on the test pairs when there
are some (printed in the final report, beside the reconstructions' BLEU and ROUGE that every
model gets):

translate: corpus BLEU and ROUGE of greedy decoding from the prior mean (one translation per
source); dialogue: BLEU precision and recall over each context's references with
``num_samples`` samples, distinct-1/2; label: distinct-1/2 and attribute agreement of samples
for every class.
"""

from __future__ import annotations

import numpy as np

from minivae.conditional.data import references_by_source
from minivae.data import pad_conditions
from minivae.generation import decode
from minivae.generation_metrics import (
    attribute_agreement,
    bleu_precision_recall,
    corpus_bleu,
    distinct_n,
)
from minivae.text_metrics import rouge


def generate(model, params, encoded_conditions, num: int, rng, **decode_args):
    """``num`` sentences (token ids) for each encoded condition, z from the prior network
    (its mean with ``use_mean=True``); the other ``decode_args`` go to ``generation.decode``.
    -> one list of ``num`` id lists per condition
    """
    use_mean = decode_args.pop("use_mean", False)
    kernel = decode_args.get("kernel", "auto")  # the conditions are encoded with it too
    context = model.condition_context(params, *pad_conditions(encoded_conditions), kernel)
    code = model.prior_code(params, num, rng, context, use_mean=use_mean)
    flat = decode(model, params, code, rng=rng, **decode_args)
    return [flat[i * num : (i + 1) * num] for i in range(len(encoded_conditions))]


def task_metrics(model, params, cfg, data, log=print, split: str = "valid") -> dict:
    """The metrics of ``cfg.task`` on the ``split`` pairs of ``data`` (a Dataset)."""
    vocab, kernel = data.vocab, cfg.kernel
    rng = np.random.default_rng(cfg.seed)
    max_len = cfg.max_len + 5
    encoded = data.split(split)

    def text(ids):
        return " ".join(vocab.decode(ids))

    references = [[" ".join(t)] for t in data.references(split)]
    metrics = {}
    n = cfg.num_samples
    log(f"\n== Task metrics on the {'validation' if split == 'valid' else split} pairs")
    if cfg.task == "translate":
        out = generate(
            model, params, encoded.src, 1, rng, use_mean=True, max_len=max_len, kernel=kernel
        )
        hyps = [text(o[0]) for o in out]
        metrics["bleu"] = corpus_bleu(hyps, references)
        metrics.update(rouge(hyps, [r[0] for r in references]))
        sources = data.kept_conditions(split)
        for s, t, h in list(zip(sources, references, hyps))[:3]:
            log(f"  {' '.join(s)}\n    reference: {t[0]}\n    model:     {h}")
    elif cfg.task == "dialogue":
        raw = [
            (c, s) for part in data.raw.values() for c, s in zip(part.conditions, part.sentences)
        ]
        all_refs = references_by_source(raw)
        contexts = sorted({tuple(s) for s in data.kept_conditions(split)})
        encoded = data.condition.encode_texts([" ".join(c) for c in contexts], max_len=None)
        out = generate(
            model, params, encoded, n, rng, method="greedy", max_len=max_len, kernel=kernel
        )
        samples = [[text(ids) for ids in o] for o in out]
        refs = [[" ".join(r) for r in all_refs[c]] for c in contexts]
        metrics.update(bleu_precision_recall(samples, refs))
        flat = [s.split() for group in samples for s in group]
        metrics["distinct_1"], metrics["distinct_2"] = distinct_n(flat, 1), distinct_n(flat, 2)
        metrics["distinct_samples_per_context"] = float(np.mean([len(set(g)) for g in samples]))
        metrics["references_per_context"] = float(np.mean([len(r) for r in refs]))
        log(f"  {' '.join(contexts[0])}")
        for s in samples[0]:
            log(f"    {s}")
    else:  # label
        classes = data.condition.classes
        out = generate(
            model,
            params,
            list(range(len(classes))),
            n * 4,
            rng,
            method="greedy",
            max_len=max_len,
            kernel=kernel,
        )
        flat = [vocab.decode(ids) for group in out for ids in group]
        labels = [name for name in classes for _ in range(n * 4)]
        metrics["distinct_1"], metrics["distinct_2"] = distinct_n(flat, 1), distinct_n(flat, 2)
        attrs = [a.strip() for a in cfg.label_attrs.split(",")] if cfg.pairs is None else []
        agreement = attribute_agreement(flat, labels, attrs)
        if agreement is not None:
            metrics["attribute_agreement"] = agreement
        for name, group in list(zip(classes, out))[:2]:
            log(f"  [{name}]")
            for ids in group[:3]:
                log(f"    {text(ids)}")
    log("  " + ", ".join(f"{k} {v:.3f}" for k, v in metrics.items()))
    return metrics
