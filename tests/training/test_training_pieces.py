"""Optimizers, gradient clipping and KL schedules."""

import numpy as np
import pytest

from minivae.remedies.kl_schedules import kl_weight
from minivae.training.optim import SGD, Adam, clip_by_global_norm


def test_adam_matches_the_textbook_update():
    p = {"w": np.array([1.0, -2.0])}
    g = {"w": np.array([0.5, 0.1])}
    opt = Adam(lr=0.1)
    m = v = np.zeros(2)
    want = p["w"].copy()
    for t in range(1, 4):
        opt.step(p, g)
        m = 0.9 * m + 0.1 * g["w"]
        v = 0.999 * v + 0.001 * g["w"] ** 2
        want = want - 0.1 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    np.testing.assert_allclose(p["w"], want, rtol=1e-6)


@pytest.mark.parametrize("opt", [Adam(lr=0.1), SGD(lr=0.05, momentum=0.9)])
def test_optimizers_minimize_a_quadratic(opt):
    p = {"w": np.array([3.0, -4.0])}
    for _ in range(300):
        opt.step(p, {"w": 2 * p["w"]})
    assert np.abs(p["w"]).max() < 1e-2


def test_global_norm_clipping_keeps_direction():
    grads = {"a": np.array([3.0]), "b": np.array([4.0])}
    norm = clip_by_global_norm(grads, 1.0)
    assert norm == pytest.approx(5.0)
    np.testing.assert_allclose([grads["a"][0], grads["b"][0]], [0.6, 0.8])
    small = {"a": np.array([0.3])}
    clip_by_global_norm(small, 1.0)
    assert small["a"][0] == 0.3


def test_kl_schedules():
    assert kl_weight(0, "constant") == 1.0
    assert kl_weight(0, "linear", warmup=100) == 0.0
    assert kl_weight(50, "linear", warmup=100) == pytest.approx(0.5)
    assert kl_weight(500, "linear", warmup=100) == 1.0
    assert kl_weight(50, "logistic", warmup=100) == pytest.approx(0.5)
    assert (
        kl_weight(0, "logistic", warmup=100) < 0.01 < 0.99 < kl_weight(100, "logistic", warmup=100)
    )
    # Cyclical: 2 cycles of 100 steps, rising over the first half of each.
    beta = [kl_weight(s, "cyclical", cycles=2, total_steps=200) for s in (0, 25, 50, 99, 100, 125)]
    np.testing.assert_allclose(beta, [0.0, 0.5, 1.0, 1.0, 0.0, 0.5])
    with pytest.raises(ValueError, match="schedule"):
        kl_weight(0, "cosine")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_adam_kernel_matches_the_array_update(dtype):
    rng = np.random.default_rng(0)
    p0 = {"w": rng.standard_normal((7, 5)).astype(dtype), "b": rng.standard_normal(5).astype(dtype)}
    fused, plain = {k: v.copy() for k, v in p0.items()}, {k: v.copy() for k, v in p0.items()}
    a, b = Adam(lr=0.01, fused=True), Adam(lr=0.01, fused=False)
    for _ in range(5):
        g = {k: rng.standard_normal(v.shape).astype(dtype) for k, v in p0.items()}
        a.step(fused, g)
        b.step(plain, {k: v.copy() for k, v in g.items()})
    for k in p0:
        np.testing.assert_allclose(fused[k], plain[k], rtol=1e-5 if dtype == np.float32 else 1e-12)
        assert fused[k].dtype == dtype


def test_serial_and_parallel_adam_kernels_agree():
    from minivae_kernels.adam_cpu import adam_update

    rng = np.random.default_rng(1)
    p, g, m, v = (rng.standard_normal(1001).astype(np.float32) for _ in range(4))
    v = np.abs(v)
    copies = [tuple(a.copy() for a in (p, g, m, v)) for _ in range(2)]
    f = np.float32
    for arrays, parallel in zip(copies, (False, True)):
        adam_update(*arrays, f(1e-2), f(0.9), f(0.999), f(1e-8), parallel=parallel)
    for a, b in zip(*copies):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(copies[0][0], p)  # it did update


def test_adam_updates_float16_parameters_with_the_array_code():
    p = {"w": np.ones(5, dtype=np.float16)}
    Adam(lr=0.1).step(p, {"w": np.ones(5, dtype=np.float16)})
    assert p["w"].dtype == np.float16 and np.allclose(p["w"], 0.9, atol=1e-3)


def test_peak_memory_of_a_child_process_is_its_own():
    """ru_maxrss of a process started by a large one reads the parent's size (a benchmark's
    child once reported 983 MB for both contenders): the figure must be the child's."""
    import subprocess
    import sys

    from minivae.training.memory import peak_memory_mb

    ballast = np.ones(50_000_000)  # 400 MB in this process
    assert peak_memory_mb() > 400
    code = "from minivae.training.memory import peak_memory_mb; print(peak_memory_mb())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert 0 < float(out.stdout) < 300, out.stdout
    del ballast
