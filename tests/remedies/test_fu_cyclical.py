"""Fu et al. 2019's cyclical schedule, Eq. (5): beta at the cycle boundaries for given M and
R, the ceil of T/M in the cycle length, the PTB setup's start of 0.1 and its cosine learning
rate restarted with each cycle. The fixed-R schedule (R = 0.5 always) fails the R cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from minivae.model.run_config import TrainConfig
from minivae.remedies.kl_schedules import cycle_position, kl_weight, lr_factor
from minivae.training.trainer import Trainer


def beta(step, cycles, total, ratio, start=0.0):
    return kl_weight(step, "cyclical", cycles=cycles, total_steps=total, ratio=ratio, start=start)


@pytest.mark.parametrize(
    ("cycles", "ratio", "points"),
    [
        # M = 4, R = 0.5 (the paper's defaults), T = 1000: cycles of 250 steps, rising for 125
        (4, 0.5, {0: 0.0, 62: 62 / 125, 124: 124 / 125, 125: 1.0, 249: 1.0, 250: 0.0, 999: 1.0}),
        # M = 2, R = 0.25: cycles of 500 steps, rising for 125
        (2, 0.25, {0: 0.0, 100: 0.8, 125: 1.0, 300: 1.0, 499: 1.0, 500: 0.0, 625: 1.0}),
        # M = 5, R = 0.8: cycles of 200 steps, rising for 160
        (5, 0.8, {0: 0.0, 80: 0.5, 159: 159 / 160, 160: 1.0, 199: 1.0, 200: 0.0, 880: 0.5}),
        # M = 1, R = 1: one linear rise over the whole run
        (1, 1.0, {0: 0.0, 500: 0.5, 999: 0.999}),
    ],
)
def test_beta_at_the_cycle_boundaries(cycles, ratio, points):
    got = [beta(s, cycles, 1000, ratio) for s in points]
    np.testing.assert_allclose(got, list(points.values()), atol=1e-12)


def test_a_cycle_is_ceil_of_t_over_m_steps_long():
    """Eq. (5): tau = mod(t - 1, ceil(T / M)) / (T / M). T = 10, M = 4: cycles restart at
    steps 0, 3, 6, 9 (ceil 2.5 = 3), and tau grows by 1 / 2.5 a step."""
    got = [beta(s, 4, 10, 0.5) for s in range(10)]
    np.testing.assert_allclose(got, [0.0, 0.8, 1.0] * 3 + [0.0], atol=1e-12)
    assert cycle_position(4, 4, 10) == pytest.approx(0.4)


def test_the_ptb_setup_starts_each_cycle_at_a_tenth():
    """train_text_cyc_ptb.py: beta = 0.1 at each cycle's start, then the same slope, so it
    reaches 1 at tau = 0.45 (R = 0.5)."""
    assert beta(0, 4, 1000, 0.5, start=0.1) == pytest.approx(0.1)
    assert beta(50, 4, 1000, 0.5, start=0.1) == pytest.approx(0.1 + 50 / 125)
    assert beta(113, 4, 1000, 0.5, start=0.1) == 1.0  # tau 0.452
    assert beta(250, 4, 1000, 0.5, start=0.1) == pytest.approx(0.1)


def test_the_cosine_learning_rate_restarts_with_each_cycle_per_epoch():
    """40 epochs of 10 steps, M = 4: tmp = ((epoch - 1) % 10) / 10 in their code."""
    spe, total = 10, 400
    for epoch in range(40):
        want = 0.5 * (1 + math.cos(math.pi * (epoch % 10) / 10))
        for step in (epoch * spe, epoch * spe + 7):  # set once per epoch
            assert lr_factor(step, 4, total, spe) == pytest.approx(want)


def test_the_trainer_sets_the_cyclical_rate_each_epoch(tmp_path):
    cfg = TrainConfig(
        builtin_size=100,
        embed_dim=6,
        hidden_dim=6,
        latent_dim=2,
        batch_size=32,
        epochs=4,
        iw_samples=1,
        device="cpu",
        kl_schedule="cyclical",
        kl_cycles=2,
        lr_cycles=True,
        lr=1e-3,
        out=str(tmp_path),
    )
    t = Trainer(cfg, progress_bar=False, log=lambda *_: None)
    rates = []
    with open(tmp_path / "m.jsonl", "w") as metrics:
        for _ in range(4):
            t._run_epoch(metrics)
            rates.append(t.optimizers["encoder"].lr)
    # cycles of 2 epochs: the rate of epochs 1..4 is lr, lr/2, lr, lr/2
    np.testing.assert_allclose(rates, [1e-3, 5e-4, 1e-3, 5e-4], rtol=1e-12)
    assert t.progress.lr == 1e-3  # the base rate (what --lr-decay would lower) is kept


def test_the_options_are_checked(tmp_path):
    with pytest.raises(ValueError, match="kl-ratio"):
        TrainConfig(kl_ratio=0.0, out=str(tmp_path))
    with pytest.raises(ValueError, match="kl-ratio"):
        TrainConfig(kl_ratio=1.5, out=str(tmp_path))
    with pytest.raises(ValueError, match="kl-schedule cyclical"):
        TrainConfig(lr_cycles=True, out=str(tmp_path))
    with pytest.raises(ValueError, match="kl-cycle-start"):
        TrainConfig(kl_cycle_start=2.0, out=str(tmp_path))
