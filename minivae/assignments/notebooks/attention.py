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
# # Additive attention over a masked set of encoder states
#
# You write eight functions in `minivae/ops/attention.py`. After each pair, run its check
# cell: it runs the graded item on inputs stored in `selfcheck_attention.npz` (other inputs
# than the grader's) and compares what your code returns with what the reference
# implementation returned, as the grader does. A correct function in float64 is within about
# 1e-12 of the stored values, its gradients within about 1e-7 of finite differences; the
# grader allows a relative error of 1e-6, and wants padded positions to get exactly zero
# weight and exactly zero gradient. Gradients are also compared with central finite
# differences of your own forward. Edit the file, save, re-run the cell: the module is
# reloaded each time. A function you have not written yet says "not implemented yet".

# %%
from minivae.assignments.selfcheck import check, check_all

# %% [markdown]
# ## 1. `attend_forward(scores, keys, mask)` and `attend_backward`
#
# The part every attention shares: weights from the scores by a softmax over the real
# positions, and the context, the weighted sum of the keys:
#
#     w = softmax(where(mask, scores, -inf)),   context = sum_s w_s k_s
#
# Backward, from `dcontext` and `dweights` (which may be None):
#
#     dw_s = dweights_s + dcontext . k_s,   dkeys_s = w_s dcontext
#     dscores_s = w_s (dw_s - sum_u w_u dw_u)

# %%
check("attention", "attend forward values and masking")

# %%
check("attention", "attend backward gradcheck")

# %% [markdown]
# ## 2. The additive score, whole: `additive_attention_forward`
#
#     p_s = k_s Wk   (attention_keys_forward)
#     e_s = v . tanh(q Wq + p_s)   (additive_attention_step_forward, which calls attend_forward)
#
# `additive_attention_forward` is `attention_keys_forward` and one step, composed.

# %%
check("attention", "additive attention forward values")

# %%
check("attention", "additive attention masking")

# %% [markdown]
# ## 3. The split form over two decoder steps
#
# A decoder projects the keys once and attends at every step: the check runs
# `attention_keys_forward` once, `additive_attention_step_forward` for two queries, their
# backwards, adds up the gradients of the shared keys, `Wq` and `v`, and runs
# `attention_keys_backward` once at the end. Backward of one step, from `de`:
#
#     dv = sum_{n,s} de_s u_s,   dp_s = de_s v (1 - u_s^2)
#     dq = (sum_s dp_s) Wq^T,    dWq = q^T (sum_s dp_s)

# %%
check("attention", "split form over two decoder steps gradcheck")

# %% [markdown]
# ## 4. `additive_attention_backward`
#
# The keys get gradient twice: through the context (`attend_backward`) and through their
# projection (`attention_keys_backward`).

# %%
check("attention", "additive attention backward gradcheck")

# %% [markdown]
# ## All items

# %%
check_all("attention")
