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
# # 1. From autoencoder to VAE: the ELBO
#
# An **autoencoder** squeezes $x$ through a code $z = \mathrm{enc}(x)$ and learns to rebuild
# $\hat x = \mathrm{dec}(z)$. It reconstructs well, but nothing says what the space of codes looks
# like: pick a $z$ at random and the decoder has never seen anything like it. We cannot *sample*.
#
# A **variational autoencoder** (Kingma & Welling 2014) starts from the other end, from a model
# that generates data:
# $$z \sim p(z) = \mathcal{N}(0, I), \qquad x \sim p_\theta(x\,|\,z).$$
# Training it means maximising the log-likelihood of the data,
# $\log p_\theta(x) = \log \int p_\theta(x|z)\,p(z)\,dz$ — an integral over every possible code,
# which we cannot compute for a neural decoder. The encoder comes back as a helper: a
# distribution $q_\phi(z|x) = \mathcal{N}(\mu_\phi(x), \mathrm{diag}\,\sigma^2_\phi(x))$ that
# guesses which codes could have produced $x$.
#
# ## The evidence lower bound
# Multiply and divide inside the integral by $q$, and use that $\log$ is concave (Jensen:
# $\log \mathbb{E}[Y] \ge \mathbb{E}[\log Y]$):
# $$\log p(x) = \log \mathbb{E}_{q(z|x)}\!\left[\frac{p(x|z)\,p(z)}{q(z|x)}\right]
# \;\ge\; \mathbb{E}_{q(z|x)}\!\left[\log p(x|z) + \log p(z) - \log q(z|x)\right]$$
# $$= \underbrace{\mathbb{E}_{q(z|x)}[\log p(x|z)]}_{\text{reconstruction}}
# \;-\; \underbrace{\mathrm{KL}(q(z|x)\,\|\,p(z))}_{\text{stay close to the prior}}
# \;=\; \mathcal{L}(x).$$
#
# How loose is the bound? Write $\log p(x) = \log p(x,z) - \log p(z|x)$, which holds for every
# $z$, take the expectation under $q$ and add and subtract $\log q(z|x)$:
# $$\log p(x) = \mathcal{L}(x) + \mathrm{KL}(q(z|x)\,\|\,p(z|x)) .$$
# The gap is exactly how far the encoder is from the true posterior. Raising $\mathcal{L}$
# either raises the likelihood or makes the encoder more honest; both are good.
#
# The first term is an autoencoder's reconstruction loss with noise in the code; the second
# keeps every $q(z|x)$ near $\mathcal{N}(0, I)$, so that codes drawn from the prior decode to
# something sensible. This notebook builds the three pieces the ELBO needs — a gradient through
# the sampling, the KL and its gradient — and then fits a VAE small enough to draw.

# %%
import matplotlib.pyplot as plt
import numpy as np

from minivae.gradcheck import check_op, format_table, gradient_error, numerical_gradient
from minivae.ops import (
    affine_backward,
    affine_forward,
    gaussian_kl_backward,
    gaussian_kl_forward,
    reparameterize_backward,
    reparameterize_forward,
)

rng = np.random.default_rng(0)

# %% [markdown]
# ## The reparameterization trick
# The reconstruction term $\mathbb{E}_{q_\phi(z|x)}[\log p(x|z)]$ is estimated with a sample
# $z \sim q_\phi$. But a sample is the output of a random number generator: it has no derivative
# with respect to $\mu$ and $\sigma$, so backpropagation stops there and the encoder would learn
# nothing from the reconstruction.
#
# The trick is to draw the noise *outside* the network, from a distribution with no parameters,
# and turn it into a sample with a differentiable function:
# $$\epsilon \sim \mathcal{N}(0, I), \qquad z = \mu + e^{\frac12 \log\sigma^2} \odot \epsilon .$$
# Now $z$ is an ordinary function of $(\mu, \log\sigma^2)$ with $\epsilon$ a constant input, and
# $$\frac{\partial z}{\partial \mu} = 1, \qquad
# \frac{\partial z}{\partial \log\sigma^2} = \tfrac12\, e^{\frac12 \log\sigma^2}\,\epsilon
# = \tfrac12\,\sigma\,\epsilon .$$
# (We parameterise by $\log\sigma^2$ so the encoder's output can be any real number.)
# The library's op writes exactly this; `check_op` compares its backward with central finite
# differences, input by input.

# %%
N, Z = 4, 3
mu, logvar, eps = rng.standard_normal((3, N, Z))
rows = check_op(
    reparameterize_forward,
    reparameterize_backward,
    {"mu": mu, "logvar": logvar, "eps": eps},
    wrt=["mu", "logvar"],
)
print(format_table(rows))
assert all(r.passed for r in rows)

# %% [markdown]
# Does the gradient of a *sample* estimate the gradient of the *expectation*? Take
# $f(z) = z^2$, whose expectation we know: $\mathbb{E}_q[z^2] = \mu^2 + \sigma^2$, so
# $\partial/\partial\mu = 2\mu$ and $\partial/\partial \log\sigma^2 = \sigma^2$. Average the
# pathwise gradient $f'(z)\,\partial z/\partial(\cdot)$ over many draws of $\epsilon$:

# %%
M = 200_000
mu1, logvar1 = np.full((M, 1), 0.7), np.full((M, 1), np.log(0.5))
z, cache = reparameterize_forward(mu1, logvar1, rng.standard_normal((M, 1)))
dmu, dlogvar = reparameterize_backward(2 * z / M, cache)  # d/dz of mean(z^2) is 2z / M
print(f"d/dmu:      pathwise {dmu.sum():.4f}   exact {2 * 0.7:.4f}")
print(f"d/dlogvar:  pathwise {dlogvar.sum():.4f}   exact {0.5:.4f}")
assert abs(dmu.sum() - 1.4) < 0.01 and abs(dlogvar.sum() - 0.5) < 0.01

# %% [markdown]
# ## The KL term, by hand
# For one latent dimension, $q = \mathcal{N}(\mu, \sigma^2)$ and $p = \mathcal{N}(0, 1)$:
# $$\log q(z) = -\tfrac12\log 2\pi - \tfrac12\log\sigma^2 - \frac{(z-\mu)^2}{2\sigma^2}, \qquad
# \log p(z) = -\tfrac12\log 2\pi - \frac{z^2}{2}.$$
# Under $q$, $\mathbb{E}[(z-\mu)^2] = \sigma^2$ and $\mathbb{E}[z^2] = \mu^2 + \sigma^2$, so
# $$\mathrm{KL}(q\|p) = \mathbb{E}_q[\log q(z) - \log p(z)]
# = \tfrac12\left(\mu^2 + \sigma^2 - \log\sigma^2 - 1\right),$$
# summed over the $Z$ independent dimensions. With $\sigma^2 = e^{\log\sigma^2}$ the gradient is
# $$\frac{\partial\,\mathrm{KL}}{\partial \mu} = \mu, \qquad
# \frac{\partial\,\mathrm{KL}}{\partial \log\sigma^2} = \tfrac12\left(e^{\log\sigma^2} - 1\right).$$
# It is zero exactly at $\mu = 0,\ \sigma^2 = 1$: the KL pulls every posterior onto the prior.
# Our two-line version against the library's op:

# %%
kl_by_hand = 0.5 * (mu**2 + np.exp(logvar) - logvar - 1).sum(axis=1)
kl, cache = gaussian_kl_forward(mu, logvar)
dmu, dlogvar = gaussian_kl_backward(np.ones(N), cache)
np.testing.assert_allclose(kl, kl_by_hand, rtol=1e-12)
np.testing.assert_allclose(dmu, mu, rtol=1e-12)
np.testing.assert_allclose(dlogvar, 0.5 * (np.exp(logvar) - 1), rtol=1e-12)
assert np.all(kl >= 0)

# %% [markdown]
# and both against central differences of the total KL:

# %%
err_mu = gradient_error(
    numerical_gradient(lambda m: gaussian_kl_forward(m, logvar)[0].sum(), mu.copy()), mu
)
err_lv = gradient_error(
    numerical_gradient(lambda v: gaussian_kl_forward(mu, v)[0].sum(), logvar.copy()),
    0.5 * (np.exp(logvar) - 1),
)
print(f"max relative error: dKL/dmu {err_mu:.1e}, dKL/dlogvar {err_lv:.1e}")
assert err_mu < 1e-7 and err_lv < 1e-7
print(
    format_table(check_op(gaussian_kl_forward, gaussian_kl_backward, {"mu": mu, "logvar": logvar}))
)

# %% [markdown]
# ### A Monte-Carlo check of the closed form
# The KL is an expectation, so we can also just estimate it: draw $z \sim q$ and average
# $\log q(z) - \log p(z)$. The estimate must settle on the closed form as the number of
# samples grows, with an error shrinking like $1/\sqrt{S}$.


# %%
def log_normal(z, mean, logvar):
    """log N(z; mean, e^logvar), summed over the last axis."""
    return -0.5 * (np.log(2 * np.pi) + logvar + (z - mean) ** 2 / np.exp(logvar)).sum(-1)


mu_q, logvar_q = np.array([[1.0, -0.5]]), np.array([[np.log(0.3), np.log(2.0)]])
S = 100_000
z, _ = reparameterize_forward(
    np.repeat(mu_q, S, 0), np.repeat(logvar_q, S, 0), rng.standard_normal((S, 2))
)
terms = log_normal(z, mu_q, logvar_q) - log_normal(z, 0.0, np.zeros(2))
running = np.cumsum(terms) / np.arange(1, S + 1)
kl_exact = gaussian_kl_forward(mu_q, logvar_q)[0][0]
print(
    f"closed form {kl_exact:.4f}   Monte Carlo ({S} samples) {running[-1]:.4f} "
    f"+- {terms.std() / np.sqrt(S):.4f}"
)
assert abs(running[-1] - kl_exact) < 4 * terms.std() / np.sqrt(S)

plt.figure(figsize=(7, 3))
plt.semilogx(np.arange(1, S + 1), running, label="Monte-Carlo estimate")
plt.axhline(kl_exact, color="k", ls="--", label="closed form")
plt.xlabel("number of samples $S$")
plt.ylabel("KL (nats)")
plt.ylim(kl_exact - 1, kl_exact + 1)
plt.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# ## A VAE you can draw
# Everything together on 2-D data that lies near a line, with a 1-D code. Encoder and decoder
# are single affine layers:
# $$[\mu, \log\sigma^2] = x W_e + b_e, \qquad \hat x = z W_d + b_d,$$
# and the decoder is a Gaussian with one learned variance, $p(x|z) = \mathcal{N}(\hat x, s^2 I)$:
# $$\log p(x|z) = -\tfrac12\left(\frac{\|x - \hat x\|^2}{s^2} + D\log(2\pi s^2)\right),\qquad
# \frac{\partial \log p}{\partial \hat x} = \frac{x - \hat x}{s^2},\qquad
# \frac{\partial \log p}{\partial \log s^2} = \frac{\|x - \hat x\|^2}{2 s^2} - \frac{D}{2}.$$
# This linear-Gaussian model is probabilistic PCA (Tipping & Bishop 1999), so the answer is
# known in closed form and we can check that the VAE finds it.

# %%
n, D, Z = 400, 2, 1
t = rng.standard_normal((n, 1))
x = t @ np.array([[2.0, 1.0]]) + np.array([1.0, -0.5]) + 0.3 * rng.standard_normal((n, D))


def gaussian_log_lik(x, xhat, log_s2):
    """log N(x; xhat, e^log_s2 I) per example."""
    d = x.shape[-1]
    return -0.5 * (((x - xhat) ** 2).sum(-1) / np.exp(log_s2) + d * (np.log(2 * np.pi) + log_s2))


# %% [markdown]
# The forward pass is four ops; the backward pass walks them in reverse. The encoder's
# $\mu$ receives gradient from two places — through $z$ (reconstruction) and from the KL — and
# the two simply add.


# %%
def negative_elbo(p, x, eps):
    """-ELBO averaged over the batch, and its gradient for every parameter in p."""
    n = len(x)
    h, enc_cache = affine_forward(x, p["We"], p["be"])
    mu, logvar = h[:, :Z], h[:, Z:]
    z, rep_cache = reparameterize_forward(mu, logvar, eps)
    xhat, dec_cache = affine_forward(z, p["Wd"], p["bd"])
    kl, kl_cache = gaussian_kl_forward(mu, logvar)
    loss = (kl - gaussian_log_lik(x, xhat, p["log_s2"])).mean()

    r2, inv_s2 = ((x - xhat) ** 2).sum(-1), np.exp(-p["log_s2"])
    dxhat = -(x - xhat) * inv_s2 / n
    dlog_s2 = np.atleast_1d((D / 2 - 0.5 * r2 * inv_s2).mean())
    dz, dWd, dbd = affine_backward(dxhat, dec_cache)
    dmu, dlogvar = reparameterize_backward(dz, rep_cache)
    dmu_kl, dlogvar_kl = gaussian_kl_backward(np.full(n, 1 / n), kl_cache)
    dh = np.concatenate([dmu + dmu_kl, dlogvar + dlogvar_kl], axis=1)
    _, dWe, dbe = affine_backward(dh, enc_cache)
    return loss, {"We": dWe, "be": dbe, "Wd": dWd, "bd": dbd, "log_s2": dlog_s2}


def init():
    r = np.random.default_rng(1)
    return {
        "We": 0.1 * r.standard_normal((D, 2 * Z)),
        "be": np.zeros(2 * Z),
        "Wd": 0.1 * r.standard_normal((Z, D)),
        "bd": np.zeros(D),
        "log_s2": np.zeros(1),
    }


# %% [markdown]
# Before trusting it, the whole gradient against finite differences (fixed $\epsilon$, so the
# loss is a deterministic function of the parameters):

# %%
p, xs, eps = init(), x[:20], rng.standard_normal((20, Z))
_, grads = negative_elbo(p, xs, eps)
errors = {
    k: gradient_error(numerical_gradient(lambda v: negative_elbo(p, xs, eps)[0], p[k]), grads[k])
    for k in p
}
print({k: f"{e:.1e}" for k, e in errors.items()})
assert max(errors.values()) < 1e-6

# %% [markdown]
# Plain gradient descent with a fresh $\epsilon$ every step (so each step sees a one-sample
# estimate of the ELBO's gradient) and a learning rate decaying linearly to zero, which lets the
# noise of those estimates average out at the end.

# %%
p, steps, lr0 = init(), 4000, 0.02
curve = []
for step in range(steps):
    loss, grads = negative_elbo(p, x, rng.standard_normal((n, Z)))
    lr = lr0 * (1 - step / steps)
    for k in p:
        p[k] -= lr * grads[k]
    curve.append(-loss)

# %% [markdown]
# ### Did it find the right answer?
# Here $\log p(x)$ is computable: $x = zW_d + b_d + \text{noise}$ is Gaussian with covariance
# $C = W_d^\top W_d + s^2 I$. So we can watch the bound: the ELBO must stay *below* $\log p(x)$,
# and for this model, whose true posterior is itself Gaussian, it can touch it. Probabilistic PCA
# also says where the optimum is: $W_d$ along the top principal direction of the data, $s^2$ equal
# to the variance left over in the other direction.


# %%
def log_evidence(p, x):
    """Exact mean log p(x) of the linear-Gaussian model."""
    C = p["Wd"].T @ p["Wd"] + np.exp(p["log_s2"][0]) * np.eye(D)
    r = x - p["bd"]
    return (
        -0.5
        * (
            np.einsum("nd,de,ne->n", r, np.linalg.inv(C), r)
            + np.linalg.slogdet(C)[1]
            + D * np.log(2 * np.pi)
        ).mean()
    )


elbo = -np.mean([negative_elbo(p, x, rng.standard_normal((n, Z)))[0] for _ in range(100)])
evidence = log_evidence(p, x)
eigval, eigvec = np.linalg.eigh(np.cov(x.T, bias=True))
cosine = abs(p["Wd"][0] @ eigvec[:, -1]) / np.linalg.norm(p["Wd"])
print(f"ELBO {elbo:.4f} <= log p(x) {evidence:.4f}   (gap {evidence - elbo:.4f} nats)")
print(f"decoder direction vs top principal direction: cos = {cosine:.4f}")
print(f"decoder variance s^2 = {np.exp(p['log_s2'][0]):.3f}, smallest eigenvalue {eigval[0]:.3f}")
assert elbo <= evidence + 0.01, "the ELBO must lower-bound the log-likelihood"
assert evidence - elbo < 0.1
assert cosine > 0.99
assert abs(np.exp(p["log_s2"][0]) - eigval[0]) < 0.3 * eigval[0]

# %% [markdown]
# ### The picture
# Left: the ELBO climbing towards $\log p(x)$. Middle: the data and their reconstructions
# $\hat x = \mu(x) W_d + b_d$ — the code keeps the position along the line and drops the rest,
# like PCA. Right: the VAE as a *generator*: $z \sim \mathcal{N}(0, 1)$ decoded, plus the
# decoder's noise $s\,\epsilon$, looks like the data. That last panel is what a plain
# autoencoder cannot give us.

# %%
mu_x = affine_forward(x, p["We"], p["be"])[0][:, :Z]
recon = affine_forward(mu_x, p["Wd"], p["bd"])[0]
z_prior = rng.standard_normal((n, Z))
samples = affine_forward(z_prior, p["Wd"], p["bd"])[0] + np.exp(
    0.5 * p["log_s2"][0]
) * rng.standard_normal((n, D))

fig, axes = plt.subplots(1, 3, figsize=(15, 4))
axes[0].plot(np.convolve(curve, np.ones(50) / 50, mode="valid"), label="ELBO (running mean)")
axes[0].axhline(evidence, color="k", ls="--", label=r"$\log p(x)$ at the end")
axes[0].set_ylim(evidence - 1.5, evidence + 0.3)
axes[0].set_xlabel("step")
axes[0].legend()
axes[1].scatter(*x.T, s=6, alpha=0.4, label="data")
axes[1].scatter(*recon.T, s=6, label="reconstruction")
axes[1].legend()
axes[2].scatter(*x.T, s=6, alpha=0.4, label="data")
axes[2].scatter(*samples.T, s=6, label="decoded prior samples")
axes[2].legend()
for ax in axes[1:]:
    ax.set_aspect("equal")
plt.tight_layout()
plt.show()
