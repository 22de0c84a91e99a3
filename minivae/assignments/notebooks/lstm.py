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
# # The LSTM cell and backpropagation through time
#
# You write six functions in `minivae/ops/lstm.py`, in this order. After each, run its check
# cell: it runs the graded item on inputs stored in `selfcheck_lstm.npz` (other inputs than
# the grader's) and compares what your code returns with what the reference implementation
# returned, as the grader does. A correct function in float64 is within about 1e-12 of the
# stored values, its gradients within about 1e-7 of finite differences; the grader allows a
# relative error of 1e-6. Gradients are also compared with central finite differences of
# your own forward. Edit the file, save, re-run the cell: the module is reloaded each time.
# A function you have not written yet says "not implemented yet". The README has the math;
# here it is again, one function at a time.

# %%
from minivae.assignments.selfcheck import check, check_all

# %% [markdown]
# ## 1. `lstm_pointwise_forward(a, prev_c)`
#
# The gate pre-activations `a` (N, 4H) are stacked `[a_i, a_f, a_g, a_o]`:
#
#     i = sigma(a_i),  f = sigma(a_f),  g = tanh(a_g),  o = sigma(a_o)
#     next_c = f * prev_c + i * g,   next_h = o * tanh(next_c)
#
# Return `next_h, next_c, gates, tanh_c`, where `gates` is `[i, f, g, o]` after the
# nonlinearities and `tanh_c = tanh(next_c)`: all the backward needs.

# %%
check("lstm", "lstm_pointwise forward values")

# %% [markdown]
# ## 2. `lstm_pointwise_backward(dnext_h, dnext_c, prev_c, gates, tanh_c)`
#
# `next_c` reaches the loss twice, directly and through `next_h`:
# `dc = dnext_c + dnext_h * o * (1 - tanh_c^2)`. Then
#
#     da_i = dc * g * i (1 - i)      da_f = dc * prev_c * f (1 - f)
#     da_g = dc * i * (1 - g^2)      da_o = dnext_h * tanh_c * o (1 - o)
#     dprev_c = dc * f
#
# The check also compares `da` and `dprev_c` with finite differences of your forward.

# %%
check("lstm", "lstm_pointwise backward gradcheck")

# %% [markdown]
# ## 3. `lstm_step_forward` and 4. `lstm_step_backward`
#
# One step is the affine map `a = x Wx + prev_h Wh + b` around the pointwise pair. Backward:
# `dx = da Wx^T, dprev_h = da Wh^T, dWx = x^T da, dWh = prev_h^T da, db = sum_n da`.

# %%
check("lstm", "lstm_step forward values")

# %%
check("lstm", "lstm_step backward gradcheck")

# %% [markdown]
# ## 5. `lstm_forward` over a sequence, with padding
#
# Run the cell over T steps from `h0` (and `c0`, zeros when None). The input projection of
# all steps is one matrix product. Where `mask[n, t]` is False, the step is padding: carry
# `h` and `c` over unchanged, so that `h[:, t] == h[:, t - 1]` there.

# %%
check("lstm", "lstm_forward values")

# %%
check("lstm", "lstm_forward masking")

# %% [markdown]
# ## 6. `lstm_backward`: backpropagation through time
#
# Walk the steps backwards, adding each step's `dh[:, t]` to the gradient flowing back from
# the step after it. At a padded step the incoming gradient passes straight through to the
# previous state and the step's gates get none. Return `dc0` too when `c0` was given.

# %%
check("lstm", "lstm_backward gradcheck")

# %%
check("lstm", "lstm_backward masking and c0")

# %% [markdown]
# ## All items

# %%
check_all("lstm")
