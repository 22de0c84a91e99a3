"""The bidirectional LSTM encoder: one LSTM reads each source sentence left to right, a
second reads it right to left, and each position gets both states (Schuster & Paliwal 1997;
Bahdanau et al. 2015's annotations):

    keys[n, s]  = [h_fwd[n, s]; h_bwd[n, s]]                         (N, S, K = 2 Hs)
    summary[n]  = [h_fwd after the last word; h_bwd after the first]  (N, K)

The right-to-left LSTM is the same op run over each sentence reversed *within its own
length*: w_1 .. w_L <pad> .. becomes w_L .. w_1 <pad> .., so padding stays at the end, where
the op carries the state over it (reversing the whole padded row would start the backward
LSTM on padding). Its states are put back in reading order by the same permutation.
"""

from __future__ import annotations

from minivae import ops
from minivae.backend import get_array_module
from minivae.blocks.rnn import rnn_backward, rnn_forward
from minivae.interface import Step


def reverse_within_length(lengths, S: int):
    """The permutation of each row's positions: rev[n, s] = L_n - 1 - s for s < L_n, else s.

    lengths: (N,) int  ->  rev (N, S) int. It is its own inverse: gathering twice by it is
    the identity, so the gather's gradient is a gather by it too.
    """
    xp = get_array_module(lengths)
    s = xp.arange(S)[None, :]
    L = lengths[:, None]
    return xp.where(s < L, L - 1 - s, s)


def gather_positions(x, rev):
    """out[n, s] = x[n, rev[n, s]].  x: (N, S, D), rev: (N, S)  ->  (N, S, D)"""
    return get_array_module(x).take_along_axis(x, rev[:, :, None], axis=1)


def bidirectional_encoder_forward(params, src, lengths, step: Step | None = None):
    """Embed the source words (with ``step.dropout``) and read them both ways.

    src: (N, S) int padded, lengths: (N,) (each >= 1); weights src_embed, src_fwd_*, src_bwd_*
    -> keys (N, S, K), summary (N, K), mask (N, S) bool, cache
    """
    step = Step() if step is None else step
    dropout, rng, training, kernel = step.dropout, step.rng, step.training, step.kernel
    xp = get_array_module(params["src_fwd_Wh"])
    N, S = src.shape
    mask = xp.arange(S)[None, :] < lengths[:, None]
    emb, c_emb = ops.embedding_forward(src, params["src_embed"], kernel)
    emb, c_drop = ops.dropout_forward(emb, dropout, rng, training=training)
    Hs = params["src_fwd_Wh"].shape[0]
    h0 = xp.zeros((N, Hs), dtype=emb.dtype)
    h_fwd, c_fwd = rnn_forward("lstm", emb, h0, params, "src_fwd", mask, kernel)
    rev = reverse_within_length(lengths, S)
    h_rev, c_bwd = rnn_forward(
        "lstm", gather_positions(emb, rev), h0, params, "src_bwd", mask, kernel
    )
    keys = xp.concatenate([h_fwd, gather_positions(h_rev, rev)], axis=2)
    # Padded steps carry the state: position S-1 holds each direction's state after its
    # sentence's last word (for the backward LSTM, after reading back to the first).
    summary = xp.concatenate([h_fwd[:, -1], h_rev[:, -1]], axis=1)
    return keys, summary, mask, (c_emb, c_drop, c_fwd, c_bwd, rev, Hs)


def bidirectional_encoder_backward(dkeys, dsummary, cache, grads: dict) -> None:
    """dkeys: (N, S, K), dsummary: (N, K); the encoder's gradients go into ``grads``."""
    c_emb, c_drop, c_fwd, c_bwd, rev, Hs = cache
    dh_fwd = dkeys[:, :, :Hs].copy()
    dh_fwd[:, -1] += dsummary[:, :Hs]
    dh_rev = gather_positions(dkeys[:, :, Hs:], rev)
    dh_rev[:, -1] += dsummary[:, Hs:]
    demb, _, dw = rnn_backward("lstm", dh_fwd, c_fwd, "src_fwd")
    grads.update(dw)
    demb_rev, _, dw = rnn_backward("lstm", dh_rev, c_bwd, "src_bwd")
    grads.update(dw)
    demb = demb + gather_positions(demb_rev, rev)
    demb = ops.dropout_backward(demb, c_drop)
    grads["src_embed"] = ops.embedding_backward(demb, c_emb, dW=grads.get("src_embed"))
