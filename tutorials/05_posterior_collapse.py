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
# # 5. Posterior collapse, and how to fight it
#
# The ELBO per sentence is
# $$\mathcal{L} = \mathbb{E}_{q(z|x)}[\log p(x|z)] - \mathrm{KL}(q(z|x)\,\|\,p(z)).$$
# An LSTM decoder predicts each word from all the words before it. For most words, the prefix
# already says what $z$ could say, so the cheapest way to raise the ELBO is to ignore $z$ and
# set $q(z|x) = p(z)$ for every sentence: the KL term becomes exactly zero. That is
# **posterior collapse** (Bowman et al. 2016): a fine language model with an empty latent space.
#
# We can see it with three numbers per epoch:
# - the **KL**, $\frac{1}{N}\sum_n \mathrm{KL}(q(z|x_n)\|p(z))$ — zero means collapse;
# - the **active units** (Burda et al. 2016): latent dimensions whose posterior mean varies
#   across sentences, $\mathrm{Var}_x(\mathbb{E}_{q}[z_j]) > 0.01$;
# - the **mutual information** $I(x; z)$ under $q$ (He et al. 2019).
#
# And three remedies, each one option of the trainer:
# - **KL annealing**: weight the KL by $\beta$ rising from 0 to 1, so the decoder learns to use
#   $z$ before the KL pulls $q$ onto the prior;
# - **word dropout**: replace decoder input words by `<unk>` with probability $p$, so the prefix
#   says less and $z$ must say more;
# - **free bits** (Kingma et al. 2016): optimise $\sum_j \max(\lambda, \mathrm{KL}_j)$ instead
#   of the KL, so no dimension is pushed below $\lambda$ nats.

# %%
import matplotlib.pyplot as plt
import numpy as np

from minivae.gradcheck.models import check_model, tiny_batch
from minivae.interface import Step
from minivae.model import ModelConfig, TextVAE, init_params, loss_and_grads
from minivae.model.run_config import TrainConfig
from minivae.remedies.kl_schedules import kl_weight
from minivae.training.trainer import Trainer

# %% [markdown]
# ## The KL weight schedules

# %%
steps = np.arange(2000)
plt.figure(figsize=(8, 3))
for name in ["constant", "linear", "logistic", "cyclical"]:
    plt.plot(
        steps,
        [kl_weight(s, name, warmup=800, total_steps=2000, cycles=3) for s in steps],
        label=name,
    )
plt.xlabel("step")
plt.ylabel(r"$\beta$")
plt.legend()
plt.show()

# %% [markdown]
# ## Free bits, and their gradient
# Under free bits a dimension whose batch-mean KL is below $\lambda$ gets no push from the KL at
# all: $\partial \max(\lambda, \mathrm{KL}_j) / \partial \mathrm{KL}_j = [\mathrm{KL}_j > \lambda]$.
# The whole model's gradient, with that kink inside, is still checked against finite differences:

# %%
tiny = ModelConfig(vocab_size=11, embed_dim=4, hidden_dim=5, latent_dim=3)
rows = check_model(TextVAE(tiny), free_bits=0.25)
assert all(r.passed for r in rows), [r for r in rows if not r.passed]
print("free-bits model gradient: max relative error", max(r.error for r in rows))

# With a floor above every dimension's KL, the KL term pushes nothing: the encoder's mean
# gets exactly the gradient it gets with beta = 0.
params = init_params(tiny, dtype=np.float64)
batch, eps = tiny_batch(11), np.random.default_rng(0).standard_normal((3, 3))
_, g_floor = loss_and_grads(params, batch, tiny, Step(eps=eps, free_bits=100.0))
_, g_beta0 = loss_and_grads(params, batch, tiny, Step(eps=eps, beta=0.0))
np.testing.assert_allclose(g_floor["mu_W"], g_beta0["mu_W"])

# %% [markdown]
# ## The same model, with each remedy
# Small settings so all seven runs take about a minute: the built-in corpus (1500 sentences),
# E=32, H=64, Z=8, 8 epochs each. Besides the three remedies above, alone and together, two
# later ones (both one option of the trainer, `docs/results.md` derives them):
# - **aggressive encoder training** (after He et al. 2019): before each decoder update, train
#   the encoder alone until its loss stops falling, so $q(z|x)$ keeps up with the decoder; stop
#   once the mutual information stops rising. Here the cheaper capped loop
#   (`aggressive_capped`, at most 10 encoder steps); He et al.'s own (`aggressive`, up to 99
#   steps, the encoder with its own embedding) is `docs/remedies.md`'s;
# - **autoencoder pre-training** (after Li et al. 2019): train with $\beta = 0$ first (an
#   autoencoder, whose encoder must put the sentence in $z$), then re-initialize the decoder
#   and train the VAE with a KL floor: here free bits, where Li et al. use a per-sentence
#   threshold (`kl_threshold`).

# %%
base = dict(
    builtin_size=1500,
    epochs=8,
    batch_size=16,
    embed_dim=32,
    hidden_dim=64,
    latent_dim=8,
    device="cpu",
)
none = dict(kl_schedule="constant", word_dropout=0.0, free_bits=0.0)
runs = {
    "no remedy": none,
    "annealing": dict(none, kl_schedule="linear", kl_warmup=300),
    "word dropout 0.5": dict(none, word_dropout=0.5),
    "free bits 0.5": dict(none, free_bits=0.5),
    "all three": dict(kl_schedule="linear", kl_warmup=300, word_dropout=0.5, free_bits=0.5),
    "capped aggressive + annealing": dict(
        none, kl_schedule="linear", kl_warmup=300, aggressive_capped=True, aggressive_steps=10
    ),
    "pre-training + free bits 0.3": dict(none, ae_pretrain_epochs=2, free_bits=0.3),
}
history = {}
for name, options in runs.items():
    trainer = Trainer(
        TrainConfig(**base, **options, out=f"runs/tutorial05/{len(history)}"),
        progress_bar=False,
        log=lambda *a: None,
        overwrite=True,
    )
    trainer.run()
    history[name] = trainer.progress.history
    last = history[name][-1]
    print(
        f"{name:30s} KL {last['kl']:5.2f}  active units {last['active_units']}/8  "
        f"MI {last['mi']:.2f}  -ELBO {last['nelbo']:.1f} (reconstruction {last['rec']:.1f})"
    )

# %%
fig, axes = plt.subplots(1, 3, figsize=(16, 4))
for name, rows in history.items():
    epochs = [r["epoch"] for r in rows]
    axes[0].plot(epochs, [r["kl"] for r in rows], "o-", label=name)
    axes[1].plot(epochs, [r["active_units"] for r in rows], "o-")
    axes[2].plot(epochs, [r["mi"] for r in rows], "o-")
titles = ["KL (nats / sentence)", "active units (of 8)", "mutual information I(x; z)"]
for ax, title in zip(axes, titles):
    ax.set_title(title)
    ax.set_xlabel("epoch")
axes[0].legend(fontsize=7)
plt.tight_layout()
plt.show()

# %% [markdown]
# What this small run shows (the numbers above; they are asserted below where they matter):
# - **No remedy**: the KL falls to (almost) nothing and no unit is active: collapse.
# - **Annealing alone** and **word dropout alone** do not save a model this small: the KL
#   still goes to zero once $\beta$ is 1 (annealing only delays the pull onto the prior;
#   word dropout makes the decoder's job harder, but here it still learns to do without $z$).
# - **Free bits alone** keep the KL up, but the KL can be spent on shrinking the posterior's
#   variance without making the means differ between sentences: few active units.
# - **All three together** keep the KL up *and* make the latent units active: the decoder
#   needs $z$ (word dropout) while the KL cannot pull it onto the prior (annealing, free bits).
# - **The capped aggressive loop** needs more steps than eight short epochs to act here; on
#   PTB (`docs/results.md`) it collapsed too, and so did He et al.'s own loop once its
#   aggressive phase ended (after 3 of 15 epochs: KL 0.06 nats, 2 active units at the end).
# - **Pre-training with free bits** reaches its KL floor; how much of it becomes active
#   units depends on the run length.
#
# Every remedy costs reconstruction: a model that spends nats on $z$ pays for them in the
# -ELBO until the decoder learns to use what $z$ says. `docs/results.md` measures all of them
# on PTB, with held-out likelihoods.

# %%
collapsed = history["no remedy"][-1]
remedied = history["all three"][-1]
assert collapsed["kl"] < 0.5 and collapsed["active_units"] <= 1
assert remedied["kl"] > 1.5 and remedied["active_units"] >= 4
assert history["free bits 0.5"][-1]["kl"] > 1.5  # the floor holds the KL up
for alone in ("annealing", "word dropout 0.5"):  # as the text above says
    assert history[alone][-1]["active_units"] <= 2, alone
