"""Decoupled weight decay (Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization").

Two ways to pull weights towards zero:

- L2 in the loss (``ops.l2_penalty_*``): add lam/2 ||W||^2, so the gradient gets lam * W.
  With SGD that is weight decay. With Adam it is not: the term goes through Adam's
  per-entry normalization m / sqrt(v), so weights with large gradients are barely decayed
  and weights with tiny ones are decayed at almost the full step size, whatever lam is.
- Decoupled (AdamW): leave the gradient alone and shrink the weights directly each step,

      W <- W - lr * weight_decay * W,

  the same relative pull for every weight, at the current learning rate. This is what
  PyTorch's ``AdamW`` does before its Adam update, so calling ``decoupled_weight_decay``
  and then ``Adam.step`` (training/optim.py) with eps = 0 gives AdamW's numbers exactly;
  with eps > 0 the two differ slightly, as minivae's Adam applies eps after the bias
  correction of the step size (see optim.Adam).

Both decay, by default, the matrices only (see ``ops.weight_decay.default_decay_names``).
"""

from __future__ import annotations

from minivae.ops.weight_decay import check_decay_names, check_lam


def decoupled_weight_decay(params: dict, lr: float, weight_decay: float, names=None) -> None:
    """Shrink ``params[name] *= 1 - lr * weight_decay`` in place for each decayed name.

    Call once per step, before the optimizer's ``step`` (PyTorch's order), with the step's
    learning rate. names: None decays the matrices (weights and embeddings), not the biases.
    """
    weight_decay = check_lam(weight_decay, "weight_decay")
    factor = 1.0 - lr * weight_decay
    if not 0.0 < factor <= 1.0:
        raise ValueError(
            f"lr * weight_decay must lie in [0, 1), got lr={lr} * weight_decay={weight_decay}"
            f" = {lr * weight_decay}: the weights would flip sign or vanish in one step"
        )
    for name in check_decay_names(params, names):
        params[name] *= factor
