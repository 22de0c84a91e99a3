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
from minivae.training.config import TrainConfig
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
# A small model, a few epochs, with the three remedies against posterior collapse on
# (tutorial 5 shows why): the KL weight $\beta$ rises linearly from 0, half of the
# decoder's input words are replaced by `<unk>`, and each latent dimension keeps 0.5 nats.

# %%
cfg = TrainConfig(
    builtin_size=3000,
    epochs=6,
    embed_dim=32,
    hidden_dim=64,
    latent_dim=8,
    kl_warmup=300,
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
fig, axes = plt.subplots(1, 3, figsize=(13, 3.5))
axes[0].plot(epochs, [h["nelbo"] for h in history], "o-", label="-ELBO")
axes[0].plot(epochs, [h["rec"] for h in history], "o-", label="reconstruction")
axes[0].legend()
axes[1].plot(epochs, [h["kl"] for h in history], "o-", color="C2")
axes[1].set_title("KL (nats / sentence)")
axes[2].plot(epochs, [h["active_units"] for h in history], "o-", color="C3")
axes[2].set_title("active units")
for ax in axes:
    ax.set_xlabel("epoch")
plt.tight_layout()
plt.show()

# %% [markdown]
# The validation loss must fall, and the KL must stay above zero: the encoder is telling
# the decoder something.

# %%
assert history[-1]["nelbo"] < history[0]["nelbo"]
assert history[-1]["kl"] > 0.5

# %% [markdown]
# ## Samples and reconstructions

# %%
from minivae.generation import decode  # noqa: E402
from minivae.model.inference import posterior  # noqa: E402

vocab, params, model = trainer.data.vocab, trainer.params, trainer.model
config = model.config
z = np.random.default_rng(0).standard_normal((5, config.latent_dim)).astype(np.float32)
for ids in decode(
    model, params, z, method="sample", temperature=0.8, top_k=20, rng=np.random.default_rng(0)
):
    print("sample:", vocab.text(ids))
valid = trainer.data.valid
ids = valid.ids[:4]
tokens = np.zeros((4, max(map(len, ids))), dtype=np.int64)
for i, row in enumerate(ids):
    tokens[i, : len(row)] = row
mu, _ = posterior(params, config, tokens, np.array([len(r) for r in ids]))
for row, rec in zip(ids, decode(model, params, mu)):
    print(f"in:  {vocab.text(row)}\nout: {vocab.text(rec)}")

# %% [markdown]
# ## What the latent space learned
# The posterior means of the held-out sentences, projected to 2-D with PCA and coloured by
# each known attribute. Attributes the model encodes in $z$ show up as separated colours.

# %%
mu_all = latent_means(trainer, valid)
centred = mu_all - mu_all.mean(0)
xy = centred @ np.linalg.svd(centred, full_matrices=False)[2][:2].T
attrs = trainer.data.attrs("valid")
fig, axes = plt.subplots(1, 4, figsize=(16, 3.8))
for ax, key in zip(axes, ["topic", "sentiment", "tense", "length"]):
    for value in sorted({a[key] for a in attrs}):
        pick = np.array([a[key] == value for a in attrs])
        ax.scatter(xy[pick, 0], xy[pick, 1], s=5, alpha=0.6, label=value)
    ax.set_title(key)
    ax.legend(markerscale=3, fontsize=7)
plt.tight_layout()
plt.show()

# %% [markdown]
# How well does $z$ alone predict each attribute? A nearest-class-mean classifier on the
# posterior means gives a number to go with the picture (chance is 1 / number of values).

# %%
for key in ["topic", "sentiment", "tense", "length"]:
    labels = np.array([a[key] for a in attrs])
    means = {v: mu_all[labels == v].mean(0) for v in set(labels)}
    values = sorted(means)
    dist = np.stack([((mu_all - means[v]) ** 2).sum(1) for v in values], axis=1)
    accuracy = (np.array(values)[dist.argmin(1)] == labels).mean()
    print(f"{key:10s} accuracy from z: {accuracy:.2f} (chance {1 / len(values):.2f})")
    if key == "length":
        assert accuracy > 0.6, "sentence length should be readable from z"
