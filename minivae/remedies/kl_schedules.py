"""KL weight (beta) schedules: how fast the KL term is switched on.

Starting with beta = 0 lets the decoder learn to use z before the KL pulls q(z|x)
onto the prior; switching it on at once is what leads to posterior collapse.

The cyclical schedule is Fu et al. 2019 ("Cyclical Annealing Schedule: A Simple Approach to
Mitigating KL Vanishing", NAACL), Eq. (5) with the linear f of their paper:

    beta_t = f(tau)   if tau <= R          tau = mod(t - 1, ceil(T / M)) / (T / M)
             1        if tau >  R          f(tau) = tau / R

T the training steps, M the number of cycles, R the proportion of a cycle in which beta
rises; the paper's defaults are M = 4, R = 0.5. Their language-model (PTB) code,
language_model/train_text_cyc_ptb.py of haofuml/cyclical_annealing, starts each cycle at
beta = 0.1 instead of 0 (``start`` here: beta = min(1, start + tau / R), the same slope) and
restarts a cosine learning rate with each cycle (``lr_factor`` below).
"""

from __future__ import annotations

import math

SCHEDULES = ("constant", "linear", "logistic", "cyclical")


def cycle_position(step: int, cycles: int, total_steps: int) -> float:
    """Fu et al.'s tau in [0, 1): where 0-based ``step`` (their t - 1) falls in its cycle.
    Eq. (5): tau = mod(t - 1, ceil(T / M)) / (T / M)."""
    period = total_steps / max(cycles, 1)  # T / M
    return (step % max(math.ceil(period), 1)) / max(period, 1e-12)


def cyclical_weight(step: int, cycles: int, total_steps: int, ratio: float, start: float = 0.0):
    """Fu et al.'s Eq. (5) with f(tau) = start + tau / R (start = 0 in the paper's equation,
    0.1 in their PTB code), capped at 1: beta / beta_max at ``step``."""
    tau = cycle_position(step, cycles, total_steps)
    if tau > ratio:  # Eq. (5), second case: beta = 1 for the rest of the cycle
        return 1.0
    return min(1.0, start + tau / ratio)  # Eq. (5), first case, f linear


def lr_factor(step: int, cycles: int, total_steps: int, steps_per_epoch: int) -> float:
    """The cosine learning-rate factor of Fu et al.'s PTB code, restarted with each KL cycle
    and set once per epoch (train_text_cyc_ptb.py: ``tmp = ((epoch - 1) % cycle) / cycle;
    cur_lr = lr * 0.5 * (1 + cos(tmp * pi))``): tau of the epoch's first step."""
    first = step - step % max(steps_per_epoch, 1)
    return 0.5 * (1.0 + math.cos(math.pi * cycle_position(first, cycles, total_steps)))


def kl_weight(
    step: int,
    schedule: str = "linear",
    warmup: int = 1000,
    beta_max: float = 1.0,
    cycles: int = 4,
    total_steps: int = 10000,
    ratio: float = 0.5,
    start: float = 0.0,
) -> float:
    """beta at a training step.

    constant:  beta_max
    linear:    beta_max * min(1, step / warmup)
    logistic:  beta_max / (1 + exp(-k (step - warmup/2))), k = 10 / warmup (Bowman et al. 2016)
    cyclical:  Fu et al. 2019, Eq. (5): M = ``cycles`` cycles over T = ``total_steps``; in
               each, beta rises linearly from ``start`` over the first R = ``ratio`` of the
               cycle and then stays at beta_max (``cyclical_weight``)
    """
    if schedule == "constant":
        return beta_max
    if schedule == "linear":
        return beta_max * min(1.0, step / max(warmup, 1))
    if schedule == "logistic":
        k = 10.0 / max(warmup, 1)
        return beta_max / (1.0 + math.exp(-k * (step - warmup / 2)))
    if schedule == "cyclical":
        return beta_max * cyclical_weight(step, cycles, total_steps, ratio, start)
    raise ValueError(f"KL schedule must be one of {SCHEDULES}, got {schedule!r}")
