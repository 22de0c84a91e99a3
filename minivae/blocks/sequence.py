"""A padded batch of sentences as the networks read it: on the parameters' device, with its
mask, and as teacher-forced decoder inputs and targets (with word dropout)."""

from __future__ import annotations

from minivae import ops
from minivae.backend import get_array_module
from minivae.data.vocab import BOS, EOS, PAD, UNK


def on_device(params, tokens, lengths):
    """A batch's token ids and lengths as arrays of the parameters' module, and the mask of
    real tokens.  -> xp, tokens (N, T), lengths (N,), mask (N, T)"""
    xp = get_array_module(params["out_W"])
    tokens, lengths = xp.asarray(tokens), xp.asarray(lengths)
    return xp, tokens, lengths, xp.arange(tokens.shape[1])[None, :] < lengths[:, None]


def decoder_io(tokens, lengths):
    """Teacher forcing: the decoder reads <bos> w1 .. wL and predicts w1 .. wL <eos>.

    tokens: (N, T) padded with PAD, lengths: (N,)
    -> inputs (N, T+1), targets (N, T+1), mask (N, T+1) (True at the L+1 predicted positions)
    """
    xp = get_array_module(tokens)
    N, T = tokens.shape
    inputs = xp.full((N, T + 1), PAD, dtype=tokens.dtype)
    inputs[:, 0] = BOS
    inputs[:, 1:] = tokens
    targets = xp.full((N, T + 1), PAD, dtype=tokens.dtype)
    targets[:, :T] = tokens
    targets[xp.arange(N), lengths] = EOS
    mask = xp.arange(T + 1)[None, :] <= lengths[:, None]
    return inputs, targets, mask


def decoder_inputs(tokens, lengths, word_dropout: float = 0.0, rng=None):
    """``decoder_io`` with word dropout (Bowman et al. 2016) on the words read: each becomes
    <unk> with probability ``word_dropout`` (<bos> stays).  -> inputs, targets, mask"""
    inputs, targets, mask = decoder_io(tokens, lengths)
    if word_dropout > 0:
        if rng is None:
            raise ValueError("word dropout needs an rng")
        droppable = mask.copy()
        droppable[:, 0] = False  # keep <bos>; inputs 1..L are the words
        inputs = ops.word_dropout(inputs, word_dropout, rng, UNK, mask=droppable)
    return inputs, targets, mask


def draw_eps(rng, shape, eps=None):
    """The reparameterization's noise: ``eps`` when given (a gradient check fixes it), else
    a draw from ``rng``."""
    if eps is not None:
        return eps
    if rng is None:
        raise ValueError("loss_and_grads needs eps or an rng to draw it from")
    return rng.standard_normal(shape)
