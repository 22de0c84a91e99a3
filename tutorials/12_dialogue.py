# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 12. Dialogue: a hierarchical conditional VAE on whole conversations
#
# A response depends on the turns before it, and a good context has several good responses.
# Zhao et al. (2017)'s knowledge-guided CVAE (kgCVAE) models both (docs/dialogue.md):
#
# - an **utterance encoder**, a bidirectional LSTM: $u_i = [\overrightarrow{h}_i;
#   \overleftarrow{h}_i]$ for every turn, the response's included;
# - a **context RNN** over $[u_j; \text{speaker}_j]$ of the (up to 9) turns before a
#   response: its last state is the context $c$;
# - a **prior network** $p(z \mid c)$ and a **recognition network** $q(z \mid x, c, y)$, where
#   $x$ is the response and $y$ its dialogue act (the "knowledge");
# - $p(y \mid z, c)$, and a **decoder** $p(x \mid z, c, y)$: $[z; c; y]$ sets its first state
#   and $y$ joins every input, as in Zhao et al.'s released code;
# - the **bag-of-words loss** $-\sum_t \log \mathrm{softmax}(W \tanh(W_b[z; c] + b_b) + b)_{x_t}$:
#   every word of the response from $[z; c]$ at once, which the decoder's own context cannot
#   answer for.
#
# $$\mathcal{L} = -\log p(x \mid z, c, y) + \mathrm{KL}(q(z \mid x, c, y) \,\|\, p(z \mid c))
#   - \log p_{\mathrm{bow}}(x \mid z, c) - \log p(y \mid z, c), \quad z \sim q.$$
#
# Training reads **whole dialogues**: each turn is encoded once per batch, and each
# response's context is a small RNN over already-computed vectors. Without $z$
# (`latent_dim=0`) the same network is HRED, the baseline every table needs.
#
# This notebook trains on small invented conversations (built-in, so it runs anywhere in a
# minute or two); `minivae dialog train` does the same on DailyDialog.

# %%
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from minivae.conditional.data import dialogue_pairs
from minivae.dialogue.data import ACTS, read_dialogues, split_paths
from minivae.dialogue.run_config import DialogueTrainConfig
from minivae.dialogue.tasks import context_batch, respond, response_metrics
from minivae.gradcheck.models import check_model, model_cases
from minivae.training.trainer import Trainer

# %% [markdown]
# ## The data: conversations of two questions
# Each invented conversation asks a question (act *question*), gets one of its 3-5 valid
# answers (act *inform*), asks a second question and gets an answer: four turns, in the files
# DailyDialog uses (a dialogue per line, turns ending in `__eou__`, an act file beside it).

# %%
folder = Path(tempfile.mkdtemp()) / "toy-dialogues"
folder.mkdir()
pairs = dialogue_pairs(3600, seed=0)  # two (question, answer) pairs per conversation
for split, (start, n) in {
    "train": (0, 1400),
    "validation": (1400, 200),
    "test": (1600, 200),
}.items():
    chunk = pairs[2 * start : 2 * (start + n)]
    lines = [
        " __eou__ ".join(" ".join(t) for t in (q1, a1, q2, a2)) + " __eou__"
        for (q1, a1), (q2, a2) in zip(chunk[::2], chunk[1::2])
    ]
    (folder / f"dialogues_{split}.txt").write_text("\n".join(lines) + "\n")
    (folder / f"dialogues_act_{split}.txt").write_text("2 1 2 1\n" * len(lines))
first = read_dialogues(*split_paths(folder, "train"))[0]
for turn, act in zip(first.turns, first.acts):
    print(f"  [{ACTS[act]:>8}]  {' '.join(turn)}")

# %% [markdown]
# ## Every gradient, checked
# The loss and its backward pass are written op by op (`minivae/dialogue/model.py`); the
# gradient of every parameter is checked against central differences in float64.

# %%
label, model, kernel, options = next(c for c in model_cases() if c[1].kind == "dialogue")
# (the larger matrices along 70 random directions: a minute less; `minivae gradcheck` checks
# every entry)
rows = check_model(model, label=label, kernel=kernel, max_entries=70, tol=1e-5, **options)
print(f"{label}: {len(rows)} parameters, largest relative error {max(r.error for r in rows):.1e}")
assert all(r.passed for r in rows)

# %% [markdown]
# ## Three models, same data and budget
# The kgCVAE, the same without the bag-of-words loss, and HRED (no $z$).

# %%
SMALL = dict(
    data=str(folder),
    embed_dim=32,
    hidden_dim=64,
    context_dim=64,
    prior_dim=32,
    act_dim=8,
    latent_dim=8,
    max_vocab=None,
    epochs=3,
    batch_size=8,
    kl_warmup=300,
    valid_limit=0,
    num_samples=10,
    iw_samples=1,
    device="cpu",
)
runs = {
    "kgCVAE": dict(SMALL),
    "kgCVAE, no bag of words": dict(SMALL, bow=False),
    "HRED (no z)": dict(SMALL, latent_dim=0),
}
results = {}
for name, knobs in runs.items():
    cfg = DialogueTrainConfig(**knobs, out=f"runs/tutorial12/{len(results)}")
    trainer = Trainer(cfg, progress_bar=False, overwrite=True)
    trainer.run()
    valid = trainer.validate()
    scores, _ = response_metrics(trainer.model, trainer.params, cfg, trainer.data, "test", 100)
    results[name] = dict(trainer=trainer, valid=valid, scores=scores)
    print(
        f"{name:<24} KL {valid['kl']:.2f}, active units {valid['active_units']}, "
        f"BLEU recall {scores['bleu_recall']:.3f}, precision {scores['bleu_precision']:.3f}, "
        f"inter-distinct-2 {scores['inter_dist2']:.3f}"
    )

# %% [markdown]
# ## Why the bag-of-words loss keeps $z$ alive
# Without it, the decoder, which already reads $c$, can model a response without looking at
# $z$: the KL is pushed towards zero and few units stay active. With it, $[z; c]$ must predict
# the response's words *before* the decoder sees any of them, and $c$ alone cannot say which
# of the valid answers comes: $z$ has to.

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
names = list(results)
axes[0].bar(names, [results[n]["valid"]["kl"] for n in names], color="tab:blue")
axes[0].set_ylabel("validation KL (nats per response)")
axes[1].bar(names, [results[n]["scores"]["bleu_recall"] for n in names], color="tab:green")
axes[1].set_ylabel("test BLEU recall (best of 10)")
for ax in axes:
    ax.tick_params(axis="x", labelsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Ten responses to one context, side by side
# Each from its own $z \sim p(z \mid c)$, decoded greedily. HRED has no $z$: its ten
# responses are one.

# %%
kg, hred = results["kgCVAE"]["trainer"], results["HRED (no z)"]["trainer"]
turns = first.turns[:3]
print("context: " + " | ".join(" ".join(t) for t in turns))
shown = {}
for name, t in (("kgCVAE", kg), ("HRED", hred)):
    ids = [np.array(t.data.vocab.encode(turn), dtype=np.int64) for turn in turns]
    batch = context_batch(ids, t.model.config.max_context)
    out = respond(t.model, t.params, batch, 10, np.random.default_rng(0))[0]
    shown[name] = [t.data.vocab.text(o) for o in out]
for a, b in zip(shown["kgCVAE"], shown["HRED"]):
    print(f"  {a:<45} {b}")

# %% [markdown]
# What a collapsed model would fail: the KL is above zero, the ten samples differ, and the
# best of ten beats the no-$z$ model's BLEU recall.

# %%
assert results["kgCVAE"]["valid"]["kl"] > 0.5, "posterior collapse: z carries nothing"
assert len(set(shown["kgCVAE"])) >= 2, "the 10 samples should differ"
assert len(set(shown["HRED"])) == 1, "HRED decodes one response per context"
assert results["kgCVAE"]["scores"]["bleu_recall"] > results["HRED (no z)"]["scores"]["bleu_recall"]
