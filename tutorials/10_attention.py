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
# # 10. Attention: where the decoder looks
#
# The conditional VAE of notebook 8 squeezes a whole source sentence into one vector $c$ and
# hands it to the decoder. For translation that is a bottleneck: the 12th word of the output
# has to be recovered from the same vector as the first. **Attention** (Bahdanau et al. 2015)
# keeps every source position: an encoder state $k_s \in \mathbb{R}^K$ for each source word
# $s = 1..S$ (the *keys*), and at every step the decoder asks, with its state
# $q \in \mathbb{R}^H$ (the *query*), which of them it needs now.
#
# ## The scores, the masked softmax, the context
# Additive ("concat") attention scores each key with a one-layer network,
# $$e_s = v^\top \tanh(q W_q + k_s W_k), \qquad W_q \in \mathbb{R}^{H \times A},\;
#   W_k \in \mathbb{R}^{K \times A},\; v \in \mathbb{R}^A,$$
# turns the scores into weights with a softmax over the **real** positions of the sentence
# (a batch pads short sentences; padding must get no weight at all),
# $$w_s = \frac{m_s\, e^{e_s}}{\sum_u m_u\, e^{e_u}}, \qquad m_s \in \{0, 1\}\ \text{(the mask)},$$
# and reads the keys with those weights: the **context** $c = \sum_s w_s k_s$.
#
# The masked softmax is written as an ordinary softmax of $e_s$ set to $-\infty$ at padding:
# $e^{-\infty} = 0$ exactly, so padded positions get weight exactly 0 (not $10^{-9}$), and
# nothing flows back to their keys.
#
# A decoder asks a new question at every step but of the same keys, so the library splits the
# op in two: `attention_keys_forward` computes $k_s W_k$ once per sentence, and
# `additive_attention_step_forward` scores one query against them.

# %%
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Image, display

from minivae import ops
from minivae.conditional.data import VERBS
from minivae.gradcheck import check_op, format_table, numerical_gradient_array, rel_error
from minivae.gradcheck.models import check_model
from minivae.training.trainer import Trainer
from minivae.translation.config import NMTConfig
from minivae.translation.encoder import gather_positions, reverse_within_length
from minivae.translation.heatmap import plot_attention
from minivae.translation.nmt import TranslationVAE
from minivae.translation.run_config import NMTTrainConfig
from minivae.translation.tasks import attention_weights, translate

rng = np.random.default_rng(0)
N, S, K, H, A = 2, 5, 4, 3, 6
query, keys = rng.standard_normal((N, H)), rng.standard_normal((N, S, K))
Wq, Wk, v = rng.standard_normal((H, A)), rng.standard_normal((K, A)), rng.standard_normal(A)
lengths = np.array([5, 3])  # the second sentence has 3 words and 2 positions of padding
mask = np.arange(S)[None, :] < lengths[:, None]

# The three lines above, by hand:
e = np.tanh(query[:, None, :] @ Wq + keys @ Wk) @ v  # (N, S)
e = np.where(mask, e, -np.inf)
w = np.exp(e - e.max(axis=1, keepdims=True))
w /= w.sum(axis=1, keepdims=True)
context = (w[:, :, None] * keys).sum(axis=1)

lib_context, lib_w, cache = ops.additive_attention_forward(query, keys, mask, Wq, Wk, v)
print("weights:\n", np.round(lib_w, 3))
assert np.allclose(lib_w, w) and np.allclose(lib_context, context)
assert np.all(lib_w[1, 3:] == 0.0), "padding gets exactly zero weight"

# %% [markdown]
# ## The backward pass, derived
# Given $\bar c = \partial L / \partial c$ (and possibly $\bar w$, a loss on the weights
# themselves), walk the forward pass back:
#
# 1. **The weighted sum** $c = \sum_s w_s k_s$: $\;\bar k_s \mathrel{+}= w_s \bar c$ and
#    $\bar w_s = k_s \cdot \bar c\;(+\,\bar w_s)$.
# 2. **The softmax.** With $w_s = e^{e_s} / \sum_u e^{e_u}$, $\partial w_u / \partial e_s =
#    w_u(\delta_{us} - w_s)$, so
#    $$\bar e_s = \sum_u \bar w_u\, w_u (\delta_{us} - w_s) = w_s\Big(\bar w_s - \sum_u w_u
#    \bar w_u\Big).$$
#    Where $w_s = 0$ (padding) $\bar e_s = 0$: the mask needs no backward of its own.
# 3. **The scores** $e_s = v^\top h_s$, $h_s = \tanh(a_s)$, $a_s = q W_q + k_s W_k$:
#    $\bar v = \sum_s \bar e_s h_s$, $\;\bar a_s = \bar e_s\, v \odot (1 - h_s^2)$.
# 4. **The projections.** $q W_q$ was added at every position, so its gradient sums over
#    them: $\bar q = (\sum_s \bar a_s) W_q^\top$, $\bar W_q = q^\top \sum_s \bar a_s$; and
#    $\bar k_s \mathrel{+}= \bar a_s W_k^\top$, $\bar W_k = \sum_s k_s^\top \bar a_s$.
#
# Step 2 by hand against finite differences of the softmax alone, then the whole op against
# finite differences for every input (the mask included among the inputs: its padded keys
# must get a zero gradient):

# %%
scores = rng.standard_normal((N, S))
dweights = rng.standard_normal((N, S))
_, weights, attend_cache = ops.attend_forward(scores, keys, mask)
by_hand = weights * (dweights - (weights * dweights).sum(axis=1, keepdims=True))
numeric = numerical_gradient_array(
    lambda s: ops.attend_forward(s, keys, mask)[1], scores.copy(), dweights
)
print(f"softmax backward by hand vs finite differences: {rel_error(by_hand, numeric):.1e}")
assert rel_error(by_hand, numeric) < 1e-7

inputs = {"query": query, "keys": keys, "mask": mask, "Wq": Wq, "Wk": Wk, "v": v}
rows = check_op(ops.additive_attention_forward, ops.additive_attention_backward, inputs)
print(format_table(rows))
assert all(r.passed for r in rows)
dcontext = rng.standard_normal((N, K))
dkeys = ops.additive_attention_backward(dcontext, None, cache)[1]
assert np.all(dkeys[1, 3:] == 0.0), "nothing flows back to padded keys"

# %% [markdown]
# ## The encoder: a second LSTM reading backwards, within each sentence's length
# The keys come from a bidirectional LSTM: one LSTM reads the source left to right, a second
# right to left, and key $s$ is both states at word $s$, so it describes the word in its
# whole sentence. In a padded batch the backward LSTM must start at each sentence's *last
# word*, not at the end of the padding: the library reverses each row within its own length,
# `w1 w2 w3 <pad> <pad>` -> `w3 w2 w1 <pad> <pad>`, runs the ordinary LSTM op (which carries
# its state over padding), and puts the states back in reading order with the same
# permutation (it is its own inverse).

# %%
rev = reverse_within_length(lengths, S)
print(rev)
words = np.array([["w1", "w2", "w3", "w4", "w5"], ["w1", "w2", "w3", "<pad>", "<pad>"]])
print(np.take_along_axis(words, rev, axis=1))
x = rng.standard_normal((N, S, 2))
assert np.array_equal(gather_positions(gather_positions(x, rev), rev), x)

# %% [markdown]
# ## The whole model, checked
# The translation model (`minivae.translation`) puts these together: the bidirectional
# encoder, the decoder LSTM reading at each step the previous word, the context its last
# state attended to, and the conditional VAE's latent $z$; and the prediction from
# $\tanh([h_t; c_t] W)$. Every parameter of a tiny one against five-point finite
# differences in float64 (the source batch is padded to different lengths):

# %%
tiny = NMTConfig(
    vocab_size=7, src_vocab_size=9, embed_dim=6, enc_hidden_dim=3, hidden_dim=3,
    attention_dim=3, out_dim=6, latent_dim=3, prior_dim=4,
)  # fmt: skip
rows = check_model(TranslationVAE(tiny), label="nmt", dropout=0.25)  # masks fixed by a seed
print(format_table(rows))
assert all(r.passed for r in rows)

# %% [markdown]
# ## A trained model's attention
# The built-in toy language (notebook 8's) puts adjectives after their noun and the verb at
# the very end: `the chef cooked a very tasty soup yesterday` ->
# `nu tane zo poka mome refa kogi tapiri` (`tapiri` = cooked, in the past). A small model
# learns it in about 20 seconds; its attention should then jump back to the English verb
# for the last word, and cross over where an adjective follows its noun.

# %%
cfg = NMTTrainConfig(
    num_pairs=1500, epochs=14, lr=1e-2, embed_dim=32, enc_hidden_dim=32, hidden_dim=64,
    attention_dim=32, out_dim=64, latent_dim=4, prior_dim=16, dropout=0.1, kl_warmup=200,
    device="cpu", out="runs/tutorial10",
)  # fmt: skip
trainer = Trainer(cfg, progress_bar=False, overwrite=True)
trainer.run()
history = trainer.progress.history
print("validation BLEU by epoch:", [round(h["bleu"], 1) for h in history])
assert history[-1]["bleu"] > 50

data, model, params = trainer.data, trainer.model, trainer.params
sources = data.valid.src[:4]
outputs = [g[0] for g in translate(model, params, sources, max_len=20)]
weights = attention_weights(model, params, sources, outputs)
items = [
    (words, data.vocab.decode(out), w)
    for words, out, w in zip(data.kept_conditions("valid"), outputs, weights)
]
for words, out, _ in items:
    print(" ".join(words), "->", " ".join(out))

# plot_attention draws on a matplotlib Figure outside pyplot (it needs no display), so
# plt.show() would show nothing: save it as a PNG and show that.
plot_attention(items, out_path="attention.png")
display(Image("attention.png"))

# %% [markdown]
# Each row is one step of the decoder and sums to 1. Reading down a panel, the bright cells
# trace the alignment: determiners and nouns roughly in order, the adjectives one step later
# (after their noun), and the final word (the verb) looking back to the English verb in the
# middle of the sentence. The last row, `<eos>`, usually rests on the end of the source.
#
# Where the step that wrote the last word (the verb) looked, for each sentence:

# %%
verbs = 0
for words, out, w in items:
    last = w[len(out) - 1]  # the step that wrote the last word
    looked_at = words[int(np.argmax(last))]
    print(f"{out[-1]:>10s} looked at {looked_at!r} (weight {last.max():.2f})")
    verbs += looked_at in VERBS  # the toy corpus's verbs, present and past
assert verbs >= 3, "the verb at the end should come from the English verb"

fig, ax = plt.subplots(figsize=(6, 3))
ax.plot([h["epoch"] for h in history], [h["bleu"] for h in history], "o-")
ax.set_xlabel("epoch")
ax.set_ylabel("validation BLEU (greedy)")
plt.show()

# %% [markdown]
# Try: `attention="none"` in the config above (the context is then the source summary at
# every step, as in notebook 8) and compare the BLEU after the same 10 epochs; or
# `attention="bilinear"` (Luong's $e_s = q W k_s$). The real thing, Multi30k German ->
# English, is in `docs/translation.md`.
