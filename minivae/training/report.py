"""What a person wants to see after training: metrics against a baseline, samples,
reconstructions, an interpolation, and the plots."""

from __future__ import annotations

import json
import math

import numpy as np

from minivae.backend import to_numpy
from minivae.evaluation import unigram_nll
from minivae.generation import decode, interpolate
from minivae.model.inference import posterior
from minivae.training.plots import plot_curves, plot_latent
from minivae.training.trainer import Trainer, valid_batches


def latent_means(trainer: Trainer, encoded) -> np.ndarray:
    """Posterior means of every sentence of an encoded set, in its original order."""
    mus, order = [], []
    for batch in valid_batches(encoded, trainer.cfg.batch_size):
        mu, _ = posterior(trainer.params, trainer.model_config, batch.tokens, batch.lengths)
        mus.append(to_numpy(mu))
        order.append(np.asarray(batch.index))
    out = np.empty((len(encoded.ids), trainer.model_config.latent_dim))
    out[np.concatenate(order)] = np.concatenate(mus)
    return out


def final_report(trainer: Trainer, log=print, num_samples: int = 5) -> dict:
    """Evaluate on the validation set, print samples etc., save plots and report.json."""
    cfg, config, params, vocab = (
        trainer.cfg,
        trainer.model_config,
        trainer.params,
        trainer.data.vocab,
    )
    xp = trainer.xp
    metrics = trainer.validate(iw_samples=cfg.iw_samples)
    words = metrics["num_tokens"]
    baseline = unigram_nll(trainer.data.train.ids, trainer.data.valid.ids, len(vocab))
    metrics["unigram_nll"] = baseline
    metrics["unigram_ppl"] = math.exp(baseline * metrics["num_sentences"] / words)
    rng = np.random.default_rng(cfg.seed)

    log("\n== Samples from the prior p(z) = N(0, I)")
    z = xp.asarray(rng.standard_normal((num_samples, config.latent_dim)), dtype=cfg.dtype)
    for name, kw in (
        ("greedy", {"method": "greedy"}),
        (
            "temperature 0.8, top-k 20",
            {"method": "sample", "temperature": 0.8, "top_k": 20, "rng": rng},
        ),
        ("beam 5", {"method": "beam", "beam_size": 5}),
    ):
        log(f"  [{name}]")
        for ids in decode(params, config, z, max_len=cfg.max_len, **kw):
            log(f"    {vocab.text(ids)}")

    log("\n== Reconstructions of held-out sentences (posterior mean, greedy)")
    batch = valid_batches(trainer.data.valid, num_samples)[0]
    mu, _ = posterior(params, config, batch.tokens, batch.lengths)
    for ids, rec in zip(batch.tokens, decode(params, config, mu, max_len=cfg.max_len)):
        log(f"    in:  {vocab.text(ids[ids > 0])}\n    out: {vocab.text(rec)}")

    log("\n== Interpolation between two held-out sentences (slerp between posterior means)")
    path = interpolate(mu[0], mu[1], steps=5, mode="slerp")
    for ids in decode(params, config, path, max_len=cfg.max_len):
        log(f"    {vocab.text(ids)}")

    log("\n== Validation metrics (per sentence; perplexity per word incl. <eos>)")
    log(f"    -ELBO {metrics['nelbo']:.2f} = rec {metrics['rec']:.2f} + KL {metrics['kl']:.2f}")
    log(
        f"    NLL (importance-weighted, K={cfg.iw_samples}) {metrics['nll']:.2f}, "
        f"perplexity {metrics['ppl']:.2f}"
    )
    log(f"    unigram baseline NLL {baseline:.2f}, perplexity {metrics['unigram_ppl']:.2f}")
    log(
        f"    mutual information I(x;z) {metrics['mi']:.2f} nats, active units "
        f"{metrics['active_units']}/{config.latent_dim}"
    )

    plots = [plot_curves(trainer.out / "metrics.jsonl", trainer.out / "curves.png")]
    mu_all = latent_means(trainer, trainer.data.valid)
    attrs = trainer.data.valid_attrs
    if attrs:
        key = "topic" if "topic" in attrs[0] else sorted(attrs[0])[0]
        plots.append(plot_latent(mu_all, [a[key] for a in attrs], trainer.out / "latent.png", key))
    else:
        bins = [
            "1-9 words" if len(ids) < 10 else "10-19 words" if len(ids) < 20 else "20+ words"
            for ids in trainer.data.valid.ids
        ]
        plots.append(plot_latent(mu_all, bins, trainer.out / "latent.png", "length"))
    log(
        "\n== Files in "
        + str(trainer.out)
        + ": "
        + ", ".join(
            p.name
            for p in [
                *plots,
                trainer.out / "metrics.jsonl",
                trainer.out / "best.npz",
                trainer.out / "last.npz",
            ]
        )
    )
    (trainer.out / "report.json").write_text(json.dumps(metrics, indent=2))
    return metrics
