"""The dialogue task: responses sampled for contexts (z from the prior network, each decoded
greedily), their BLEU and distinct-n (``minivae.dialogue.metrics``), the dump of what was
scored, and the final report of a training run."""

from __future__ import annotations

import numpy as np

from minivae.data import iterate_batches
from minivae.dialogue.data import pairs_batch, pairs_of
from minivae.dialogue.metrics import END, response_scores, words_of
from minivae.generation import decode


def respond(model, params, batch, num: int, rng, how: dict | None = None):
    """``num`` responses (id lists) to each context of a batch, each decoded greedily from
    its own z ~ p(z|c). how: ``acts`` (P,) the act each must have (default None: the
    model's choice), ``kernel``, ``max_len`` (decoding steps, default 40, as DialogWAE's).
    -> one list of ``num`` id lists per pair"""
    how = how or {}
    kernel = how.get("kernel", "auto")
    c = model.contexts(params, batch, kernel)
    code = model.prior_code(params, num, rng, (c, how.get("acts")))
    flat = decode(
        model, params, code, method="greedy", max_len=how.get("max_len", 40), kernel=kernel
    )
    return [flat[i * num : (i + 1) * num] for i in range(c.shape[0])]


def sampled_pairs(model, params, cfg, corpus, limit: int = 0):
    """Responses to the first ``limit`` pairs of an encoded split (0: all), in pair order.
    -> [(dialogue index, turn, [num_samples id lists])]"""
    rng = np.random.default_rng(cfg.seed)
    order = pairs_of(corpus)
    wanted = len(order) if not limit else min(limit, len(order))
    out = []
    for batch in iterate_batches(corpus, cfg.batch_size, shuffle=False, bucket=False):
        how = {"kernel": cfg.kernel, "max_len": cfg.max_len}
        out += respond(model, params, batch, cfg.num_samples, rng, how)
        if len(out) >= wanted:
            break
    return [(d, t, s) for (d, t), s in zip(order[:wanted], out)]


def scored_text(vocab, ids, ended: bool = True) -> list:
    """The tokens that are scored, as DialogWAE's code scores them: the words of ``ids``
    (<unk> kept) up to <eos>, then ``END`` ("</s>") if the sentence ended (a reference
    always does; a response when it stopped within the decoding limit)."""
    return vocab.decode(ids) + ([END] if ended else [])


def scored_samples(vocab, group, max_len: int) -> list:
    """Scored tokens of responses decoded with at most ``max_len`` steps: one of
    ``max_len`` words never produced <eos>."""
    return [scored_text(vocab, s, len(s) < max_len) for s in group]


def response_metrics(model, params, cfg, data, split: str, limit: int = 0):
    """BLEU recall/precision/F1 and distinct-n over ``cfg.num_samples`` responses to each of
    the first ``limit`` pairs of a split (0: all), scored as DialogWAE scores them
    (``scored_text``).
    -> ({name: float} with ``pairs``, the sampled rows)"""
    corpus, vocab = data.split(split), data.vocab
    rows = sampled_pairs(model, params, cfg, corpus, limit)
    samples = [scored_samples(vocab, group, cfg.max_len) for _, _, group in rows]
    references = [scored_text(vocab, corpus.ids[d][t]) for d, t, _ in rows]
    metrics = response_scores(samples, references)
    metrics["pairs"] = len(rows)
    return metrics, rows


def dump_rows(vocab, corpus, rows, max_len: int):
    """JSON-able rows of sampled pairs: {"context", "reference", "samples"} in the tokens
    that were scored (the context: the words of its turns as the model read them)."""
    out = []
    for d, t, group in rows:
        turns = corpus.ids[d][max(0, t - corpus.max_context) : t]
        out.append(
            {
                "context": [" ".join(scored_text(vocab, u, ended=False)) for u in turns],
                "reference": " ".join(scored_text(vocab, corpus.ids[d][t])),
                "samples": [" ".join(s) for s in scored_samples(vocab, group, max_len)],
            }
        )
    return out


SHOWN = 2  # contexts the final report shows with their samples


def show_responses(model, params, cfg, data, split: str, log=print) -> None:
    """A few contexts of a split with ``cfg.num_samples`` responses each, side by side."""
    corpus = data.split(split)
    rows = sampled_pairs(model, params, cfg, corpus, SHOWN)
    for row in dump_rows(data.vocab, corpus, rows, cfg.max_len):
        log("\n    context:   " + "\n               ".join(row["context"][-3:]))
        log(f"    reference: {_words(row['reference'])}")
        for s in row["samples"][:5]:
            log(f"    sample:    {_words(s)}")


def _words(text: str) -> str:
    return " ".join(words_of(text.split()))


def context_batch(turn_ids, max_context: int):
    """One context (a list of id arrays, oldest first) -> a batch of one pair with no
    response; the speakers alternate back from the responder."""
    window = list(turn_ids)[-max_context:]
    L = len(window)
    speakers = [int((L - j) % 2 == 0) for j in range(L)]
    return pairs_batch(window or [np.zeros(1, np.int64)], ([list(range(L))], [speakers], [-1], [0]))


def dialogue_report(trainer, log=print) -> dict:
    """The final report of ``minivae dialog train``: the best checkpoint's likelihood metrics
    on the validation and test responses (the shared ``evaluation.evaluate``), the response
    metrics and samples (``task_metrics``), curves.png and report.json."""
    from minivae.training.checkpoint import write_json_atomic
    from minivae.training.plots import plot_curves
    from minivae.training.report import log_metrics

    cfg, model = trainer.cfg, trainer.model
    params, best_epoch = trainer.best_params()
    log(f"\n== The best checkpoint: epoch {best_epoch} ({cfg.selection_name}), best.npz")
    metrics = trainer.evaluate("valid", iw_samples=cfg.iw_samples, params=params)
    metrics["epoch"] = best_epoch
    log("\n== Validation responses (per response; perplexity per word incl. <eos>)")
    log_metrics(metrics, model, cfg.iw_samples, log)
    if trainer.data.test is not None:
        test = trainer.evaluate("test", iw_samples=cfg.iw_samples, params=params)
        log(f"\n== Test responses ({test['num_sentences']} responses)")
        log_metrics(test, model, cfg.iw_samples, log)
        metrics["test"] = test
    metrics.update(cfg.task_metrics(model, params, trainer.data, log, out=trainer.out))
    metrics["train_minutes"] = trainer.minutes_used()
    plot_curves(trainer.out / "metrics.jsonl", trainer.out / "curves.png")
    write_json_atomic(trainer.out / "report.json", metrics)
    log(f"\n== Files in {trainer.out}: curves.png, metrics.jsonl, best.npz, last.npz, report.json")
    return metrics


def act_control(model, params, cfg, data, num: int = 200) -> dict:
    """With y set to each act, the share of ``num`` responses (one to each of the first
    ``num`` test contexts) that an act classifier (``acts.ActClassifier``, trained on the
    training turns) assigns to that act, and that share among responses without control
    (y from p(y|z,c)). -> {act_classifier_accuracy, act_<name>_controlled, _uncontrolled}"""
    from minivae.dialogue.acts import ActClassifier
    from minivae.dialogue.data import ACTS

    if not model.config.act_dim:
        raise ValueError("the model has no act y (act_dim 0): nothing to control")
    raw = data.raw
    split = "test" if "test" in raw else "valid"
    clf = ActClassifier().fit(
        [t for d in raw["train"] for t in d.turns], [a for d in raw["train"] for a in d.acts]
    )
    out = {
        "act_classifier_accuracy": clf.accuracy(
            [t for d in raw[split] for t in d.turns], [a for d in raw[split] for a in d.acts]
        )
    }
    corpus = data.split(split)
    batches = []
    for batch in iterate_batches(corpus, cfg.batch_size, shuffle=False, bucket=False):
        batches.append(batch)
        if sum(len(b.lengths) for b in batches) >= num:
            break
    how = {"kernel": cfg.kernel, "max_len": cfg.max_len}

    def predicted(acts):
        rng = np.random.default_rng(cfg.seed)
        labels = []
        for batch in batches:
            given = None if acts is None else [acts] * len(batch.lengths)
            for group in respond(model, params, batch, 1, rng, {**how, "acts": given}):
                labels.append(clf.predict(data.vocab.decode(group[0])))
        return np.array(labels[:num])

    free = predicted(None)
    for act, name in enumerate(ACTS):
        out[f"act_{name}_controlled"] = float(np.mean(predicted(act) == act))
        out[f"act_{name}_uncontrolled"] = float(np.mean(free == act))
    return out
