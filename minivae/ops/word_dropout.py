"""Word dropout (Bowman et al. 2016): hide decoder inputs so the decoder must lean on z.

Each real input token becomes <unk> (``unk_id``) with probability p. It has no gradient.
"""

from minivae.backend import get_array_module
from minivae.ops.validate import check_int, check_mask, check_ndim


def word_dropout(tokens, p, rng, unk_id: int, mask=None):
    """tokens: (N, T) int, mask: (N, T) bool (positions that may be dropped; None = all)
    -> a new (N, T) array with dropped tokens replaced by ``unk_id``
    """
    check_ndim("tokens", tokens, 2, "(N, T)")
    check_int("tokens", tokens)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"word dropout rate p must be in [0, 1], got {p}")
    mask = check_mask("mask", mask, tokens.shape)
    if p == 0.0:
        return tokens.copy()
    xp = get_array_module(tokens)
    drop = rng.random(tokens.shape) < p
    if mask is not None:
        drop &= mask
    return xp.where(drop, xp.asarray(unk_id, dtype=tokens.dtype), tokens)
