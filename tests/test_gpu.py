"""The same ops and model on CuPy arrays: gradient checks on the GPU, parity with NumPy, and a
short training run. Skipped where there is no usable GPU; the NumPy backend runs the same code
in every other test."""

import numpy as np
import pytest

from minivae.backend import gpu_available
from minivae.interface import Step

pytestmark = pytest.mark.skipif(
    not gpu_available(), reason="needs CuPy and a CUDA GPU (pip install 'minivae[gpu]')"
)


@pytest.fixture(scope="module")
def cp():
    import cupy

    return cupy


def test_every_op_gradient_checks_on_the_gpu(cp):
    from minivae.gradcheck.op_cases import check_all_ops

    rows = check_all_ops(seed=0, xp=cp)
    assert rows and all(r.passed for r in rows), [r for r in rows if not r.passed]


def test_ops_agree_with_numpy(cp):
    from minivae.backend import to_numpy
    from minivae.gradcheck.op_cases import op_cases

    cases = zip(op_cases(0), op_cases(0, cp))
    for (name, fwd, _, inputs, _), (_, _, _, gpu_inputs, _) in cases:
        cpu_out, gpu_out = fwd(*inputs.values()), fwd(*gpu_inputs.values())
        for a, b in zip(cpu_out[:-1], gpu_out[:-1]):
            np.testing.assert_allclose(to_numpy(b), a, rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("index", range(6))
def test_every_model_through_the_interface_matches_numpy_on_the_gpu(cp, index):
    """Each model of ``minivae gradcheck`` (plain, conditional, hierarchical, ...): loss and
    gradients, evaluation and decoding on CuPy arrays, against NumPy."""
    from minivae.backend import to_numpy
    from minivae.evaluation import evaluate
    from minivae.generation import decode
    from minivae.gradcheck.models import model_cases, tiny_model_batch

    cases = list(model_cases())
    if index >= len(cases):
        pytest.skip(f"there are {len(cases)} model cases")
    label, model, kernel, options = cases[index]
    params = model.init_params(seed=0, dtype=np.float64)
    gpu_params = {k: cp.asarray(v) for k, v in params.items()}
    batch = tiny_model_batch(model, seed=1)
    eps = np.random.default_rng(0).standard_normal((3, sum(model.latent_sizes.values())))
    kw = dict(eps=eps, kernel=kernel)
    t_cpu, g_cpu = model.loss_and_grads(params, batch, Step(**kw))
    t_gpu, g_gpu = model.loss_and_grads(gpu_params, batch, Step(**{**kw, "eps": cp.asarray(eps)}))
    assert t_gpu.loss == pytest.approx(t_cpu.loss, rel=1e-10), label
    for name in g_cpu:
        np.testing.assert_allclose(to_numpy(g_gpu[name]), g_cpu[name], rtol=1e-7, atol=1e-12)
    m = evaluate(model, gpu_params, [batch], iw_samples=3, kernel=kernel)
    assert np.isfinite(m["nll"]) and m["num_sentences"] == 3
    post = model.posterior(gpu_params, batch, kernel)
    assert len(decode(model, gpu_params, model.mean_code(gpu_params, post), "beam", 5)) == 3


def test_whole_model_on_the_gpu_matches_numpy(cp):
    from minivae.backend import to_numpy
    from minivae.gradcheck.models import tiny_batch
    from minivae.model import ModelConfig, init_params, loss_and_grads

    config = ModelConfig(vocab_size=11, embed_dim=4, hidden_dim=5, latent_dim=3)
    params = init_params(config, dtype=np.float64)
    gpu_params = {k: cp.asarray(v) for k, v in params.items()}
    batch, eps = tiny_batch(11), np.random.default_rng(0).standard_normal((3, 3))
    t_cpu, g_cpu = loss_and_grads(params, batch, config, Step(eps=eps))
    t_gpu, g_gpu = loss_and_grads(gpu_params, batch, config, Step(eps=cp.asarray(eps)))
    assert t_gpu.loss == pytest.approx(t_cpu.loss, rel=1e-10)
    for name in g_cpu:
        np.testing.assert_allclose(to_numpy(g_gpu[name]), g_cpu[name], rtol=1e-8, atol=1e-12)


def test_short_training_run_learns_on_the_gpu(tmp_path):
    from minivae.model.run_config import TrainConfig
    from minivae.training.trainer import Trainer

    cfg = TrainConfig(
        builtin_size=400,
        epochs=3,
        embed_dim=16,
        hidden_dim=24,
        latent_dim=4,
        batch_size=16,
        lr=5e-3,
        device="gpu",
        out=str(tmp_path),
    )
    trainer = Trainer(cfg, progress_bar=False, log=lambda *_: None)
    before = trainer.validate()["nelbo"]
    trainer.run()
    assert trainer.progress.history[-1]["nelbo"] < 0.8 * before


def _nmt_cases():
    from minivae.gradcheck.models import model_cases

    return [c for c in model_cases() if c[1].kind == "nmt"]


@pytest.mark.parametrize("case", _nmt_cases(), ids=lambda c: c[0])
def test_translation_model_on_the_gpu_matches_numpy(cp, case):
    """The translation model's loss, every gradient (dropout masks drawn by the same NumPy
    generator) and its greedy and beam translations are the same on CuPy arrays."""
    from minivae.backend import to_numpy
    from minivae.generation import decode
    from minivae.gradcheck.models import tiny_model_batch

    _, model, kernel = case
    params = model.init_params(dtype=np.float64)
    gpu_params = {k: cp.asarray(v) for k, v in params.items()}
    batch = tiny_model_batch(model, seed=0)
    eps = np.random.default_rng(0).standard_normal((3, model.config.latent_dim))
    t_cpu, g_cpu = model.loss_and_grads(params, batch, Step(eps=eps, rng=np.random.default_rng(1)))
    gpu_step = Step(eps=cp.asarray(eps), rng=np.random.default_rng(1))
    t_gpu, g_gpu = model.loss_and_grads(gpu_params, batch, gpu_step)
    assert t_gpu.loss == pytest.approx(t_cpu.loss, rel=1e-10)
    for name in g_cpu:
        np.testing.assert_allclose(
            to_numpy(g_gpu[name]), g_cpu[name], rtol=1e-8, atol=1e-12, err_msg=name
        )
    for p, xp in ((params, np), (gpu_params, cp)):
        context = model.condition_context(p, batch.src, batch.src_lengths)
        code = model.prior_code(p, 1, None, context, use_mean=True)
        out = [decode(model, p, code, method, max_len=6) for method in ("greedy", "beam")]
        assert isinstance(code[0], xp.ndarray)
        if xp is np:
            expected = out
    assert out == expected
