"""The translation model's parameters (E embedding, Hs encoder per direction, K = 2 Hs,
H decoder, A attention, O output layer, Z latent, P prior hidden; V / Vs target / source words):

    source encoder   src_embed (Vs, E); src_fwd_* and src_bwd_*: Wx (E, 4Hs), Wh (Hs, 4Hs), b
    attention        additive: att_Wk (K, A), att_Wq (H, A), att_v (A,);  bilinear: att_W (H, K)
    decoder          embed (V, E); init_W (K + Z, H), init_b (H,): h0 = tanh([summary; z] W + b)
                     dec_Wx (E + K + Z, 4H) reading [word; context; z], dec_Wh (H, 4H), dec_b
    output           hid_W (H + K, O), hid_b (O,), out_W (O, V), out_b (V,)
    q(z|x,y)         (Z > 0) enc_* (the target's LSTM, Hs; reads ``embed``),
                     mu_W, logvar_W (Hs + K, Z), mu_b, logvar_b (Z,)
    p(z|x)           (Z > 0) prior_W (K, P), prior_b, prior_mu_W, prior_logvar_W (P, Z), *_b
    bag of words     (bow) bow_W (Z + K, V), bow_b (V,)

summary (N, K) is the source's summary: the forward LSTM's last state and the backward one's
(both after the whole sentence).
"""

from __future__ import annotations

import numpy as np

from minivae.blocks.params import rnn_bias_shapes
from minivae.translation.config import NMTConfig

RNN_PREFIXES = ("src_fwd", "src_bwd", "dec", "enc")


def lstm_shapes(prefix: str, D: int, H: int) -> dict[str, tuple]:
    return {
        f"{prefix}_Wx": (D, 4 * H),
        f"{prefix}_Wh": (H, 4 * H),
        **rnn_bias_shapes(prefix, "lstm", H),
    }


def nmt_param_shapes(config: NMTConfig) -> dict[str, tuple]:
    """Name -> shape of every parameter."""
    V, Vs, E = config.vocab_size, config.src_vocab_size, config.embed_dim
    Hs, K, H, Z = config.enc_hidden_dim, config.key_dim, config.hidden_dim, config.latent_dim
    A, O, P = config.attention_dim, config.out_dim, config.prior_dim
    shapes = {"src_embed": (Vs, E)}
    shapes.update(lstm_shapes("src_fwd", E, Hs))
    shapes.update(lstm_shapes("src_bwd", E, Hs))
    if config.attention == "additive":
        shapes.update({"att_Wk": (K, A), "att_Wq": (H, A), "att_v": (A,)})
    elif config.attention == "bilinear":
        shapes["att_W"] = (H, K)
    shapes["embed"] = (V, E)
    shapes.update({"init_W": (K + Z, H), "init_b": (H,)})
    shapes.update(lstm_shapes("dec", E + K + Z, H))
    shapes.update({"hid_W": (H + K, O), "hid_b": (O,), "out_W": (O, V), "out_b": (V,)})
    if config.latent:
        shapes.update(lstm_shapes("enc", E, Hs))
        shapes.update({"mu_W": (Hs + K, Z), "mu_b": (Z,), "logvar_W": (Hs + K, Z)})
        shapes.update({"logvar_b": (Z,), "prior_W": (K, P), "prior_b": (P,)})
        shapes.update({"prior_mu_W": (P, Z), "prior_mu_b": (Z,)})
        shapes.update({"prior_logvar_W": (P, Z), "prior_logvar_b": (Z,)})
    if config.bow:
        shapes.update({"bow_W": (Z + K, V), "bow_b": (V,)})
    return shapes


def init_nmt_params(config: NMTConfig, seed: int = 0, dtype=np.float32, xp=np) -> dict:
    """PyTorch's default initialization, that of the reference model: embeddings N(0, 1); an
    LSTM's weights and bias U(-1/sqrt(H), 1/sqrt(H)); every other matrix (D, M) and its bias
    U(-1/sqrt(D), 1/sqrt(D)) (``nn.Linear``'s bound). Measured on Multi30k, the text VAE's
    initialization (N(0, 0.1^2) embeddings, Xavier matrices, forget bias 1) left the same
    model 20 nats per sentence behind after 450 steps; this one follows the PyTorch model's
    learning curve step for step (docs/translation.md)."""
    shapes = nmt_param_shapes(config)
    rng = np.random.default_rng(seed)
    params = {}
    for name, shape in shapes.items():
        prefix, _, kind = name.rpartition("_")
        if name.endswith("embed"):
            value = rng.standard_normal(shape)
        else:
            if prefix in RNN_PREFIXES:
                fan_in = shapes[f"{prefix}_Wh"][0]  # H, for Wx, Wh and b alike
            elif kind == "b":
                fan_in = shapes[f"{prefix}_W"][0]  # the bias of a layer: its matrix's rows
            else:
                fan_in = shape[0]  # a matrix (D, M), or v (A,): a layer A -> 1
            bound = 1.0 / np.sqrt(fan_in)
            value = rng.uniform(-bound, bound, size=shape)
        params[name] = xp.asarray(value, dtype=dtype)
    return params
