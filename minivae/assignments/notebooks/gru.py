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
# # The GRU cell and its sequence
#
# You write six functions in `minivae/ops/gru.py`. After each, run its check cell: it runs
# the graded item on inputs stored in `selfcheck_gru.npz` (other inputs than the grader's)
# and compares what your code returns with what the reference implementation returned, as
# the grader does. A correct function in float64 is within about 1e-12 of the stored values,
# its gradients within about 1e-7 of finite differences; the grader allows a relative error
# of 1e-6. Gradients are also compared with central finite differences of your own forward.
# Edit the file, save, re-run the cell: the module is reloaded each time. A function you
# have not written yet says "not implemented yet".

# %%
from minivae.assignments.selfcheck import check, check_all

# %% [markdown]
# ## 1. `_gru_pointwise_forward` and 3. `gru_step_forward`
#
# PyTorch's GRU, gates `[r, u, n]` (reset, update, new) along the 3H axis, with separate
# input and hidden biases:
#
#     ax = x Wx + bx,   ah = h Wh + bh
#     r = sigma(ax_r + ah_r),   u = sigma(ax_u + ah_u)
#     n = tanh(ax_n + r * ah_n)
#     h' = (1 - u) * n + u * h
#
# `gru_step_forward` computes `ax` and `ah` and calls `_gru_pointwise_forward`.

# %%
check("gru", "gru_step forward values")

# %% [markdown]
# ## 2. `_gru_pointwise_backward` and 4. `gru_step_backward`
#
# From `dh'`:
#
#     dan = dh' (1 - u)(1 - n^2)        dau = dh' (h - n) u (1 - u)
#     dar = dan * ah_n * r (1 - r)
#     dax = [dar, dau, dan],   dah = [dar, dau, dan * r]
#     dh  = dh' * u + dah Wh^T
#
# then the affine maps give `dx, dWx, dWh, dbx, dbh`.

# %%
check("gru", "gru_step backward gradcheck")

# %% [markdown]
# ## 5. `gru_forward` over a sequence, with padding
#
# The input projection of all steps is one product; at a padded step (`mask` False) the
# state is carried over unchanged.

# %%
check("gru", "gru_forward values")

# %%
check("gru", "gru_forward masking")

# %% [markdown]
# ## 6. `gru_backward`
#
# Backpropagation through time; a padded step passes its gradient straight back.

# %%
check("gru", "gru_backward gradcheck")

# %%
check("gru", "gru_backward masking")

# %% [markdown]
# ## All items

# %%
check_all("gru")
