"""One model interface: the trainer, metrics, generation, checkpoints and commands serve every
model, and the ``kernel`` a run is given is the code that runs."""

import importlib

import numpy as np
import pytest

from minivae.cli import main
from minivae.evaluation import evaluate
from minivae.generation import decode
from minivae.gradcheck.models import model_cases, tiny_model_batch
from minivae.interface import TextModel

FUSED = [
    ("minivae_kernels.lstm_cpu", "lstm_pointwise_forward"),
    ("minivae_kernels.lstm_cpu", "lstm_pointwise_backward"),
    ("minivae_kernels.softmax_cpu", "exp_shifted_sum"),
    ("minivae_kernels.softmax_cpu", "exp_shifted_total"),
    ("minivae_kernels.embedding_cpu", "scatter_add_rows"),
    ("minivae_kernels.adam_cpu", "adam_update"),
]
SMALL = ["--builtin-size", "200", "--epochs", "1", "--embed-dim", "8", "--hidden-dim", "8"]
SMALL += ["--latent-dim", "2", "--iw-samples", "2", "--device", "cpu", "--no-progress"]


class FusedKernelRan(AssertionError):
    pass


def forbid_fused_kernels(monkeypatch):
    """Every fused kernel raises when called."""
    for module, name in FUSED:

        def refuse(*args, _name=name, **kwargs):
            raise FusedKernelRan(f"the fused {_name} ran")

        monkeypatch.setattr(importlib.import_module(module), name, refuse)


def test_kernel_array_runs_the_array_code_everywhere(tmp_path, monkeypatch, capsys):
    """Training, its evaluation and report (generation included), and every command that
    uses a checkpoint: with --kernel array no fused kernel is ever called."""
    forbid_fused_kernels(monkeypatch)
    out = str(tmp_path / "run")
    assert main(["train", *SMALL, "--kernel", "array", "--out", out]) == 0
    assert "lstm cell: array" in capsys.readouterr().out
    for command in (
        ["eval", out],
        ["sample", out, "-n", "2", "--method", "beam"],
        ["reconstruct", out, "the chef cooked a tasty soup"],
        ["interpolate", out, "the chef cooked", "the band played", "--steps", "3"],
    ):
        assert main([*command, "--kernel", "array"]) == 0, command


def test_the_forbidden_kernels_are_noticed_when_they_run(tmp_path, monkeypatch):
    """The check above can fail: with the default kernel the fused code runs and is caught."""
    forbid_fused_kernels(monkeypatch)
    with pytest.raises(FusedKernelRan):
        main(["train", *SMALL, "--out", str(tmp_path / "run")])


@pytest.mark.parametrize("case", list(model_cases()), ids=lambda c: c[0])
def test_every_model_serves_metrics_and_generation_through_the_interface(case):
    label, model, kernel, _ = case
    assert isinstance(model, TextModel)
    params = model.init_params(seed=0, dtype=np.float64)
    batch = tiny_model_batch(model, seed=1, N=4)
    m = evaluate(model, params, [batch], iw_samples=3, seed=0, kernel=kernel)
    assert m["num_sentences"] == 4 and m["nelbo"] == pytest.approx(m["rec"] + m["kl"])
    assert m["kl"] >= 0 and np.isfinite(m["nll"])
    rng = np.random.default_rng(0)
    post = model.posterior(params, batch, kernel)
    assert set(post.layers) == set(model.latent_sizes)
    context = None
    if model.conditional:
        context = model.condition_context(params, batch.src, batch.src_lengths, kernel)
    code = model.prior_code(params, 2, rng, context)
    for method in ("greedy", "sample", "beam"):
        out = decode(model, params, code, method, max_len=6, rng=rng, kernel=kernel)
        assert len(out) == (2 * 4 if model.conditional else 2)
        assert all(len(ids) <= 6 for ids in out)
    recon = decode(model, params, model.mean_code(params, post), max_len=6)
    assert len(recon) == 4


@pytest.mark.parametrize("case", list(model_cases()), ids=lambda c: c[0])
def test_importance_weights_match_the_elbo_terms(case):
    """log w = log p(x|z) + log p(z) - log q(z|x): its mean over draws is the ELBO, whose KL
    part the model also reports analytically (equal in expectation). A layer whose prior
    depends on a drawn layer above (the hierarchical VAE's z1) has an analytic KL per draw:
    its mean over the draws is the expectation."""
    _, model, kernel, _ = case
    params = model.init_params(seed=0, dtype=np.float64)
    batch = tiny_model_batch(model, seed=2, N=3)
    post = model.posterior(params, batch, kernel)
    sample = model.sample_latent(params, post, np.random.default_rng(0), samples=4000)
    kl_mc = (sample.log_q - sample.log_prior).reshape(4000, 3).mean(axis=0)
    kl_exact = sum(sample.kl.values()).reshape(4000, 3).mean(axis=0)
    np.testing.assert_allclose(kl_mc, kl_exact, atol=0.1 + 0.05 * kl_exact.max())
