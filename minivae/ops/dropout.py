"""Inverted dropout (Srivastava et al. 2014): zero each unit with probability p while training.

    out = x * keep / (1 - p),   keep ~ Bernoulli(1 - p),   dx = dout * keep / (1 - p)

Scaling the kept units by 1 / (1 - p) at training time keeps E[out] = x, so evaluation is
the identity and needs no rescaling. A keep-mask that broadcasts against x (say (N, 1, D)
for x (N, T, D)) drops the same units at every step: "variational" dropout for RNN outputs
(Gal & Ghahramani 2016).
"""

from minivae.backend import get_array_module
from minivae.ops.validate import check_float


def check_rate(p) -> float:
    """A dropout rate in [0, 1): p = 1 would drop everything and divide by zero."""
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout rate p must be in [0, 1), got {p}")
    return float(p)


def check_keep_mask(mask, shape: tuple) -> None:
    """A bool keep-mask whose shape broadcasts to ``shape`` (axes of size 1 are shared)."""
    xp = get_array_module(mask)
    if mask.dtype != xp.bool_:
        raise ValueError(f"dropout keep-mask must be a bool array, got dtype {mask.dtype}")
    m = tuple(mask.shape)
    fits = len(m) <= len(shape) and all(a in (1, b) for a, b in zip(m[::-1], shape[::-1]))
    if not fits:
        raise ValueError(f"dropout keep-mask of shape {m} does not broadcast to x's {shape}")


def dropout_forward(x, p, rng=None, mask=None, training=True):
    """x: any shape; p: drop rate in [0, 1); rng: draws the keep-mask when ``mask`` is None;
    mask: bool keep-mask (True = keep) of x's shape or one that broadcasts to it;
    training: False (evaluation) or p == 0 is the identity.
    -> out: x.shape, cache
    """
    check_float("x", x)
    p = check_rate(p)
    xp = get_array_module(x)
    if not training or p == 0.0:
        return x.copy(), None  # a new array either way: callers may write into out
    if mask is None:
        if rng is None:
            raise ValueError("dropout with p > 0 in training needs an rng or a keep-mask")
        mask = xp.asarray(rng.random(x.shape) >= p)  # the rng may be NumPy's for CuPy x
    check_keep_mask(mask, x.shape)
    # The kept units' factor 1/(1-p) folded into the mask once: forward and backward each
    # cost one multiply.
    scale = xp.asarray(mask, dtype=x.dtype)
    scale *= 1.0 / (1.0 - p)
    return x * scale, scale


def dropout_backward(dout, cache):
    """dout: x.shape  ->  dx: x.shape (dropped units get no gradient)"""
    if cache is None:  # the forward was the identity
        return dout.copy()
    return dout * cache
