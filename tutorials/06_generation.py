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
# # 6. Generation: greedy, temperature, top-k, beam search, and interpolation
#
# A trained decoder defines $p(x \mid z) = \prod_t p(w_t \mid w_{<t}, z)$. To write a sentence
# we pick a $z$ (from the prior $\mathcal{N}(0, I)$, or the posterior mean of a sentence) and
# choose words one at a time. How we choose is the decoding strategy:
#
# - **greedy**: $w_t = \arg\max_w p(w \mid w_{<t}, z)$;
# - **temperature** $\tau$: sample from $\mathrm{softmax}(\text{logits} / \tau)$ ($\tau \to 0$ is
#   greedy, $\tau = 1$ the model's own distribution, $\tau > 1$ flatter);
# - **top-k**: sample only among the $k$ likeliest words;
# - **beam search**: keep the $B$ best partial sentences by $\sum_t \log p$ and return the
#   best finished one (length-normalised).

# %%
import matplotlib.pyplot as plt
import numpy as np

from minivae.blocks.inference import decoder_start, decoder_step, posterior
from minivae.generation import _sample, beam_search, decode, interpolate
from minivae.model.run_config import TrainConfig
from minivae.training.trainer import Trainer

# %% [markdown]
# The model of tutorial 4 (the defaults, 6000 sentences, 8 epochs, about half a minute), which
# uses its latent space: decoding different codes gives different sentences only when $z$
# carries something, so we check that first. A collapsed model (no active unit) would make
# every strategy below decode the same few sentences whatever $z$ is.

# %%
cfg = TrainConfig(builtin_size=6000, epochs=8, kl_warmup=600, device="cpu", out="runs/tutorial06")
trainer = Trainer(cfg, progress_bar=False, overwrite=True)
trainer.run()
params, model, vocab = trainer.params, trainer.model, trainer.data.vocab
config = model.config
last = trainer.progress.history[-1]
print(f"KL {last['kl']:.2f} nats, active units {last['active_units']}/{config.latent_dim}")
assert last["active_units"] >= config.latent_dim // 2 and last["kl"] > 3.0

# %% [markdown]
# ## One step of the decoder
# The first word's distribution given $z = 0$, and what temperature does to it.

# %%
z0 = np.zeros((1, config.latent_dim), dtype=np.float32)
state = decoder_start(params, config, z0)
logp, _ = decoder_step(params, config, state, np.array([2]))  # 2 = <bos>
logits = logp[0].astype(np.float64)
top = np.argsort(logits)[::-1][:12]
fig, ax = plt.subplots(figsize=(11, 3.5))
for i, tau in enumerate([0.5, 1.0, 2.0]):
    p = np.exp(logits / tau - (logits / tau).max())
    p /= p.sum()
    ax.bar(np.arange(12) + 0.27 * (i - 1), p[top], width=0.27, label=f"temperature {tau}")
ax.set_xticks(np.arange(12), [vocab.words[i] for i in top], rotation=40)
ax.set_ylabel("p(first word | z = 0)")
ax.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# Top-k with $k = 1$ can only pick the argmax, and sampling with a tiny temperature is greedy.

# %%
rng = np.random.default_rng(0)
assert all(_sample(logits[None], 1, rng)[0] == logits.argmax() for _ in range(20))
assert all(_sample(logits[None] / 1e-3, 0, rng)[0] == logits.argmax() for _ in range(20))

# %% [markdown]
# ## Sentences from the prior, four ways

# %%
z = rng.standard_normal((4, config.latent_dim)).astype(np.float32)
for name, kw in [
    ("greedy", dict(method="greedy")),
    ("temperature 0.7", dict(method="sample", temperature=0.7, rng=rng)),
    ("temperature 1.5", dict(method="sample", temperature=1.5, rng=rng)),
    ("top-k 5", dict(method="sample", top_k=5, rng=rng)),
    ("beam 5", dict(method="beam", beam_size=5)),
]:
    print(f"[{name}]")
    for ids in decode(model, params, z, max_len=25, **kw):
        print("   ", vocab.text(ids))

# %% [markdown]
# A beam of width 1 is greedy decoding; a wider beam never finds a less likely sentence
# (by the length-normalised score it ranks by).


# %%
def score(z, ids):
    state, token, total = decoder_start(params, config, z), np.array([2]), 0.0
    for w in [*ids, 3]:  # 3 = <eos>
        logp, state = decoder_step(params, config, state, token)
        total += float(logp[0, w])
        token = np.array([w])
    return total / (len(ids) + 1)


for n in range(4):
    zn = z[n : n + 1]
    assert beam_search(model, params, zn, beam_size=1) == decode(model, params, zn)[0]
    greedy = decode(model, params, zn)[0]
    assert score(zn, beam_search(model, params, zn, 5)) >= score(zn, greedy) - 1e-6

# %% [markdown]
# ## Interpolation
# Encode two sentences, walk between their posterior means, and decode each point.
# Linear interpolation cuts through the middle of the Gaussian, where $\|z\|$ is smaller than
# for typical samples; spherical interpolation (slerp) keeps the norm. We take a short food
# sentence and a long music sentence, so the path has somewhere to go.

# %%
valid, attrs = trainer.data.valid.ids, trainer.data.attrs("valid")
first = {(at["topic"], at["length"]): i for i, at in reversed(list(enumerate(attrs)))}
a, b = valid[first["food", "short"]], valid[first["music", "long"]]
tokens = np.zeros((2, max(len(a), len(b))), dtype=np.int64)
tokens[0, : len(a)], tokens[1, : len(b)] = a, b
mu, _ = posterior(params, config, tokens, np.array([len(a), len(b)]))
paths = {mode: interpolate(mu[0], mu[1], steps=7, mode=mode) for mode in ("linear", "slerp")}
for mode, path in paths.items():
    print(f"[{mode}]")
    for ids in decode(model, params, path.astype(np.float32)):
        print("   ", vocab.text(ids))
plt.figure(figsize=(5, 3))
for mode, path in paths.items():
    plt.plot(np.linspace(0, 1, 7), np.linalg.norm(path, axis=1), "o-", label=mode)
plt.xlabel("t")
plt.ylabel("||z||")
plt.legend()
plt.show()
np.testing.assert_allclose(paths["slerp"][[0, -1]], mu, rtol=1e-5, atol=1e-6)

# %% [markdown]
# The path moves through the latent space and so through sentences: its ends decode to
# (nearly) the two sentences we encoded, and the points between to a few others. A collapsed
# model would decode all seven points to one sentence.

# %%
slerp_texts = [vocab.text(ids) for ids in decode(model, params, paths["slerp"].astype(np.float32))]
print(len(set(slerp_texts)), "distinct sentences on the path")
assert len(set(slerp_texts)) >= 3
