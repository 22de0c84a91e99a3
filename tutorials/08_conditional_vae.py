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
# # 8. The conditional VAE: one question, several good answers
#
# A plain text VAE models $p(x)$. Most uses of text generation are *conditional*: translate
# this sentence, answer this question, write a sentence with this sentiment. A conditional VAE
# (Sohn et al. 2015; for dialogue Zhao et al. 2017) models $p(x \mid c)$ for a condition $c$
# with a latent $z$ that holds what $c$ does not decide, e.g. *which* of several good answers:
#
# - a **prior network** $p(z \mid c) = \mathcal{N}(\mu_p(c), \mathrm{diag}\, e^{\lambda_p(c)})$,
#   learned (with a plain VAE it is fixed at $\mathcal{N}(0, I)$);
# - a **recognition network** $q(z \mid x, c) = \mathcal{N}(\mu, \mathrm{diag}\, e^{\lambda})$
#   reading the answer $x$ too;
# - a **decoder** $p(x \mid z, c)$, here the plain VAE's decoder fed $u = [z; c]$.
#
# ## The conditional ELBO
# For any $q$, by Jensen's inequality ($\log$ is concave):
#
# $$\log p(x \mid c) = \log \int p(x \mid z, c)\, p(z \mid c)\, dz
#   = \log \mathbb{E}_{q(z \mid x, c)}\!\left[
#       \frac{p(x \mid z, c)\, p(z \mid c)}{q(z \mid x, c)}\right]$$
# $$\ge \mathbb{E}_{q(z \mid x,c)}[\log p(x \mid z, c)]
#   - \mathrm{KL}\big(q(z \mid x, c) \,\|\, p(z \mid c)\big).$$
#
# The gap is $\mathrm{KL}(q(z \mid x, c) \,\|\, p(z \mid x, c))$. Unlike the plain VAE, the
# KL's second argument now has parameters: its gradient trains the prior network.
#
# ## KL between two diagonal Gaussians
# Per dimension, with $q = \mathcal{N}(\mu, \sigma^2)$, $p = \mathcal{N}(m, s^2)$:
#
# $$\mathrm{KL}(q \| p) = \mathbb{E}_q[\log q - \log p]
#  = -\tfrac12 \log 2\pi\sigma^2 - \tfrac12 + \tfrac12 \log 2\pi s^2
#    + \frac{\sigma^2 + (\mu - m)^2}{2 s^2}$$
#
# since $\mathbb{E}_q[(z - m)^2] = \sigma^2 + (\mu - m)^2$. With log-variances
# $\lambda = \log\sigma^2$, $\lambda_p = \log s^2$, summed over dimensions:
#
# $$\mathrm{KL} = \tfrac12 \sum_j \big[\lambda_{p,j} - \lambda_j
#   + (e^{\lambda_j} + (\mu_j - m_j)^2)\, e^{-\lambda_{p,j}} - 1\big].$$
#
# Its gradient with respect to the **prior's** parameters:
#
# $$\frac{\partial \mathrm{KL}}{\partial m_j} = -\frac{\mu_j - m_j}{e^{\lambda_{p,j}}},
#   \qquad \frac{\partial \mathrm{KL}}{\partial \lambda_{p,j}}
#   = \tfrac12\Big[1 - \frac{e^{\lambda_j} + (\mu_j - m_j)^2}{e^{\lambda_{p,j}}}\Big].$$
#
# Both vanish exactly when $m = \mu$ and $e^{\lambda_p} = e^{\lambda}$: the prior is pulled
# towards the posteriors of the answers seen with each condition.

# %%
from collections import Counter

import matplotlib.pyplot as plt
import numpy as np

from minivae import ops
from minivae.conditional.config import CVAEConfig
from minivae.conditional.cvae import ConditionalVAE
from minivae.conditional.data import dialogue_pairs, references_by_source
from minivae.conditional.run_config import CVAETrainConfig
from minivae.conditional.tasks import generate
from minivae.gradcheck import check_op, format_table
from minivae.gradcheck.models import check_model
from minivae.gradcheck.op_cases import op_cases
from minivae.loading import load_model
from minivae.training.report import final_report
from minivae.training.trainer import Trainer

# %% [markdown]
# ## The formula against Monte Carlo, and the prior's gradient against the library
# The library's `gaussian_kl_forward` takes the prior as its last two arguments and its
# backward returns `dmu, dlogvar, dprior_mu, dprior_logvar`.

# %%
rng = np.random.default_rng(0)
mu, lv, m, lp = (rng.standard_normal((1, 4)) * s for s in (1.0, 0.5, 1.0, 0.5))
kl, cache = ops.gaussian_kl_forward(mu, lv, m, lp)
z = mu + np.exp(lv / 2) * rng.standard_normal((200_000, 4))


def log_normal(z, mean, logvar):
    return -0.5 * (np.log(2 * np.pi) + logvar + (z - mean) ** 2 / np.exp(logvar)).sum(axis=1)


monte_carlo = np.mean(log_normal(z, mu, lv) - log_normal(z, m, lp))
print(f"KL formula {kl[0]:.4f}, Monte Carlo {monte_carlo:.4f}")
assert abs(kl[0] - monte_carlo) < 0.03

_, _, dm, dlp = ops.gaussian_kl_backward(np.ones(1), cache)
assert np.allclose(dm, -(mu - m) / np.exp(lp))
assert np.allclose(dlp, 0.5 * (1 - (np.exp(lv) + (mu - m) ** 2) / np.exp(lp)))
# At m = mu, lambda_p = lambda the KL is zero and so is its gradient.
kl0, cache0 = ops.gaussian_kl_forward(mu, lv, mu.copy(), lv.copy())
assert abs(kl0[0]) < 1e-12
assert all(np.abs(g).max() < 1e-12 for g in ops.gaussian_kl_backward(np.ones(1), cache0))

# %% [markdown]
# ## Every gradient checked
# The prior network $c \to \tanh(c W + b) \to (\mu_p, \lambda_p)$ with the KL on top, then the
# whole conditional model: every parameter of a tiny one (source-sentence condition, LSTM),
# against five-point finite differences in float64.

# %%
case = next(c for c in op_cases() if c[0] == "prior_kl")  # the prior network + the KL
rows = check_op(*case[1:3], case[3], name="prior_kl")
tiny = CVAEConfig(
    vocab_size=11, src_vocab_size=9, embed_dim=4, hidden_dim=5, latent_dim=3, prior_dim=4
)
rows += check_model(ConditionalVAE(tiny), label="cvae")
print(format_table(rows))
assert all(r.passed for r in rows)

# %% [markdown]
# ## A small run: toy dialogue
# Each context is a question about one thing of one topic, with 3-5 valid answers; the
# training pairs give one answer at random. The default run of
# `minivae cvae train --task dialogue` (E=64, H=128, Z=16, 20 epochs; about half a minute on
# a laptop CPU).

# %%
pairs = dialogue_pairs(3000, seed=0)
cfg = CVAETrainConfig(task="dialogue", iw_samples=1, device="cpu", out="runs/tutorial08")
trainer = Trainer(cfg, progress_bar=False, overwrite=True)
trainer.run()
metrics = final_report(trainer)
history = trainer.progress.history

# %% [markdown]
# ## What the prior network learned
# For one context, draw 300 codes $z \sim p(z \mid c)$ and decode each greedily. Different
# codes give different answers: the latent holds the choice. Most of them are valid answers
# to this question (green); the rest (red) are answers to another question or mixtures. A
# model whose latent had collapsed would give one answer every time; a prior network that
# learned nothing would give answers of any question.

# %%
refs = references_by_source(pairs)
context = sorted(refs)[5]
trained = load_model("runs/tutorial08")
encoded = trained.condition.encode_texts([" ".join(context)], max_len=30)
samples = generate(trained.model, trained.params, encoded, 300, np.random.default_rng(0))[0]
counts = Counter(" ".join(trained.vocab.decode(ids)) for ids in samples)
valid = {" ".join(r) for r in refs[context]}
print(" ".join(context))
for text, k in counts.most_common(8):
    print(f"  {k:4d}  {'valid' if text in valid else '     '}  {text}")
valid_samples = sum(k for t, k in counts.items() if t in valid)
print(f"{valid_samples} of 300 samples are valid answers")
assert len({t for t in counts if t in valid}) >= 2, "the latent should give several answers"
assert valid_samples >= 150, "most samples should answer this question"
assert metrics["kl"] > 0.5, "posterior collapse: z carries nothing"

fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
epochs = [h["epoch"] for h in history]
axes[0].plot(epochs, [h["rec"] for h in history], "o-", label="reconstruction -log p(x|z,c)")
axes[0].plot(epochs, [h["kl"] for h in history], "s-", label="KL(q(z|x,c) || p(z|c))")
axes[0].set_xlabel("epoch")
axes[0].set_ylabel("nats per answer (validation)")
axes[0].legend()
top = counts.most_common(6)
axes[1].barh(
    range(len(top)),
    [k for _, k in top],
    color=["tab:green" if t in valid else "tab:red" for t, _ in top],
)
axes[1].set_yticks(range(len(top)), [t for t, _ in top], fontsize=8)
axes[1].invert_yaxis()
axes[1].set_xlabel(f"answers to '{' '.join(context)}' out of 300 (green: valid)")
plt.tight_layout()
plt.show()

# %% [markdown]
# The KL settles well above zero: $z$ carries which answer is given (a plain seq2seq model
# would give the same answer every time). The bag-of-words loss (`bow=True`, Zhao et al.
# 2017) helps here: it asks $[z; c]$ to predict every word of the answer at once, so the
# decoder cannot ignore $z$. Try `bow=False` and watch the KL.
