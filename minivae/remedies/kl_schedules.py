"""KL weight (beta) schedules: how fast the KL term is switched on.

Starting with beta = 0 lets the decoder learn to use z before the KL pulls q(z|x)
onto the prior; switching it on at once is what leads to posterior collapse.
"""

from __future__ import annotations

import math

SCHEDULES = ("constant", "linear", "logistic", "cyclical")


def kl_weight(
    step: int,
    schedule: str = "linear",
    warmup: int = 1000,
    beta_max: float = 1.0,
    cycles: int = 4,
    total_steps: int = 10000,
    ratio: float = 0.5,
) -> float:
    """beta at a training step.

    constant:  beta_max
    linear:    beta_max * min(1, step / warmup)
    logistic:  beta_max / (1 + exp(-k (step - warmup/2))), k = 10 / warmup (Bowman et al. 2016)
    cyclical:  ``cycles`` cycles over ``total_steps``; in each, beta rises linearly over the
               first ``ratio`` of the cycle and then stays at beta_max (Fu et al. 2019)
    """
    if schedule == "constant":
        return beta_max
    if schedule == "linear":
        return beta_max * min(1.0, step / max(warmup, 1))
    if schedule == "logistic":
        k = 10.0 / max(warmup, 1)
        return beta_max / (1.0 + math.exp(-k * (step - warmup / 2)))
    if schedule == "cyclical":
        period = max(total_steps / max(cycles, 1), 1.0)
        tau = (step % period) / period
        return beta_max * min(1.0, tau / ratio)
    raise ValueError(f"KL schedule must be one of {SCHEDULES}, got {schedule!r}")
