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
# # 2. The LSTM cell by hand
#
# The text VAE reads a sentence with one LSTM (the encoder: its last hidden state becomes
# $\mu$ and $\log\sigma^2$) and writes one with another (the decoder). This notebook writes the
# cell's forward pass, derives its backward pass gate by gate, checks both against the library
# and against finite differences, and then unrolls the cell over sentences of different lengths.
#
# ## The forward pass
# At each step the cell reads an input $x_t \in \mathbb{R}^D$ and the previous state
# $(h_{t-1}, c_{t-1}) \in \mathbb{R}^H \times \mathbb{R}^H$. One affine map gives the
# pre-activations of all four gates at once, in the order input, forget, cell candidate, output
# (PyTorch's and cuDNN's order):
# $$a = x_t W_x + h_{t-1} W_h + b \in \mathbb{R}^{4H}, \qquad a = [a_i, a_f, a_g, a_o],$$
# $$i = \sigma(a_i), \quad f = \sigma(a_f), \quad g = \tanh(a_g), \quad o = \sigma(a_o),$$
# $$c_t = f \odot c_{t-1} + i \odot g, \qquad h_t = o \odot \tanh(c_t).$$
# The cell state $c$ is a running memory: $f$ decides how much of it to keep, $i$ how much of
# the candidate $g$ to write, and $o$ how much of it to show as $h$.

# %%
import matplotlib.pyplot as plt
import numpy as np

from minivae.gradcheck import check_op, format_table
from minivae.ops import (
    lstm_backward,
    lstm_forward,
    lstm_pointwise_backward,
    lstm_step_backward,
    lstm_step_forward,
    sigmoid,
)

rng = np.random.default_rng(0)
N, D, H = 3, 4, 5
x = rng.standard_normal((N, D))
prev_h, prev_c = rng.standard_normal((2, N, H))
Wx, Wh = 0.5 * rng.standard_normal((D, 4 * H)), 0.5 * rng.standard_normal((H, 4 * H))
b = 0.1 * rng.standard_normal(4 * H)

# %% [markdown]
# The equations, line by line, against the library's `lstm_step_forward`:

# %%
a = x @ Wx + prev_h @ Wh + b
a_i, a_f, a_g, a_o = np.split(a, 4, axis=1)
i, f, g, o = sigmoid(a_i), sigmoid(a_f), np.tanh(a_g), sigmoid(a_o)
c = f * prev_c + i * g
h = o * np.tanh(c)

next_h, next_c, cache = lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)
np.testing.assert_allclose(next_h, h, rtol=1e-12)
np.testing.assert_allclose(next_c, c, rtol=1e-12)

# %% [markdown]
# ## The backward pass, gate by gate
# Suppose the loss $L$ has sent back $\bar h_t = \partial L/\partial h_t$ and
# $\bar c_t = \partial L/\partial c_t$ (from the next step's use of $c_t$). Walk the forward
# equations upwards, one line at a time.
#
# **The cell state** reaches $L$ twice: directly, and through $h_t = o \odot \tanh(c_t)$:
# $$\bar c = \bar c_t + \bar h_t \odot o \odot (1 - \tanh^2 c_t).$$
# **The output gate** appears only in $h_t$:
# $\bar o = \bar h_t \odot \tanh c_t$, and through the sigmoid, $\sigma' = \sigma(1 - \sigma)$:
# $$\bar a_o = \bar h_t \odot \tanh c_t \odot o(1 - o).$$
# **Input gate, candidate, forget gate** appear in $c_t = f \odot c_{t-1} + i \odot g$:
# $$\bar a_i = \bar c \odot g \odot i(1-i), \qquad
# \bar a_g = \bar c \odot i \odot (1 - g^2), \qquad
# \bar a_f = \bar c \odot c_{t-1} \odot f(1-f).$$
# **The previous cell state** gets $\bar c_{t-1} = \bar c \odot f$ — only a multiplication by
# the forget gate: no weight matrix and no squashing on this path, which is why gradients survive
# many steps through $c$ when $f \approx 1$.
#
# **The affine map** $a = x W_x + h_{t-1} W_h + b$ is the usual one: with
# $\bar a = [\bar a_i, \bar a_f, \bar a_g, \bar a_o]$,
# $$\bar x = \bar a W_x^\top, \quad \bar h_{t-1} = \bar a W_h^\top, \quad
# \bar W_x = x^\top \bar a, \quad \bar W_h = h_{t-1}^\top \bar a, \quad
# \bar b = \textstyle\sum_n \bar a_n.$$
#
# The same derivation in code, against the library's pointwise backward:

# %%
dh, dc_next = rng.standard_normal((2, N, H))
dc = dc_next + dh * o * (1 - np.tanh(c) ** 2)
da = np.concatenate(
    [
        dc * g * i * (1 - i),  # input gate
        dc * prev_c * f * (1 - f),  # forget gate
        dc * i * (1 - g**2),  # candidate
        dh * np.tanh(c) * o * (1 - o),
    ],  # output gate
    axis=1,
)
dprev_c = dc * f

gates, tanh_c = cache.gates, cache.tanh_c  # the step cache is a named tuple
da_lib, dprev_c_lib = lstm_pointwise_backward(dh, dc_next, prev_c, gates, tanh_c)
np.testing.assert_allclose(da, da_lib, rtol=1e-12)
np.testing.assert_allclose(dprev_c, dprev_c_lib, rtol=1e-12)
dx, dprev_h, _, dWx, dWh, db = lstm_step_backward(dh, dc_next, cache)
np.testing.assert_allclose(dx, da @ Wx.T, rtol=1e-12)
np.testing.assert_allclose(dWh, prev_h.T @ da, rtol=1e-12)

# %% [markdown]
# And the whole step against central finite differences. `check_op` draws random upstream
# gradients for both outputs $h_t, c_t$ and checks every input, entry by entry:

# %%
rows = check_op(
    lstm_step_forward,
    lstm_step_backward,
    {"x": x, "prev_h": prev_h, "prev_c": prev_c, "Wx": Wx, "Wh": Wh, "b": b},
)
print(format_table(rows))
assert all(r.passed for r in rows)

# %% [markdown]
# ## Backpropagation through time, with masks
# A batch holds sentences of different lengths, padded to the longest. The library's
# `lstm_forward` takes a mask ($\text{True}$ = real token) and, at a padded step, *carries the
# state over unchanged*:
# $$h_t = m_t\, \mathrm{LSTM}(x_t, h_{t-1}, c_{t-1}) + (1 - m_t)\, h_{t-1}$$
# (and likewise for $c_t$). So after the loop, $h_{:, T-1}$ is every sentence's state after
# its *own* last token — the encoder can read it without knowing the lengths.
#
# Backwards, a padded step is the identity: its gradient passes straight through to the step
# before, and its gates and input get nothing. Here is BPTT written as a loop over the library's
# single step, with exactly that rule, so we can look at $\partial L/\partial h_t$ on the way:


# %%
def lstm_by_steps(x, h0, Wx, Wh, b, mask):
    """Unroll lstm_step_forward over time; padded steps carry (h, c) over."""
    h, c, hs, caches = h0, np.zeros_like(h0), [], []
    for t in range(x.shape[1]):
        next_h, next_c, cache = lstm_step_forward(x[:, t], h, c, Wx, Wh, b)
        m = mask[:, t, None]
        h, c = np.where(m, next_h, h), np.where(m, next_c, c)
        hs.append(h)
        caches.append(cache)
    return np.stack(hs, axis=1), caches


def bptt_by_steps(dh_all, caches, mask):
    """Walk the steps backwards: -> dx, dh0, dWx, dWh, db, and |dL/dh_t| per sentence and step."""
    N, T, H = dh_all.shape
    dnext_h, dnext_c = np.zeros((N, H)), np.zeros((N, H))
    dx, norms, dW = [None] * T, np.zeros((N, T)), None
    for t in reversed(range(T)):
        dnext_h = dnext_h + dh_all[:, t]  # h_t is used by step t+1 and by the loss itself
        norms[:, t] = np.linalg.norm(dnext_h, axis=1)
        m = mask[:, t, None]
        dx_t, dprev_h, dprev_c, *dW_t = lstm_step_backward(dnext_h * m, dnext_c * m, caches[t])
        dnext_h, dnext_c = np.where(m, dprev_h, dnext_h), np.where(m, dprev_c, dnext_c)
        dx[t] = dx_t
        dW = dW_t if dW is None else [s + d for s, d in zip(dW, dW_t)]
    return (np.stack(dx, axis=1), dnext_h, *dW), norms


# %% [markdown]
# Three sentences of lengths 7, 3 and 5 in one batch of width $T = 7$. The loop and the
# library's `lstm_forward`/`lstm_backward` (which hoists the input projection of all steps into
# one matrix product) must agree:

# %%
T = 7
lengths = np.array([7, 3, 5])
mask = np.arange(T)[None, :] < lengths[:, None]
xs = rng.standard_normal((N, T, D))
h0 = rng.standard_normal((N, H))
dh_all = rng.standard_normal((N, T, H)) * mask[..., None]  # a loss on the real positions

h_all, cache = lstm_forward(xs, h0, Wx, Wh, b, mask)
grads = lstm_backward(dh_all, cache)
h_steps, caches = lstm_by_steps(xs, h0, Wx, Wh, b, mask)
grads_steps, _ = bptt_by_steps(dh_all, caches, mask)
np.testing.assert_allclose(h_all, h_steps, rtol=1e-12)
for name, g_lib, g_steps in zip(["dx", "dh0", "dWx", "dWh", "db"], grads, grads_steps):
    np.testing.assert_allclose(g_lib, g_steps, rtol=1e-10, atol=1e-12, err_msg=name)

# %% [markdown]
# The masked sequence op against finite differences, for every input:

# %%
rows = check_op(
    lstm_forward, lstm_backward, {"x": xs, "h0": h0, "Wx": Wx, "Wh": Wh, "b": b, "mask": mask}
)
print(format_table(rows))
assert all(r.passed for r in rows)

# %% [markdown]
# ### Padding changes nothing
# Whatever sits in the padded slots — zeros, or garbage — the outputs at real positions, the
# final states and all the gradients must be the same, and the padded inputs must get exactly
# zero gradient. And $h_{:, T-1}$ must equal each sentence's state at its last real token, which
# is also what we get running the sentence alone, without any padding.

# %%
garbage = np.where(mask[..., None], xs, 100 * rng.standard_normal(xs.shape))
zeros = np.where(mask[..., None], xs, 0.0)
h_g, cache_g = lstm_forward(garbage, h0, Wx, Wh, b, mask)
h_z, cache_z = lstm_forward(zeros, h0, Wx, Wh, b, mask)
np.testing.assert_allclose(h_g, h_z, rtol=1e-12)
for g_g, g_z in zip(lstm_backward(dh_all, cache_g), lstm_backward(dh_all, cache_z)):
    np.testing.assert_allclose(g_g, g_z, rtol=1e-12, atol=1e-15)
dx_g = lstm_backward(dh_all, cache_g)[0]
assert np.all(dx_g[~mask] == 0), "padded inputs must get no gradient"

for n, length in enumerate(lengths):
    np.testing.assert_allclose(h_g[n, -1], h_g[n, length - 1], rtol=1e-12)
    alone, _ = lstm_forward(xs[n : n + 1, :length], h0[n : n + 1], Wx, Wh, b)
    np.testing.assert_allclose(h_g[n, -1], alone[0, -1], rtol=1e-12)
print("padding content changes nothing; h[:, -1] is the state after the last real token")

# %% [markdown]
# ## How far back does the gradient reach?
# Take the encoder's loss: something of the final state only, $L = \sum_j h_{T-1, j}$, and look at
# $\|\partial L/\partial h_t\|$ as it flows back through time, for a short (12 tokens) and a long
# (40 tokens) sentence in one padded batch. Over the short sentence's padding the gradient is
# copied unchanged; from its last real token on it shrinks step by step.
#
# How fast it shrinks depends mostly on the forget gate, since $\bar c_{t-1} = \bar c \odot f$.
# With the forget bias at 0, $f \approx \sigma(0) = \tfrac12$ and the gradient halves (or worse)
# each step; a forget bias of $+3$ ($f \approx 0.95$) keeps it alive over the whole sentence —
# the reason LSTMs are usually initialised with a positive forget bias (Jozefowicz et al. 2015).

# %%
T, H = 40, 16
lengths = np.array([12, 40])
mask = np.arange(T)[None, :] < lengths[:, None]
xs = rng.standard_normal((2, T, D))
Wx, Wh = 0.3 * rng.standard_normal((D, 4 * H)), 0.15 * rng.standard_normal((H, 4 * H))
dh_last = np.zeros((2, T, H))
dh_last[:, -1] = 1.0  # L = sum of the final state

norms = {}
for forget_bias in [0.0, 3.0]:
    b = np.zeros(4 * H)
    b[H : 2 * H] = forget_bias
    _, caches = lstm_by_steps(xs, np.zeros((2, H)), Wx, Wh, b, mask)
    _, norms[forget_bias] = bptt_by_steps(dh_last, caches, mask)

fig, axes = plt.subplots(1, 2, figsize=(12, 3.8), sharey=True)
for ax, forget_bias in zip(axes, norms):
    for n, length in enumerate(lengths):
        ax.semilogy(
            np.arange(T), norms[forget_bias][n], "o-", ms=3, label=f"sentence of {length} tokens"
        )
        ax.axvline(length - 1, color=f"C{n}", ls=":", lw=1)
    ax.set_title(f"forget-gate bias {forget_bias:+.0f}")
    ax.set_xlabel("time step $t$")
axes[0].set_ylabel(r"$\|\partial L / \partial h_t\|$")
axes[0].legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# Over the padding the gradient is constant (a padded step is the identity), and at the first
# token of the long sentence it is orders of magnitude larger with the positive forget bias.

# %%
short_pad = norms[0.0][0, lengths[0] - 1 :]
assert np.allclose(short_pad, short_pad[-1]), "padding passes the gradient through unchanged"
assert norms[3.0][1, 0] > 100 * norms[0.0][1, 0]
