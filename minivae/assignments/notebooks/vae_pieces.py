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
# # The pieces of the VAE objective
#
# You write three ops, forward and backward, in `minivae/ops/reparameterize.py`,
# `minivae/ops/gaussian_kl.py` and `minivae/ops/softmax_cross_entropy.py`. After each, run
# its check cells: they run the graded items on inputs stored in `selfcheck_vae_pieces.npz`
# (other inputs than the grader's) and compare what your code returns with what the
# reference implementation returned, as the grader does. A correct function in float64 is
# within about 1e-12 of the stored values, its gradients within about 1e-7 of finite
# differences; the grader allows a relative error of 1e-6. Gradients are also compared with
# central finite differences of your own forward. Edit a file, save, re-run the cell: the
# modules are reloaded each time. A function you have not written yet says "not implemented
# yet".

# %%
from minivae.assignments.selfcheck import check, check_all

# %% [markdown]
# ## 1. Reparameterization
#
#     z = mu + exp(logvar / 2) * eps          (eps is given)
#     dmu = dz,   dlogvar = dz * eps * exp(logvar / 2) / 2

# %%
check("vae_pieces", "reparameterize forward")

# %%
check("vae_pieces", "reparameterize backward")

# %% [markdown]
# ## 2. The KL divergence of the posterior from the prior, per example
#
#     KL = 1/2 sum_z [ plv - lv + (e^lv + (mu - pm)^2) / e^plv - 1 ]
#
# With no prior given, the prior is N(0, I). The backward returns two gradients without a
# prior, four with one.

# %%
check("vae_pieces", "kl forward")

# %%
check("vae_pieces", "kl forward with prior")

# %%
check("vae_pieces", "kl backward")

# %%
check("vae_pieces", "kl backward with prior")

# %% [markdown]
# ## 3. Softmax cross-entropy over real tokens, averaged over sentences
#
#     loss = -(1/N) sum_{n,t: mask} log softmax(logits[n, t])[targets[n, t]]
#     dlogits = dloss * (softmax(logits) - onehot(targets)) * mask / N
#
# Subtract each row's maximum before `exp`; padded positions count for nothing.

# %%
check("vae_pieces", "cross-entropy forward")

# %%
check("vae_pieces", "cross-entropy backward")

# %%
check("vae_pieces", "cross-entropy masking")

# %% [markdown]
# ## All items

# %%
check_all("vae_pieces")
