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
# # 11. Over-fitting, and two cures: dropout and weight decay
#
# A text VAE with more parameters than its corpus has sentences learns the training sentences
# themselves: the training loss keeps falling while the loss on held-out sentences turns and
# rises. The curves of the two split apart. Two classic remedies, each one option of the
# trainer and each with its backward pass written out and gradient-checked:
#
# - **dropout** (Srivastava et al. 2014), `--dropout p`: while training, zero each unit of the
#   embeddings and of the decoder's LSTM outputs with probability $p$ and scale the rest by
#   $1/(1-p)$, so no unit can be relied on alone;
#   $\text{out} = x \odot m / (1-p)$, $m \sim \text{Bernoulli}(1-p)$,
#   $\partial \text{out} / \partial x = m / (1-p)$;
# - **weight decay**, `--weight-decay` $\lambda$: add $\frac{\lambda}{2}\sum \|W\|^2$ over the
#   weight matrices and embeddings to the loss, pulling every weight towards 0 by $\lambda W$.

# %%
import matplotlib.pyplot as plt
import numpy as np

from minivae import ops
from minivae.gradcheck import check_op, format_table
from minivae.model.run_config import TrainConfig
from minivae.training.trainer import Trainer

# %% [markdown]
# ## The two ops, checked
# Dropout with a fixed mask is a function like any other (the mask is drawn once, outside);
# the L2 penalty's gradient is $\lambda W$ for the matrices and 0 for the biases.

# %%
rng = np.random.default_rng(0)
x = rng.standard_normal((3, 4, 5))
keep = rng.random((3, 4, 5)) >= 0.3
rows = check_op(
    ops.dropout_forward, ops.dropout_backward, {"x": x, "p": 0.3, "rng": None, "mask": keep}
)
out, _ = ops.dropout_forward(x, 0.3, mask=keep)
assert np.allclose(out[~keep], 0) and np.allclose(out[keep], x[keep] / 0.7)

params = {"W": rng.standard_normal((4, 3)), "b": rng.standard_normal(3)}
penalty, cache = ops.l2_penalty_forward(params, 0.1)
grads = ops.l2_penalty_backward(1.0, cache)
assert np.isclose(penalty, 0.05 * (params["W"] ** 2).sum())
assert np.allclose(grads["W"], 0.1 * params["W"]) and "b" not in grads  # biases: no decay
print(format_table(rows))
assert all(r.passed for r in rows)

# %% [markdown]
# ## Over-fitting a small corpus
# 400 sentences of the built-in corpus, a quarter held out, and a model far too big for them
# (H=256, about 0.7 million parameters for 300 training sentences). After every epoch we
# measure the negative ELBO on the training sentences and on the held-out ones, both without
# dropout, so the two numbers are comparable.


# %%
def train_and_track(out, epochs=20, **options):
    cfg = TrainConfig(
        builtin_size=400,
        valid_fraction=0.25,
        embed_dim=64,
        hidden_dim=256,
        latent_dim=8,
        lr=3e-3,
        batch_size=16,
        kl_warmup=100,
        device="cpu",
        out=out,
        epochs=epochs,
        **options,
    )
    trainer = Trainer(cfg, progress_bar=False, log=lambda *a: None, overwrite=True)
    curves = {"train": [], "valid": []}
    for epoch in range(1, epochs + 1):
        trainer.cfg.epochs = epoch  # one more epoch each time round
        trainer.run()
        for split in curves:
            curves[split].append(trainer.evaluate(split)["nelbo"])
    return curves


plain = train_and_track("runs/tutorial11/plain", word_dropout=0.0)
best = int(np.argmin(plain["valid"]))
print(
    f"held-out -ELBO: best {plain['valid'][best]:.1f} at epoch {best + 1}, "
    f"last {plain['valid'][-1]:.1f}; training -ELBO last {plain['train'][-1]:.1f}"
)

# %% [markdown]
# The held-out loss rises again after its best epoch while the training loss keeps falling:
# the model is memorizing. (This is what the validation curve is for: `minivae train` keeps
# `best.npz`, the checkpoint of the best held-out loss.)

# %%
assert plain["train"][-1] < plain["train"][best], "the training loss keeps falling"
assert plain["valid"][-1] > plain["valid"][best] + 1.0, "the held-out loss turns up"
gap_plain = plain["valid"][-1] - plain["train"][-1]

# %% [markdown]
# ## The cure
# The same model and budget with dropout 0.5 and weight decay $10^{-4}$.

# %%
cured = train_and_track("runs/tutorial11/cured", word_dropout=0.0, dropout=0.5, weight_decay=1e-4)
gap_cured = cured["valid"][-1] - cured["train"][-1]
print(
    f"gap between held-out and training -ELBO after the last epoch: "
    f"{gap_plain:.1f} without, {gap_cured:.1f} with dropout and weight decay"
)
print(
    f"held-out -ELBO after the last epoch: {plain['valid'][-1]:.1f} without, "
    f"{cured['valid'][-1]:.1f} with"
)

fig, axes = plt.subplots(1, 2, figsize=(12, 4), sharey=True)
for ax, (name, curves) in zip(axes, [("no remedy", plain), ("dropout + weight decay", cured)]):
    epochs = np.arange(1, len(curves["train"]) + 1)
    ax.plot(epochs, curves["train"], "o-", label="training sentences")
    ax.plot(epochs, curves["valid"], "s-", label="held-out sentences")
    ax.set_title(name)
    ax.set_xlabel("epoch")
    ax.legend()
axes[0].set_ylabel("-ELBO (nats / sentence)")
plt.tight_layout()
plt.show()

# %% [markdown]
# With the remedies the two curves stay close and the held-out loss ends lower: the model
# learns what the sentences share instead of the sentences themselves.

# %%
assert gap_cured < gap_plain / 2, "the curves should stay much closer together"
assert cured["valid"][-1] < plain["valid"][-1], "and the held-out loss should end lower"
