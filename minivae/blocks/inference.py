"""Forward-only uses of a trained VAE: the posterior, log p(x|z), and one decoder step."""

from __future__ import annotations

from minivae import ops
from minivae.backend import get_array_module
from minivae.blocks.config import ModelConfig
from minivae.blocks.encoder import embedding_names, encode_forward
from minivae.blocks.rnn import input_projection, rnn_step, rnn_step_projected
from minivae.blocks.sequence import decoder_io, on_device
from minivae.interface import Step


def posterior(params, config: ModelConfig, tokens, lengths, kernel: str = "auto"):
    """q(z|x) = N(mu, e^logvar).  tokens: (N, T), lengths: (N,)  ->  mu, logvar: (N, Z)"""
    _, tokens, _, mask = on_device(params, tokens, lengths)
    mu, logvar, _ = encode_forward(params, config, tokens, mask, Step(kernel=kernel))
    return mu, logvar


def log_px_given_z(params, config: ModelConfig, tokens, lengths, z, kernel: str = "auto"):
    """log p(x|z) of each sentence, words and <eos>.

    tokens: (N, T), lengths: (N,), z: (K * N, Z): K codes per sentence (row k * N + n is
    sentence n's k-th), all scored in one pass  ->  (K * N,)
    """
    xp, tokens, lengths, _ = on_device(params, tokens, lengths)
    N = tokens.shape[0]
    K = z.shape[0] // N
    if K * N != z.shape[0]:
        raise ValueError(f"z has {z.shape[0]} rows, not a multiple of the {N} sentences")
    inputs, targets, mask = decoder_io(tokens, lengths)
    h = decoder_states(params, config, z, inputs, kernel)  # (T+1, K*N, H)

    def per_code(a):  # (N, T+1) -> (T+1, K*N), h's layout: the K codes of a sentence share it
        return xp.broadcast_to(a.T[:, None, :], (a.shape[1], K, N)).reshape(h.shape[:2])

    real = per_code(mask)  # only the real positions are scored
    log_p = xp.zeros(real.shape, dtype=h.dtype)
    log_p[real] = ops.affine_target_log_probs(
        h[real],
        params["out_W"],
        params["out_b"],
        per_code(targets)[real],
        "array" if kernel == "array" else "auto",
    )
    return log_p.sum(axis=0)


def scoring_width(config: ModelConfig) -> int:
    """Numbers ``log_px_given_z`` holds per token and code: the input's share of the gates
    (at most 4H), the hidden state and its copy among the real rows; no logits."""
    return 6 * config.hidden_dim


def decoder_states(params, config: ModelConfig, z, inputs, kernel: str = "auto"):
    """The decoder's hidden states reading ``inputs`` under each code, teacher forced.

    z: (K * N, Z), inputs: (N, T+1)  ->  h: (T+1, K * N, H), time-major

    The input projection splits as [e, z] Wx = e Wx[:E] + z Wx[E:]: the words' share is
    computed once per sentence, not once per code, and z's once per code, not per step.
    Steps after a sentence's end run on (their states are never scored).
    """
    xp = get_array_module(z)
    N, T1 = inputs.shape
    K, E = z.shape[0] // N, config.embed_dim
    words = params[embedding_names(config)[1]][inputs.T]  # (T+1, N, E)
    ax = input_projection(config.cell, words, params, "dec", rows=slice(0, E))
    ax = xp.broadcast_to(ax[:, None], (T1, K, N, ax.shape[-1]))
    S = config.step_width
    if S:
        Wz = params["dec_Wx"][E:]
        ax = ax + (z[:, -S:] @ Wz).reshape(1, K, N, Wz.shape[1])
    ax = xp.ascontiguousarray(ax).reshape(T1, K * N, -1)
    *state, _ = decoder_start(params, config, z)
    h = xp.empty((T1, K * N, config.hidden_dim), dtype=z.dtype)
    for t in range(T1):
        h[t], state = rnn_step_projected(config.cell, ax[t], state, params, "dec", kernel)
    return h


def decoder_start(params, config: ModelConfig, z) -> tuple:
    """The decoder's state before <bos>.  z: (N, Z)  ->  (h, c, z) for an LSTM, (h, z) for a GRU

    z rides along in the state: with z_mode concat or both it joins every input.
    """
    xp = get_array_module(z)
    N, H = z.shape[0], config.hidden_dim
    if config.z_init:
        h = xp.tanh(z @ params["z_to_h_W"] + params["z_to_h_b"])
    else:
        h = xp.zeros((N, H), dtype=z.dtype)
    return (h, xp.zeros_like(h), z) if config.cell == "lstm" else (h, z)


def decoder_step(params, config: ModelConfig, state: tuple, prev_tokens, kernel: str = "auto"):
    """Feed one token per row.  prev_tokens: (N,) int
    -> log_probs (N, V) of the next token, the new state
    """
    *rnn_state, z = state
    xp = get_array_module(z)
    x = params[embedding_names(config)[1]][prev_tokens]
    S = config.step_width
    if S:
        x = xp.concatenate([x, z[:, -S:]], axis=1)
    h, rnn_state = rnn_step(config.cell, x, tuple(rnn_state), params, "dec", kernel)
    return ops.log_softmax(h @ params["out_W"] + params["out_b"]), (*rnn_state, z)


class DecoderScoring:
    """The model interface's decoder methods (``scoring_width``, ``log_likelihood``,
    ``decoder_start``, ``decoder_step``) for a family whose decoder is the text VAE's, fed
    the family's code (``self.config.decoder_config``): the conditional, hierarchical and
    dialogue models score and decode through it this one way.
    Listed first among the bases (``class ConditionalVAE(DecoderScoring, TextModel)``) so
    that it comes before the interface's defaults."""

    @property
    def scoring_width(self) -> int:
        return scoring_width(self.config.decoder_config)

    def log_likelihood(self, params, batch, code, kernel: str = "auto"):
        return log_px_given_z(
            params, self.config.decoder_config, batch.tokens, batch.lengths, code, kernel
        )

    def decoder_start(self, params, code, kernel: str = "auto") -> tuple:
        return decoder_start(params, self.config.decoder_config, code)

    def decoder_step(self, params, state: tuple, prev_tokens, kernel: str = "auto"):
        return decoder_step(params, self.config.decoder_config, state, prev_tokens, kernel)
