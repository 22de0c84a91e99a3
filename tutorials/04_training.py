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
# # 4. Training the text VAE on the built-in corpus
#
# The pieces of tutorials 1–3 compose into one model:
#
# $$\text{tokens} \xrightarrow{\text{embed}} \text{LSTM}_{enc} \xrightarrow{h_T}
# (\mu, \log\sigma^2) \xrightarrow{z = \mu + \sigma\epsilon} \text{LSTM}_{dec}
# \xrightarrow{\text{affine}} \text{softmax}$$
#
# and the loss of one sentence is the negative ELBO
# $-\mathbb{E}_q[\log p(x|z)] + \beta\,\mathrm{KL}(q(z|x)\,\|\,p(z))$.
# `minivae.model.loss_and_grads` writes the forward pass op by op and walks the caches back
# in reverse. Here we check it, train it, and look at what the latent space learned.

# %%
import matplotlib.pyplot as plt
import numpy as np

from minivae.data import builtin_corpus
from minivae.gradcheck import format_table
from minivae.gradcheck.models import check_model
from minivae.model import ModelConfig, TextVAE
from minivae.model.run_config import TrainConfig
from minivae.training.report import latent_means
from minivae.training.trainer import Trainer

# %% [markdown]
# ## The corpus: sentences with known attributes
# Each built-in sentence has a topic, a sentiment, a tense and a length class, chosen at
# random and written into its words. The model never sees these labels; we use them only to
# look at the latent space afterwards.

# %%
for s in builtin_corpus(6, seed=1):
    print(f"{' '.join(s.tokens):75s} {s.attrs}")

# %% [markdown]
# ## The whole model's gradient, checked
# Before training anything, every parameter's gradient is compared with central differences
# (float64, fixed noise, no dropout) on a tiny model.

# %%
rows = check_model(TextVAE(ModelConfig(vocab_size=11, embed_dim=4, hidden_dim=5, latent_dim=3)))
print(format_table(rows))
assert all(r.passed for r in rows)

# %% [markdown]
# ## Training
# The default model (E=64, H=128, Z=16) on 6000 sentences for 8 epochs (about half a minute
# on a laptop CPU), with the three remedies against posterior collapse on (tutorial 5 shows
# each one's effect): the KL weight $\beta$ rises linearly from 0, half of the decoder's input
# words are replaced by `<unk>`, and each latent dimension keeps 0.5 nats.

# %%
cfg = TrainConfig(
    builtin_size=6000,
    epochs=8,
    kl_warmup=600,
    word_dropout=0.5,
    free_bits=0.5,
    device="cpu",
    out="runs/tutorial04",
)
trainer = Trainer(cfg, progress_bar=False, overwrite=True)
trainer.run()
history = trainer.progress.history

# %%
epochs = [h["epoch"] for h in history]
fig, axes = plt.subplots(1, 4, figsize=(16, 3.5))
axes[0].plot(epochs, [h["nelbo"] for h in history], "o-", label="-ELBO")
axes[0].plot(epochs, [h["rec"] for h in history], "o-", label="reconstruction")
axes[0].legend()
axes[1].plot(epochs, [h["kl"] for h in history], "o-", color="C2")
axes[1].set_title("KL (nats / sentence)")
axes[2].plot(epochs, [h["mi"] for h in history], "o-", color="C4")
axes[2].set_title("mutual information I(x; z)")
axes[3].plot(epochs, [h["active_units"] for h in history], "o-", color="C3")
axes[3].set_title(f"active units (of {cfg.latent_dim})")
for ax in axes:
    ax.set_xlabel("epoch")
plt.tight_layout()
plt.show()

# %% [markdown]
# A model that uses its latent space: the validation loss falls, the KL stays well above
# zero, the posterior means of most dimensions differ from sentence to sentence (active
# units), and $z$ tells sentences apart (mutual information of a few nats). A collapsed model
# would show KL near 0, no active units and no mutual information; these asserts would fail.

# %%
last = history[-1]
assert last["nelbo"] < history[0]["nelbo"]
assert last["kl"] > 3.0, "posterior collapse: the KL went to zero"
assert last["active_units"] >= cfg.latent_dim // 2, "most latent dimensions should be active"
assert last["mi"] > 1.0, "z should say which sentence it came from"

# %% [markdown]
# ## Samples and reconstructions

# %%
from minivae.blocks.inference import posterior  # noqa: E402
from minivae.generation import decode  # noqa: E402

vocab, params, model = trainer.data.vocab, trainer.params, trainer.model
config = model.config
z = np.random.default_rng(0).standard_normal((5, config.latent_dim)).astype(np.float32)
for ids in decode(
    model, params, z, method="sample", temperature=0.8, top_k=20, rng=np.random.default_rng(0)
):
    print("sample:", vocab.text(ids))
valid = trainer.data.valid
ids = valid.ids[:8]
tokens = np.zeros((len(ids), max(map(len, ids))), dtype=np.int64)
for i, row in enumerate(ids):
    tokens[i, : len(row)] = row
mu, _ = posterior(params, config, tokens, np.array([len(r) for r in ids]))
reconstructions = decode(model, params, mu)
for row, rec in zip(ids, reconstructions):
    print(f"in:  {vocab.text(row)}\nout: {vocab.text(rec)}")

# %% [markdown]
# Different sentences come back as different sentences, mostly of the same topic and length:
# a collapsed model decodes every $z$ to the same sentence, and this would fail.

# %%
distinct = {tuple(r) for r in reconstructions}
print(f"{len(distinct)} distinct reconstructions of {len(ids)} sentences")
assert len(distinct) >= len(ids) // 2

# %% [markdown]
# ## What the latent space learned
# The posterior means of the held-out sentences in 2-D, coloured by each known attribute:
# PCA (top row: where the variance is) and the linear discriminants of that attribute
# (bottom row: the directions that best separate its values; with two values only the first
# axis means anything). An attribute the model encodes in $z$ shows up as separated colours.

# %%
from minivae.training.plots import lda_2d, pca_2d  # noqa: E402

mu_all = latent_means(trainer, valid)
attrs = trainer.data.attrs("valid")
fig, axes = plt.subplots(2, 4, figsize=(16, 7.5))
for col, key in enumerate(["topic", "sentiment", "tense", "length"]):
    labels = [a[key] for a in attrs]
    for row, (name, xy) in enumerate([("PCA", pca_2d(mu_all)), ("LD", lda_2d(mu_all, labels))]):
        ax = axes[row, col]
        for value in sorted(set(labels)):
            pick = np.array([label == value for label in labels])
            ax.scatter(xy[pick, 0], xy[pick, 1], s=5, alpha=0.6, label=value)
        ax.set_title(f"{key}: {'PCA' if name == 'PCA' else 'linear discriminants'}")
        ax.set_xlabel(f"{name} 1")
        ax.set_ylabel(f"{name} 2")
        ax.legend(markerscale=3, fontsize=7)
plt.tight_layout()
plt.show()

# %% [markdown]
# How well does $z$ alone predict each attribute? A nearest-class-mean classifier on the
# posterior means gives a number to go with the picture (chance is 1 / number of values).
# Topic and length are what this model puts in $z$; sentiment and tense, which change one or
# two words of a sentence, it leaves mostly to the decoder.

# %%
accuracy = {}
for key in ["topic", "sentiment", "tense", "length"]:
    labels = np.array([a[key] for a in attrs])
    means = {v: mu_all[labels == v].mean(0) for v in set(labels)}
    values = sorted(means)
    dist = np.stack([((mu_all - means[v]) ** 2).sum(1) for v in values], axis=1)
    accuracy[key] = (np.array(values)[dist.argmin(1)] == labels).mean()
    print(f"{key:10s} accuracy from z: {accuracy[key]:.2f} (chance {1 / len(values):.2f})")
assert accuracy["topic"] > 0.75, "the topic should be readable from z (chance 0.25)"
assert accuracy["length"] > 0.8, "the sentence length should be readable from z (chance 0.5)"
