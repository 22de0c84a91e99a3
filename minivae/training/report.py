"""What a person wants to see after training, for every model: metrics against a baseline,
samples, reconstructions, an interpolation, the task's own metrics, and the plots."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from minivae.backend import to_numpy
from minivae.data import batch_of
from minivae.evaluation import evaluate, perplexity, unigram_nll
from minivae.generation import decode, posterior_path
from minivae.training.checkpoint import write_json_atomic
from minivae.training.plots import plot_curves, plot_latent
from minivae.training.trainer import Trainer, eval_batches


def latent_means(trainer: Trainer, encoded, layer: str | None = None, params=None) -> np.ndarray:
    """Posterior means of one latent layer (default: the first) for every sentence of an
    encoded set, in its original order; of ``trainer.eval_params`` or of ``params``."""
    layer = layer or next(iter(trainer.model.latent_sizes))
    params = trainer.eval_params if params is None else params
    mus, order = [], []
    for batch in eval_batches(encoded, trainer.cfg.batch_size):
        post = trainer.model.posterior(params, batch, trainer.cfg.kernel)
        mus.append(to_numpy(post.layers[layer].mu))
        order.append(np.asarray(batch.index))
    out = np.empty((len(encoded.ids), trainer.model.latent_sizes[layer]))
    out[np.concatenate(order)] = np.concatenate(mus)
    return out


def reconstruction_scores(model, params, data, split="valid", max_len=40, kernel="auto"):
    """BLEU and ROUGE of greedy reconstructions (from the posterior means) of a split's
    sentences against the sentences themselves (as read, before <unk> and truncation), at
    most the first RECONSTRUCTION_LIMIT of them.  -> {recon_bleu, recon_rouge1, ...}"""
    from minivae.generation_metrics import corpus_bleu
    from minivae.text_metrics import rouge

    encoded = data.split(split)
    short = [i for i, ids in enumerate(encoded.ids) if len(ids) <= REPORT_MAX_WORDS]
    rows = np.asarray(short[:RECONSTRUCTION_LIMIT], dtype=np.int64)
    references = [" ".join(data.references(split)[i]) for i in rows]
    hypotheses = []
    for start in range(0, len(rows), 64):
        batch = batch_of(encoded, rows[start : start + 64])
        mean = model.mean_code(params, model.posterior(params, batch, kernel))
        out = decode(model, params, mean, max_len=max_len, kernel=kernel)
        hypotheses += [" ".join(data.vocab.decode(ids)) for ids in out]
    scores = {"recon_bleu": corpus_bleu(hypotheses, [[r] for r in references])}
    scores.update({f"recon_{k}": v for k, v in rouge(hypotheses, references).items()})
    return scores


RECONSTRUCTION_LIMIT = 1000
# The report leaves out of its test scores and reconstructions the sentences longer than
# this: one 300,000-word line would take minutes to score a word at a time after a run of
# seconds (and a 45-word reconstruction of it says nothing). ``minivae eval`` scores all.
REPORT_MAX_WORDS = 1000
SHOWN_WORDS = 60  # a sentence printed in the report is cut here


def within_length(encoded, limit: int | None = None):
    """-> (the encoded set without its sentences over ``limit`` words (default
    ``REPORT_MAX_WORDS``), how many were left out)."""
    limit = REPORT_MAX_WORDS if limit is None else limit
    keep = [i for i, ids in enumerate(encoded.ids) if len(ids) <= limit]
    if len(keep) == len(encoded.ids):
        return encoded, 0
    src = None if encoded.src is None else [encoded.src[i] for i in keep]
    subset = replace(encoded, ids=[encoded.ids[i] for i in keep], kept=encoded.kept[keep], src=src)
    return subset, len(encoded.ids) - len(keep)


def shown(text: str, limit: int = SHOWN_WORDS) -> str:
    """A sentence for the report: its first ``limit`` words, and how many more there are."""
    words = text.split(" ")
    if len(words) <= limit:
        return text
    return " ".join(words[:limit]) + f" ... ({len(words) - limit} more words)"


def final_report(trainer: Trainer, log=print, num_samples: int = 5) -> dict:
    """Evaluate the best checkpoint (``cfg.selection_name``, what ``minivae eval`` and the
    other commands load) on the validation (and test) set, print samples etc., save plots
    and report.json."""
    cfg, model, vocab = trainer.cfg, trainer.model, trainer.data.vocab
    params, best_epoch = trainer.best_params()
    kernel = cfg.kernel
    metrics = trainer.evaluate(
        "valid", iw_samples=cfg.iw_samples, progress=trainer.progress_bar, params=params
    )
    metrics["epoch"] = best_epoch
    log(f"\n== The best checkpoint: epoch {best_epoch} ({cfg.selection_name}), best.npz")
    words = metrics["num_tokens"]
    baseline = unigram_nll(trainer.data.train.ids, trainer.data.valid.ids, len(vocab))
    metrics["unigram_nll"] = baseline
    metrics["unigram_ppl"] = perplexity(baseline * metrics["num_sentences"], words)
    rng = np.random.default_rng(cfg.seed)

    valid = batch_of(trainer.data.valid, np.arange(min(num_samples, len(trainer.data.valid.ids))))
    context = None
    if model.conditional:
        context = model.condition_context(params, valid.src, valid.src_lengths, kernel)
    title = (
        "the prior network p(z|c), for held-out conditions"
        if context is not None
        else "the prior p(z)"
    )
    log(f"\n== Samples from {title}")
    code = model.prior_code(params, 1 if context is not None else num_samples, rng, context)
    for name, kw in (
        ("greedy", {"method": "greedy"}),
        ("temperature 0.8, top-k 20", {"method": "sample", "temperature": 0.8, "top_k": 20}),
        ("beam 5", {"method": "beam", "beam_size": 5}),
    ):
        log(f"  [{name}]")
        out = decode(model, params, code, max_len=cfg.max_len, rng=rng, kernel=kernel, **kw)
        for row, ids in enumerate(out):
            given = (
                f"[{' '.join(trainer.data.kept_conditions('valid')[row])}] "
                if context is not None
                else ""
            )
            log(f"    {given}{vocab.text(ids)}")

    log("\n== Reconstructions of held-out sentences (posterior mean, greedy)")
    post = model.posterior(params, valid, kernel)
    mean = model.mean_code(params, post)
    for ids, rec in zip(
        valid.tokens, decode(model, params, mean, max_len=cfg.max_len, kernel=kernel)
    ):
        log(f"    in:  {shown(vocab.text(ids[ids > 0]))}\n    out: {vocab.text(rec)}")

    if not model.conditional and len(mean) > 1:
        # With several latent layers, a path in each (the others follow from it).
        layers = list(model.latent_sizes) if len(model.latent_sizes) > 1 else [None]
        for layer in layers:
            where = "posterior means" if layer is None else f"posterior means of {layer}"
            log(f"\n== Interpolation between two held-out sentences (slerp between {where})")
            path = posterior_path(model, params, post, layer, steps=5, mode="slerp")
            for ids in decode(model, params, path, max_len=cfg.max_len, kernel=kernel):
                log(f"    {vocab.text(ids)}")

    metrics.update(
        reconstruction_scores(model, params, trainer.data, "valid", cfg.max_len + 5, kernel)
    )
    log("\n== Validation metrics (per sentence; perplexity per word incl. <eos>)")
    log_metrics(metrics, model, cfg.iw_samples, log)
    log(f"    unigram baseline NLL {baseline:.2f}, perplexity {metrics['unigram_ppl']:.2f}")
    test_set, long_ones = (
        (None, 0) if trainer.data.test is None else within_length(trainer.data.test)
    )
    if long_ones:
        log(
            f"\n    note: {long_ones} test sentences over {REPORT_MAX_WORDS} words are left out "
            f"of this report's test scores; minivae eval {trainer.out} --split test scores all"
        )
    if test_set is not None and len(test_set.ids):
        test = evaluate(
            model,
            params,
            eval_batches(test_set, cfg.batch_size),
            iw_samples=cfg.iw_samples,
            seed=cfg.seed,
            kernel=kernel,
            progress=trainer.progress_bar,
        )
        if long_ones:
            test["left_out_over_max_words"] = long_ones
        test.update(
            reconstruction_scores(model, params, trainer.data, "test", cfg.max_len + 5, kernel)
        )
        log(f"\n== Test metrics ({test['num_sentences']} sentences, {test['num_tokens']} tokens)")
        log_metrics(test, model, cfg.iw_samples, log)
        metrics["test"] = test
    metrics.update(cfg.task_metrics(model, params, trainer.data, log, out=trainer.out))

    plots = [plot_curves(trainer.out / "metrics.jsonl", trainer.out / "curves.png")]
    if sum(model.latent_sizes.values()) > 0:  # a model without a latent variable has no map
        mu_all = latent_means(trainer, trainer.data.valid, params=params)
        attrs = trainer.data.attrs("valid")
        if attrs:
            key = "topic" if "topic" in attrs[0] else sorted(attrs[0])[0]
            labels = [a[key] for a in attrs]
        else:
            key = "length"
            labels = [
                "1-9 words" if len(ids) < 10 else "10-19 words" if len(ids) < 20 else "20+ words"
                for ids in trainer.data.valid.ids
            ]
        plots.append(plot_latent(mu_all, labels, trainer.out / "latent.png", key))
    write_json_atomic(trainer.out / "report.json", metrics)
    plots += [p for p in sorted(trainer.out.glob("*.png")) if p not in plots]  # the task's
    files = [*plots, trainer.out / "metrics.jsonl", trainer.out / "best.npz"]
    files += [trainer.out / "last.npz", trainer.out / "report.json"]
    log(f"\n== Files in {trainer.out}: " + ", ".join(p.name for p in files))
    return metrics


def log_metrics(m: dict, model, iw_samples: int, log=print) -> None:
    """The likelihood metrics of ``evaluation.evaluate``, a few lines for people."""
    log(f"    -ELBO {m['nelbo']:.2f} = rec {m['rec']:.2f} + KL {m['kl']:.2f}")
    log(f"    NLL (importance-weighted, K={iw_samples}) {m['nll']:.2f}, perplexity {m['ppl']:.2f}")
    sizes = model.latent_sizes
    per_batch = ""
    if "mi_per_batch" in m:  # He et al.'s estimate, for comparison with their tables
        per_batch = f" (per batch, as He et al.: {m['mi_per_batch']:.2f})"
    log(
        f"    mutual information I(x;z) {m['mi']:.2f} nats{per_batch}, active units "
        f"{m['active_units']}/{sum(sizes.values())}"
    )
    if "recon_bleu" in m:  # the final report's; ``minivae eval`` does not decode
        log(
            f"    reconstructions: BLEU {m['recon_bleu']:.1f}, ROUGE-1/2/L "
            f"{m['recon_rouge1']:.1f}/{m['recon_rouge2']:.1f}/{m['recon_rougeL']:.1f}"
        )
    if len(sizes) > 1:
        for name, size in sizes.items():
            gap = m.get(f"active_units_gap_{name}")
            gap = "" if gap is None else f" ({gap} by the gap from the prior network's mean)"
            log(
                f"    {name}: KL {m[f'kl_{name}']:.2f}, MI {m[f'mi_{name}']:.2f}, active units "
                f"{m[f'active_units_{name}']}/{size}{gap}"
            )
