"""The dialogue model's parameters.

embed (V, E)                               words, read by utterance encoder and decoder
utt_fw_*, utt_bw_*  (E -> H each)          the bidirectional utterance encoder
ctx_Wx (2H + 2, gC), ctx_Wh (C, gC), ctx_b*  the context RNN over [utterance; speaker]
act_embed (K, A)                           the act y (act_dim > 0)
y_fc_W (A, A), y_fc_b (A,)                 tanh(y W + b), what q reads of y (both > 0)
mu_W, logvar_W (2H + C + A, Z), *_b (Z,)   q(z|x, c, y)            (latent_dim > 0)
prior_*                                    p(z|c): tanh layer P -> mean, log-variance
act_fc_W (Z + C, D), act_W (D, K), *_b     p(y|z, c), a tanh layer D (act_dim > 0)
bow_fc_W (Z + C, D), bow_W (D, V), *_b     the bag-of-words head, a tanh layer D (bow)
z_to_h_W (Z + C + A, H), dec_Wx (E + A, gH), dec_Wh, dec_b*, out_W, out_b
                                           the decoder (the plain VAE's: [z; c; y] sets
                                           its first state, y joins every input)

The names of Zhao et al.'s code: y_fc is attribute_fc1, act_fc meta_fc1, bow_fc bow_fc1.
"""

from __future__ import annotations

import numpy as np

from minivae.blocks.latent import prior_net_shapes
from minivae.blocks.params import init_from_shapes, param_shapes, rnn_bias_shapes
from minivae.dialogue.config import DialogueConfig

RNNS = ("utt_fw", "utt_bw", "ctx", "dec")


def dialogue_param_shapes(config: DialogueConfig) -> dict[str, tuple]:
    E, H, C = config.embed_dim, config.hidden_dim, config.context_dim
    Z, A, K = config.latent_dim, config.act_dim, config.num_acts
    gates = 4 if config.cell == "lstm" else 3
    shapes = {"embed": (config.vocab_size, E)}
    for prefix in ("utt_fw", "utt_bw"):
        shapes.update({f"{prefix}_Wx": (E, gates * H), f"{prefix}_Wh": (H, gates * H)})
        shapes.update(rnn_bias_shapes(prefix, config.cell, H))
    shapes.update({"ctx_Wx": (2 * H + 2, gates * C), "ctx_Wh": (C, gates * C)})
    shapes.update(rnn_bias_shapes("ctx", config.cell, C))
    D, G, V = config.head_dim, config.g_dim, config.vocab_size
    if A:
        shapes["act_embed"] = (K, A)
    if Z:
        if A:
            shapes.update({"y_fc_W": (A, A), "y_fc_b": (A,)})
        Q = 2 * H + C + A
        shapes.update({"mu_W": (Q, Z), "mu_b": (Z,), "logvar_W": (Q, Z), "logvar_b": (Z,)})
        shapes.update(prior_net_shapes(C, config.prior_dim, Z))
    if A:
        shapes.update({"act_fc_W": (G, D), "act_fc_b": (D,), "act_W": (D, K), "act_b": (K,)})
    if config.bow:
        shapes.update({"bow_fc_W": (G, D), "bow_fc_b": (D,), "bow_W": (D, V), "bow_b": (V,)})
    decoder = param_shapes(config.decoder_config)
    shapes.update(
        {
            k: v
            for k, v in decoder.items()
            if not k.startswith(("enc_", "mu_", "logvar_")) and k != "embed"
        }
    )
    return shapes


def init_dialogue_params(config: DialogueConfig, seed: int = 0, dtype=np.float32, xp=np) -> dict:
    """Xavier-uniform matrices, N(0, 0.1^2) embeddings, zero biases, LSTM forget bias 1."""
    return init_from_shapes(dialogue_param_shapes(config), config.cell, RNNS, seed, dtype, xp)
