"""Training a conditional VAE, its task metrics, and its checkpoint.

A run folder holds ``model.npz`` (parameters, with the configs and vocabularies as JSON
inside; written atomically after every epoch and loadable with ``allow_pickle=False``),
``config.json`` (the same JSON, for people), ``metrics.jsonl`` (a row per epoch) and
``metrics.json`` (the final evaluation).
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from minivae.backend import make_rng, resolve_device, xp_for
from minivae.conditional.config import CVAEConfig, CVAETrainConfig
from minivae.conditional.data import (
    Condition,
    PairDataset,
    iterate_pair_batches,
    load_pairs,
    make_batch,
    prepare_pairs,
    references_by_source,
)
from minivae.conditional.generate import encode_conditions, generate, reconstruct
from minivae.conditional.metrics import (
    attribute_agreement,
    bleu_precision_recall,
    corpus_bleu,
    distinct_n,
    evaluate_likelihood,
)
from minivae.conditional.model import loss_and_grads
from minivae.conditional.params import cvae_param_shapes, init_cvae_params
from minivae.data import Vocab
from minivae.training.checkpoint import (
    CheckpointError,
    check_param_shapes,
    load_checkpoint,
    save_checkpoint,
)
from minivae.training.optim import Adam, clip_by_global_norm
from minivae.training.schedules import kl_weight

DEFAULT_EPOCHS = {"label": 12, "translate": 20, "dialogue": 20}
KIND = "cvae"


def model_config_for(cfg: CVAETrainConfig, data: PairDataset) -> CVAEConfig:
    label = cfg.condition == "label"
    return CVAEConfig(
        vocab_size=len(data.vocab),
        condition=cfg.condition,
        src_vocab_size=0 if label else data.condition.size,
        num_classes=data.condition.size if label else 0,
        cond_dim=cfg.cond_dim,
        embed_dim=cfg.embed_dim,
        hidden_dim=cfg.hidden_dim,
        latent_dim=cfg.latent_dim,
        prior_dim=cfg.prior_dim,
        cell=cfg.cell,
        z_mode=cfg.z_mode,
        bow=cfg.bow,
    )


def prepare_data(cfg: CVAETrainConfig, vocab=None, condition=None) -> PairDataset:
    """The run's pairs, split and encoded (with a trained model's vocabularies, if given)."""
    pairs, source = load_pairs(cfg.task, cfg.pairs, cfg.num_pairs, cfg.seed, cfg.label_attrs)
    if cfg.lowercase:
        pairs = [([w.lower() for w in s], [w.lower() for w in t]) for s, t in pairs]
    return prepare_pairs(
        pairs, cfg.condition, cfg.max_len, cfg.valid_fraction, cfg.seed, source, vocab, condition
    )


def train(cfg: CVAETrainConfig, progress_bar: bool = True, log=print, data=None) -> dict:
    """Train to the last epoch, evaluate, write the run folder.  -> the final metrics

    ``data``: an already prepared ``PairDataset`` (else built from ``cfg``).
    """
    start = time.perf_counter()
    device = resolve_device(cfg.device, quiet=True)
    xp = xp_for(device)
    data = data if data is not None else prepare_data(cfg)
    config = model_config_for(cfg, data)
    params = init_cvae_params(config, seed=cfg.seed, dtype=np.dtype(cfg.dtype), xp=xp)
    optimizer = Adam(lr=cfg.lr)
    noise_rng = make_rng(cfg.seed, device)
    epochs = cfg.epochs or DEFAULT_EPOCHS[cfg.task]
    steps_per_epoch = math.ceil(len(data.train) / cfg.batch_size)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    meta = checkpoint_meta(cfg, config, data)
    _write_json_atomic(out / "config.json", meta)
    log(
        f"data: {data.source}: {len(data.train)} training and {len(data.valid)} validation "
        f"pairs; target vocabulary {len(data.vocab)}, condition {data.condition.kind} "
        f"({data.condition.size} {'classes' if config.condition == 'label' else 'words'})"
    )
    log(
        f"model: {config.cell.upper()} CVAE, E={config.embed_dim} H={config.hidden_dim} "
        f"Z={config.latent_dim} C={config.c_dim}, bag-of-words loss {config.bow}; {epochs} "
        f"epochs on {device}"
    )
    step = 0
    with (out / "metrics.jsonl").open("w") as rows:
        for epoch in range(epochs):
            batch_rng = np.random.default_rng([cfg.seed, epoch])
            batches = list(
                iterate_pair_batches(data.train, cfg.batch_size, config.condition, batch_rng)
            )
            bar = tqdm(
                batches,
                desc=f"epoch {epoch + 1}/{epochs}",
                disable=not progress_bar,
                file=sys.stderr,
                dynamic_ncols=True,
            )
            for batch in bar:
                beta = kl_weight(
                    step,
                    cfg.kl_schedule,
                    warmup=cfg.kl_warmup,
                    beta_max=cfg.beta_max,
                    total_steps=epochs * steps_per_epoch,
                )
                terms, grads = loss_and_grads(
                    params,
                    batch,
                    config,
                    beta=beta,
                    rng=noise_rng,
                    word_dropout=cfg.word_dropout,
                    free_bits=cfg.free_bits,
                )
                norm = clip_by_global_norm(grads, cfg.clip)
                if not (math.isfinite(terms.loss) and math.isfinite(norm)):
                    raise FloatingPointError(
                        f"loss became {terms.loss} at step {step + 1}; try a lower --lr"
                    )
                optimizer.step(params, grads)
                step += 1
                if step % 10 == 0:
                    bar.set_postfix(
                        rec=f"{terms.rec:.2f}", kl=f"{terms.kl:.2f}", bow=f"{terms.bow:.1f}"
                    )
            valid = evaluate_likelihood(params, config, _valid_batches(data, cfg), iw_samples=0)
            row = {"epoch": epoch + 1, "step": step, "beta": beta, **valid}
            rows.write(json.dumps(row) + "\n")
            rows.flush()
            log(
                f"epoch {epoch + 1}: valid -ELBO {valid['nelbo']:.2f} (rec {valid['rec']:.2f}, "
                f"KL {valid['kl']:.2f}), active units {valid['active_units']}/"
                f"{config.latent_dim}, beta {beta:.2f}"
            )
            save_checkpoint(out / "model.npz", params, meta)
    metrics = evaluate_task(params, config, data, cfg, log=log)
    metrics["train_seconds"] = time.perf_counter() - start
    _write_json_atomic(out / "metrics.json", metrics)
    return metrics


def _valid_batches(data: PairDataset, cfg: CVAETrainConfig):
    return iterate_pair_batches(data.valid, cfg.batch_size, data.condition.kind)


def _text(vocab: Vocab, ids) -> str:
    return " ".join(vocab.decode(ids))


def evaluate_task(params, config: CVAEConfig, data: PairDataset, cfg, log=print) -> dict:
    """Likelihood terms on the validation pairs, and the task's own metrics:

    translate: corpus BLEU of greedy decoding from the prior mean (one translation per
    source) and of reconstruction from the posterior mean; dialogue: BLEU precision and
    recall over each context's references with ``num_samples`` samples, distinct-1/2;
    label: distinct-1/2 and attribute agreement of samples for every class.
    """
    rng = np.random.default_rng(cfg.seed)
    metrics = evaluate_likelihood(
        params, config, _valid_batches(data, cfg), iw_samples=cfg.iw_samples, seed=cfg.seed
    )
    vocab, kind = data.vocab, data.condition.kind
    max_len = cfg.max_len + 5
    batch = make_batch(data.valid, np.arange(len(data.valid)), kind)
    recon = reconstruct(params, config, batch, max_len=max_len)
    references = [[" ".join(t)] for _, t in data.valid.pairs]
    metrics["recon_bleu"] = corpus_bleu([_text(vocab, r) for r in recon], references)
    n = cfg.num_samples
    if cfg.task == "translate":
        out = generate(
            params, config, batch.src, batch.src_lengths, 1, use_mean=True, max_len=max_len
        )
        hyps = [_text(vocab, o[0]) for o in out]
        metrics["bleu"] = corpus_bleu(hyps, references)
        examples = list(zip(data.valid.pairs, hyps))[:3]
        for (s, t), h in examples:
            log(f"  {' '.join(s)}\n    reference: {' '.join(t)}\n    model:     {h}")
    elif cfg.task == "dialogue":
        all_refs = references_by_source(data.train.pairs + data.valid.pairs)
        contexts = sorted({tuple(s) for s, _ in data.valid.pairs})
        src, lengths = encode_conditions(data.condition, [" ".join(c) for c in contexts])
        out = generate(params, config, src, lengths, n, method="greedy", rng=rng, max_len=max_len)
        samples = [[_text(vocab, ids) for ids in o] for o in out]
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
        src = np.arange(len(classes))
        out = generate(params, config, src, None, n * 4, method="greedy", rng=rng, max_len=max_len)
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
                log(f"    {_text(vocab, ids)}")
    log(format_metrics(metrics))
    return metrics


def format_metrics(metrics: dict) -> str:
    parts = []
    for k, v in metrics.items():
        parts.append(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}")
    return "metrics: " + ", ".join(parts)


# -- the checkpoint ---------------------------------------------------------------------------


def checkpoint_meta(cfg: CVAETrainConfig, config: CVAEConfig, data: PairDataset) -> dict:
    return {
        "kind": KIND,
        "train_config": cfg.to_dict(),
        "cvae_config": config.to_dict(),
        "vocab": data.vocab.to_dict(),
        "condition": data.condition.to_dict(),
    }


def load_cvae(path):
    """-> (params on the host, CVAEConfig, target Vocab, Condition, CVAETrainConfig)"""
    path = Path(path)
    if path.is_dir():
        path = path / "model.npz"
    params, meta, _ = load_checkpoint(path)
    if meta.get("kind") != KIND:
        raise CheckpointError(f"{path} is not a conditional-VAE checkpoint (minivae cvae train)")
    config = CVAEConfig.from_dict(meta["cvae_config"])
    vocab = Vocab.from_dict(meta["vocab"])
    condition = Condition.from_dict(meta["condition"])
    if len(vocab) != config.vocab_size:
        raise CheckpointError(
            f"{path}: vocabulary has {len(vocab)} words, the model needs {config.vocab_size}"
        )
    check_param_shapes(params, cvae_param_shapes(config), path)
    return params, config, vocab, condition, CVAETrainConfig.from_dict(meta["train_config"])


def _write_json_atomic(path: Path, obj) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(obj, f, indent=2)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
