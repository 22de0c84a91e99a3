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
# # 3. Softmax cross-entropy over a vocabulary
#
# At every position $t$ of a sentence, the decoder's last affine layer produces one score
# (a *logit*) $l_v$ for each of the $V$ words of the vocabulary. The softmax turns the scores into
# a distribution over the next word,
# $$p_v = \frac{e^{l_v}}{\sum_{u=1}^{V} e^{l_u}},$$
# and the reconstruction term of the ELBO, $\log p(x|z) = \sum_t \log p(x_t \,|\, x_{<t}, z)$, is
# the sum of the log-probabilities of the words that actually come next. Its negative is the
# **cross-entropy** loss. For a batch of $N$ sentences padded to length $T$, with mask
# $m_{nt} = 1$ at real tokens and targets $y_{nt}$, the library's loss is in nats per sentence:
# $$L = -\frac{1}{N}\sum_{n,t} m_{nt}\, \log p_{n t,\, y_{nt}} .$$
# Three things matter: computing it without overflow, its gradient, and the padding.

# %%
import matplotlib.pyplot as plt
import numpy as np

from minivae.gradcheck import check_op, format_table, gradient_error, numerical_gradient
from minivae.ops import log_softmax, softmax_cross_entropy_backward, softmax_cross_entropy_forward

rng = np.random.default_rng(0)

# %% [markdown]
# ## Log-sum-exp: why the textbook formula breaks
# In float64, $e^{l}$ overflows to $\infty$ once $l > 709.78$. Logits that large are rare but do
# happen (a diverging run, a large inverse temperature), and then the textbook softmax computes
# $\infty/\infty = \text{NaN}$. NumPy only warns; under `np.errstate(over="raise")` the warning
# becomes an exception we can catch:


# %%
def naive_softmax(logits):
    e = np.exp(logits)
    return e / e.sum(axis=-1, keepdims=True)


big = np.array([1000.0, 999.0, 990.0])
try:
    with np.errstate(over="raise"):
        naive_softmax(big)
except FloatingPointError as error:
    print("FloatingPointError:", error)
with np.errstate(over="ignore", invalid="ignore"):
    naive = naive_softmax(big)
print("naive softmax of [1000, 999, 990]:", naive)
assert np.isnan(naive).all()

# %% [markdown]
# The fix uses one identity: the softmax does not change when the same constant is subtracted
# from every logit, since $e^{l_v - m} / \sum_u e^{l_u - m} = e^{l_v}/\sum_u e^{l_u}$. With
# $m = \max_u l_u$ the largest exponent is $e^0 = 1$, the sum lies in $[1, V]$, and nothing can
# overflow (terms that underflow to 0 were negligible anyway). In logs:
# $$\log p_v = (l_v - m) - \log \sum_u e^{l_u - m} .$$
# The library's `log_softmax` and `softmax_cross_entropy_forward` both go this way. Here the exact
# answer is known: with target 0, $-\log p_0 = \log(1 + e^{-1} + e^{-10})$.

# %%
logp = log_softmax(big)
print("log_softmax:", logp, "  softmax:", np.exp(logp))
loss, _ = softmax_cross_entropy_forward(big.reshape(1, 1, 3), np.zeros((1, 1), dtype=np.int64))
exact = np.log(1 + np.exp(-1.0) + np.exp(-10.0))
print(f"cross-entropy {loss:.12f}   exact {exact:.12f}")
assert np.all(np.isfinite(logp)) and np.isclose(np.exp(logp).sum(), 1.0)
assert np.isclose(loss, exact, rtol=1e-12)
assert np.isfinite(log_softmax(np.array([1e4, -1e4, 0.0]))).all()

# %% [markdown]
# On ordinary logits the two agree, of course:

# %%
small = rng.standard_normal((5, 7))
np.testing.assert_allclose(np.exp(log_softmax(small)), naive_softmax(small), rtol=1e-12)

# %% [markdown]
# ## The gradient: softmax minus one-hot
# For one position with target $y$, write the loss through the log-sum-exp:
# $$\ell = -\log p_y = -l_y + \log \sum_u e^{l_u}.$$
# Differentiate with respect to each logit $l_v$: the first term gives $-[v = y]$, and the
# second gives $e^{l_v}/\sum_u e^{l_u} = p_v$. So
# $$\frac{\partial \ell}{\partial l_v} = p_v - [v = y], \qquad
# \frac{\partial L}{\partial l_{ntv}} = \frac{m_{nt}}{N}\left(p_{ntv} - [v = y_{nt}]\right).$$
# It pushes the target's logit up by $1 - p_y$, every other logit down by its probability, and
# sums to zero over the vocabulary. When the model is confidently right ($p_y \to 1$) it
# vanishes. The closed form against the library's backward:

# %%
N, T, V = 3, 4, 6
logits = 2 * rng.standard_normal((N, T, V))
targets = rng.integers(0, V, size=(N, T))
lengths = np.array([4, 2, 3])
mask = np.arange(T)[None, :] < lengths[:, None]

loss, cache = softmax_cross_entropy_forward(logits, targets, mask)
dlogits = softmax_cross_entropy_backward(1.0, cache)

probs = np.exp(log_softmax(logits))
onehot = np.eye(V)[targets]
closed_form = (probs - onehot) * mask[..., None] / N
np.testing.assert_allclose(dlogits, closed_form, rtol=1e-12, atol=1e-15)
np.testing.assert_allclose(dlogits.sum(axis=-1), 0.0, atol=1e-15)

# %% [markdown]
# The loss itself, rebuilt from `log_softmax` by picking each target's log-probability, and the
# gradient against central differences — once with the library's `check_op` (a random upstream
# gradient on the scalar loss) and once directly:

# %%
picked = np.take_along_axis(log_softmax(logits), targets[..., None], axis=-1)[..., 0]
assert np.isclose(loss, -(picked * mask).sum() / N, rtol=1e-12)

rows = check_op(
    softmax_cross_entropy_forward,
    softmax_cross_entropy_backward,
    {"logits": logits, "targets": targets, "mask": mask},
)
print(format_table(rows))
assert all(r.passed for r in rows)
numeric = numerical_gradient(
    lambda l: softmax_cross_entropy_forward(l, targets, mask)[0], logits.copy()
)
err = gradient_error(numeric, closed_form)
print(f"softmax - onehot vs finite differences: max relative error {err:.1e}")
assert err < 1e-6

# %% [markdown]
# ## Padding adds nothing
# A padded position has a target too (usually the padding id) and logits too (the decoder
# ran there), but with $m_{nt} = 0$ it must add nothing to the loss and receive no gradient.
# Scramble everything at the padded positions — logits, even the targets — and nothing may move:

# %%
pad = ~mask
logits2, targets2 = logits.copy(), targets.copy()
logits2[pad] = 50 * rng.standard_normal((pad.sum(), V))
targets2[pad] = rng.integers(0, V, size=pad.sum())
loss2, cache2 = softmax_cross_entropy_forward(logits2, targets2, mask)
dlogits2 = softmax_cross_entropy_backward(1.0, cache2)
assert loss2 == loss
assert np.all(dlogits2[pad] == 0) and np.all(dlogits[pad] == 0)
np.testing.assert_array_equal(dlogits2[mask], dlogits[mask])

# Without the mask, the same padding would count:
loss_unmasked, _ = softmax_cross_entropy_forward(logits2, targets2)
print(f"loss with mask {loss:.4f}, without mask {loss_unmasked:.4f} (padding counted)")
assert loss_unmasked > loss

# %% [markdown]
# ## The picture
# Left: the loss of one position as the target's logit $l_y$ moves, with the other $V - 1 = 9$
# logits at 0. It is $\log(1 + 9e^{-l_y})$: a straight line of slope $-1$ while the model is
# wrong, flattening to 0 once it is right — and its slope is exactly $p_y - 1$. The naive
# formula fails as soon as $l_y > 709$; the stable one does not care.
#
# Right: the softmax of one fixed logit vector multiplied by a scale (an inverse temperature).
# Small scales flatten it towards uniform, large ones sharpen it towards the arg-max, and at scale
# 1000 (logits in the thousands) the stable version still returns a proper distribution.

# %%
V = 10
target_logit = np.linspace(-10, 10, 201)
grid = np.zeros((len(target_logit), 1, V))
grid[:, 0, 0] = target_logit
target = np.zeros((len(target_logit), 1), dtype=np.int64)
per_position = [softmax_cross_entropy_forward(g[None], t[None]) for g, t in zip(grid, target)]
losses = np.array([value for value, _ in per_position])
slopes = np.array([softmax_cross_entropy_backward(1.0, c)[0, 0, 0] for _, c in per_position])
np.testing.assert_allclose(losses, np.log1p(9 * np.exp(-target_logit)), rtol=1e-12)
np.testing.assert_allclose(slopes, np.exp(log_softmax(grid[:, 0]))[:, 0] - 1, rtol=1e-12)
with np.errstate(over="ignore", invalid="ignore"):
    naive_far = -np.log(naive_softmax(np.array([800.0] + [0.0] * (V - 1)))[0])
stable_far = softmax_cross_entropy_forward(
    np.array([800.0] + [0.0] * (V - 1))[None, None], np.zeros((1, 1), dtype=np.int64)
)[0]
# The exact loss, log(1 + 9 e^-800) ~ 4e-347, is below the smallest float64: 0 is the right answer.
print(f"at l_y = 800: naive loss {naive_far}, stable loss {abs(stable_far)}")
assert np.isnan(naive_far) and abs(stable_far) < 1e-300

base = np.array([2.0, 1.0, 0.5, 0.0, -0.5, -1.0, -1.5, -2.0])
scales = [0.2, 1.0, 5.0, 1000.0]
fig, axes = plt.subplots(1, 2, figsize=(13, 3.8))
axes[0].plot(target_logit, losses, label=r"loss $-\log p_y$")
axes[0].plot(target_logit, slopes, label=r"gradient $p_y - 1$")
axes[0].axhline(0, color="k", lw=0.5)
axes[0].set_xlabel(r"target logit $l_y$ (the other 9 logits are 0)")
axes[0].legend()
width = 0.8 / len(scales)
for k, scale in enumerate(scales):
    p = np.exp(log_softmax(scale * base))
    assert np.isfinite(p).all() and np.isclose(p.sum(), 1.0)
    offset = (k - (len(scales) - 1) / 2) * width
    axes[1].bar(np.arange(len(base)) + offset, p, width, label=f"scale {scale:g}")
axes[1].set_xlabel("word $v$ (logits 2, 1, 0.5, ..., -2, times the scale)")
axes[1].set_ylabel("softmax $p_v$")
axes[1].legend()
plt.tight_layout()
plt.show()
