"""L2 weight decay as a loss term: a penalty on the size of the weights, and its gradient.

    penalty = lam / 2 * sum_{W in names} ||W||_F^2,      d penalty / d W = lam * W

Which parameters: by default every array with two or more axes, that is the weight matrices
and the embedding tables, and no vector (biases). A bias only shifts a unit's operating point
and costs few parameters, so shrinking it towards zero regularizes little and can undo a
deliberate start (the LSTM forget-gate bias of 1); this is the common practice (Goodfellow et
al. 2016, section 7.1). Embeddings are decayed: the table is the largest matrix, and rare
words' rows are the easiest place to memorize the training text.

The loss this adds to is per sentence (a batch mean), so lam is per sentence too.
"""

from minivae.backend import get_array_module


def default_decay_names(params: dict) -> list[str]:
    """The names of the matrices in ``params`` (ndim >= 2): weights and embeddings, no biases."""
    return [name for name, p in params.items() if p.ndim >= 2]


def check_decay_names(params: dict, names) -> list[str]:
    """``names`` (None: the default ones) as a list, each a key of ``params``."""
    names = default_decay_names(params) if names is None else list(names)
    missing = [n for n in names if n not in params]
    if missing:
        raise ValueError(f"weight decay names {missing} are not parameters; have {sorted(params)}")
    return names


def check_lam(lam, name: str = "lam") -> float:
    """A weight decay strength: a number >= 0 (``name`` is the argument the message names)."""
    if not lam >= 0.0:  # also refuses NaN
        raise ValueError(f"weight decay strength {name} must be >= 0, got {lam}")
    return float(lam)


def l2_penalty_forward(params: dict, lam: float, names=None):
    """params: {name: array}; lam >= 0; names: which arrays to decay (None: the matrices)
    -> penalty: a scalar of the parameters' dtype (0.0 when nothing is decayed), cache
    """
    lam = check_lam(lam)
    names = check_decay_names(params, names)
    xp = get_array_module(*params.values())
    chosen = {n: params[n] for n in names}
    # vdot: the squared norm without a temporary as large as the matrix; on the GPU the sum
    # stays a device scalar (no synchronization).
    total = sum(xp.vdot(W, W) for W in chosen.values())
    return 0.5 * lam * total, (lam, chosen)


def l2_penalty_backward(dpenalty, cache, grads: dict | None = None) -> dict:
    """dpenalty: a scalar  ->  {name: lam * dpenalty * W} for the decayed names.

    Given ``grads`` (the loss's gradients), each is added into its entry instead (a missing
    entry is created), and ``grads`` is returned.
    """
    lam, chosen = cache
    out = {} if grads is None else grads
    for name, W in chosen.items():
        xp = get_array_module(W)
        d = W * xp.asarray(lam * dpenalty, dtype=W.dtype)  # keep W's dtype (float32 stays)
        if name in out:
            out[name] += d
        else:
            out[name] = d
    return out
