"""The hierarchical VAE: every gradient, the loss's parts, the two-layer sampling and KL,
and the commands that train, resume, evaluate and generate with it."""

import json

import numpy as np
import pytest

from minivae import ops
from minivae.blocks.latent import prior_forward
from minivae.cli import main
from minivae.evaluation import evaluate
from minivae.gradcheck import DEFAULT_TOL
from minivae.gradcheck.models import check_model, tiny_batch
from minivae.hierarchical.config import HVAEConfig
from minivae.hierarchical.hvae import HierarchicalVAE
from minivae.hierarchical.model import loss_and_grads
from minivae.interface import Step
from minivae.loading import load_model
from minivae.model import ModelConfig, TextVAE

TINY = dict(vocab_size=11, embed_dim=4, hidden_dim=5, latent_dim=3, latent_dim2=2, prior_hidden=4)


def kl_diag(mu, logvar, prior_mu=0.0, prior_logvar=0.0):
    """KL(N(mu, e^logvar) || N(prior_mu, e^prior_logvar)) per row, written out again here."""
    return 0.5 * (
        prior_logvar - logvar + (np.exp(logvar) + (mu - prior_mu) ** 2) / np.exp(prior_logvar) - 1
    ).sum(axis=1)


@pytest.mark.parametrize(
    "cell, z_mode, shared, free_bits",
    [
        ("lstm", "both", True, 0.0),
        ("lstm", "init", False, 0.0),
        ("gru", "concat", True, 0.0),
        ("gru", "both", False, 0.0),
        ("lstm", "both", True, 0.1),  # floors some dimensions of each layer, not all
    ],
)
def test_whole_model_gradient_for_every_parameter(cell, z_mode, shared, free_bits):
    config = HVAEConfig(**TINY, cell=cell, z_mode=z_mode, share_embeddings=shared)
    model = HierarchicalVAE(config)
    rows = check_model(model, free_bits=free_bits)
    assert {r.input for r in rows} == set(model.param_shapes())
    for r in rows:
        assert r.error < DEFAULT_TOL, f"d loss / d {r.input}: rel error {r.error:.2e}"


def _setup(dtype=np.float64, scale_prior: float = 1.0, **kw):
    """A tiny model whose prior network can be made to depend strongly on z2."""
    model = HierarchicalVAE(HVAEConfig(**{**TINY, **kw}))
    params = model.init_params(seed=0, dtype=dtype)
    for name in ("prior_W", "prior_mu_W", "prior_logvar_W"):
        params[name] *= scale_prior
    batch = tiny_batch(model.vocab_size, seed=1)
    eps = np.random.default_rng(2).standard_normal((3, 5)).astype(dtype)
    return model, params, batch, eps


def test_loss_is_reconstruction_plus_beta_times_both_kls():
    model, params, batch, eps = _setup(scale_prior=3.0)
    terms, grads = model.loss_and_grads(params, batch, Step(beta=0.3, eps=eps))
    kl1, kl2 = terms.extra["kl_z1"], terms.extra["kl_z2"]
    assert terms.loss == pytest.approx(terms.rec + 0.3 * (kl1 + kl2), rel=1e-12)
    assert terms.kl == pytest.approx(kl1 + kl2, rel=1e-12)
    assert kl1 > 0 and kl2 > 0 and terms.rec > 0
    assert terms.kl_per_dim.shape == (5,)
    assert terms.kl_per_dim.sum() == pytest.approx(terms.kl, rel=1e-12)
    assert terms.num_tokens == int(batch.lengths.sum() + len(batch.lengths))
    assert set(grads) == set(params)
    for name in params:
        assert grads[name].shape == params[name].shape and grads[name].dtype == np.float64


def test_the_kl_of_z1_is_against_the_prior_at_the_drawn_z2():
    """Recomputed outside the ops: z2 = mu2 + sigma2 eps2 (eps's last Z2 columns) through the
    prior network, then the diagonal-Gaussian KL formula."""
    model, params, batch, eps = _setup(scale_prior=3.0)
    terms, _ = model.loss_and_grads(params, batch, Step(eps=eps))
    post = model.posterior(params, batch)
    (mu1, lv1), (mu2, lv2) = post.layers["z1"], post.layers["z2"]
    z2 = mu2 + np.exp(lv2 / 2) * eps[:, 3:]
    hidden = np.tanh(z2 @ params["prior_W"] + params["prior_b"])
    prior_mu = hidden @ params["prior_mu_W"] + params["prior_mu_b"]
    prior_lv = hidden @ params["prior_logvar_W"] + params["prior_logvar_b"]
    assert terms.extra["kl_z1"] == pytest.approx(kl_diag(mu1, lv1, prior_mu, prior_lv).mean())
    assert terms.extra["kl_z2"] == pytest.approx(kl_diag(mu2, lv2).mean())
    # A different z2 moves the prior, so the KL of z1 changes with eps2 (z2 is used).
    flipped = Step(eps=np.concatenate([eps[:, :3], -eps[:, 3:]], 1))
    other, _ = model.loss_and_grads(params, batch, flipped)
    assert other.extra["kl_z1"] != pytest.approx(terms.extra["kl_z1"], rel=1e-3)
    assert other.extra["kl_z2"] == terms.extra["kl_z2"]


def test_free_bits_above_every_dimension_leave_z2_no_gradient():
    """z2 reaches the loss only through the KL of z1 (the decoder reads z1): when every
    dimension sits under the free-bits floor, the KL pushes nothing and z2's heads and the
    prior network get exactly zero gradient; the reported KL is unchanged."""
    model, params, batch, eps = _setup()
    plain, _ = model.loss_and_grads(params, batch, Step(eps=eps))
    floored, grads = model.loss_and_grads(params, batch, Step(eps=eps, free_bits=10.0))
    assert floored.kl == pytest.approx(plain.kl)
    assert floored.kl_objective == pytest.approx(10.0 * (3 + 2))
    for name in ("z2_mu_W", "z2_logvar_b", "prior_W", "prior_mu_W", "prior_logvar_b"):
        assert not grads[name].any(), name
    assert grads["mu_W"].any()  # z1's heads still learn from the reconstruction


def test_padding_length_does_not_change_the_loss():
    model, params, batch, eps = _setup()
    wider = batch._replace(tokens=np.pad(batch.tokens, ((0, 0), (0, 3))))
    a, ga = model.loss_and_grads(params, batch, Step(eps=eps))
    b, gb = model.loss_and_grads(params, wider, Step(eps=eps))
    assert a.loss == pytest.approx(b.loss, rel=1e-12)
    for name in ga:
        np.testing.assert_allclose(ga[name], gb[name], rtol=1e-10, atol=1e-14)


def test_model_runs_in_float32_and_draws_its_own_noise():
    model, params, batch, _ = _setup(dtype=np.float32)
    terms, grads = loss_and_grads(params, batch, model.config, Step(rng=np.random.default_rng(0)))
    assert np.isfinite(terms.loss)
    assert all(g.dtype == np.float32 for g in grads.values())
    with pytest.raises(ValueError, match="eps or an rng"):
        loss_and_grads(params, batch, model.config)


def test_importance_sampling_draws_both_layers():
    """log q and log p of a draw, recomputed: the mean of log q - log p over many draws is the
    expected KL of both layers; the importance-weighted NLL is below the -ELBO."""
    model, params, batch, _ = _setup()
    post = model.posterior(params, batch)
    draws = 20000
    s = model.sample_latent(params, post, np.random.default_rng(0), samples=draws)
    assert s.code.shape == (draws * 3, 3)
    (mu1, lv1), (mu2, lv2) = post.layers["z1"], post.layers["z2"]
    # The draws of z1 are the code: what log q adds to log q(z1|x) is log q(z2|x) of the
    # drawn z2, whose mean is minus q(z2|x)'s entropy.
    log_q1 = ops.log_normal(s.code, np.tile(mu1, (draws, 1)), np.tile(lv1, (draws, 1)))
    log_q2 = (s.log_q - log_q1).reshape(draws, 3)
    entropy2 = 0.5 * (np.log(2 * np.pi) + 1 + lv2).sum(axis=1)
    np.testing.assert_allclose(log_q2.mean(axis=0), -entropy2, atol=0.03)
    assert log_q2.std(axis=0).min() > 0.1  # z2 is drawn, not fixed at its mean
    kl_mc = (s.log_q - s.log_prior).reshape(draws, 3).mean(axis=0)
    kl_mean = (s.kl["z1"] + s.kl["z2"]).reshape(draws, 3).mean(axis=0)
    np.testing.assert_allclose(kl_mc, kl_mean, atol=0.05)
    np.testing.assert_allclose(s.kl["z2"][:3], kl_diag(mu2, lv2))
    # The KL of z1 varies with the drawn z2: its prior moves.
    assert s.kl["z1"].reshape(draws, 3).std(axis=0).min() > 1e-3
    m = evaluate(model, params, [batch], iw_samples=50, seed=0)
    assert m["nll"] < m["nelbo"]
    assert set(m) >= {"kl_z1", "kl_z2", "mi_z1", "mi_z2", "active_units_z1", "active_units_z2"}


def test_posterior_and_codes():
    model, params, batch, _ = _setup(scale_prior=3.0)
    post = model.posterior(params, batch)
    assert list(post.layers) == list(model.latent_sizes) == ["z1", "z2"]
    # Burda et al.'s active units for both layers: no prior mean is taken off; the gap from
    # p(z1|z2)'s mean at E_q[z2] is a second count of its own (active_units_gap_z1)
    assert post.prior_means["z1"] is None and post.prior_means["z2"] is None
    np.testing.assert_allclose(
        post.gap_means["z1"], prior_forward(params, post.layers["z2"].mu)[0]
    )
    np.testing.assert_array_equal(model.mean_code(params, post), post.layers["z1"].mu)
    z1, z2 = np.random.default_rng(0).standard_normal((4, 3)), np.ones((4, 2))
    assert model.layer_code(params, "z1", z1) is z1
    np.testing.assert_allclose(model.layer_code(params, "z2", z2), prior_forward(params, z2)[0])
    with pytest.raises(ValueError, match="no latent layer 'z'.*z1, z2"):
        model.layer_code(params, "z", z2)


def test_sampling_from_the_top_goes_through_z2():
    """z1 = prior_mu(z2) + sigma(z2) eps with z2 ~ N(0, I): by the law of total variance,
    Var z1 = E[sigma^2(z2)] + Var[prior_mu(z2)], more than a fixed z2 gives."""
    model, params, _, _ = _setup(scale_prior=3.0)
    rng = np.random.default_rng(0)
    codes = model.prior_code(params, 40000, rng)
    z2 = rng.standard_normal((40000, 2))
    prior_mu, prior_lv, _ = prior_forward(params, z2)
    expected = np.exp(prior_lv).mean(0) + prior_mu.var(0)
    np.testing.assert_allclose(codes.var(0), expected, rtol=0.05)
    np.testing.assert_allclose(codes.mean(0), prior_mu.mean(0), atol=0.05)
    at_zero = prior_forward(params, np.zeros((1, 2)))[0]
    np.testing.assert_allclose(
        model.prior_code(params, 2, rng, use_mean=True), np.repeat(at_zero, 2, 0)
    )


def test_the_plain_vae_decodes_points_of_its_one_layer():
    model = TextVAE(ModelConfig(vocab_size=11, latent_dim=3))
    points = np.ones((2, 3))
    assert model.layer_code({}, "z", points) is points
    with pytest.raises(ValueError, match="no latent layer 'z2'"):
        model.layer_code({}, "z2", points)


def test_config_checks_and_round_trips():
    config = HVAEConfig(**TINY, cell="gru")
    assert HVAEConfig.from_dict(config.to_dict()) == config
    assert config.decoder_config.latent_dim == 3
    with pytest.raises(ValueError, match="latent_dim2"):
        HVAEConfig(vocab_size=11, latent_dim2=0)
    with pytest.raises(ValueError, match="prior_hidden"):
        HVAEConfig(vocab_size=11, prior_hidden=True)
    with pytest.raises(ValueError, match="cell"):
        HVAEConfig(vocab_size=11, cell="rnn")
    assert set(HierarchicalVAE(config).encoder_param_names()) & {"z2_mu_W", "mu_W", "enc_Wx"}
    assert "prior_W" in HierarchicalVAE(config).decoder_param_names()


SMALL = ["--builtin-size", "300", "--embed-dim", "8", "--hidden-dim", "8", "--latent-dim", "3"]
SMALL += ["--latent-dim2", "2", "--prior-hidden", "4", "--iw-samples", "2", "--device", "cpu"]
SMALL += ["--no-progress"]


def test_train_resume_eval_and_generate_through_the_shared_commands(tmp_path, capsys):
    out = str(tmp_path / "run")
    assert main(["train", "--model", "hierarchical", *SMALL, "--epochs", "1", "--out", out]) == 0
    text = capsys.readouterr().out
    assert "model: hvae" in text and "z1=3, z2=2" in text
    assert "posterior means of z2" in text  # the report interpolates in each layer
    assert main(["train", "--resume", out, "--epochs", "2", "--no-progress"]) == 0
    trained = load_model(out)
    assert trained.model.kind == "hvae" and trained.model.latent_sizes == {"z1": 3, "z2": 2}
    assert trained.meta["epoch"] == 2
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    for key in ("kl_z1", "kl_z2", "active_units_z1", "active_units_z2", "mi_z2"):
        assert key in report
    capsys.readouterr()
    assert main(["eval", out, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["kl_z2"] >= 0
    assert main(["sample", out, "-n", "3", "--method", "beam"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3
    assert main(["reconstruct", out, "the chef cooked a tasty soup"]) == 0
    assert capsys.readouterr().out.startswith("in:  the chef cooked a tasty soup\nout: ")
    for layer in ("z1", "z2"):
        args = ["interpolate", out, "the chef cooked", "the band played", "--steps", "3"]
        assert main([*args, "--layer", layer]) == 0
        assert len(capsys.readouterr().out.splitlines()) == 3
    assert main(["interpolate", out, "the chef", "the band", "--layer", "z"]) == 2
    assert "--layer must be one of the hvae model's layers: z1, z2" in capsys.readouterr().err
    # The Python API: the same model, either layer.
    import minivae

    vae = minivae.load(out)
    assert vae.encode(["the chef cooked"], layer="z2").mu.shape == (1, 2)
    assert len(vae.interpolate("the chef cooked", "the band played", steps=3, layer="z2")) == 3
    assert len(vae.sample(2)) == 2


def test_runs_table_puts_each_layer_beside_the_flat_model(tmp_path, capsys):
    from minivae.benchmarks import runs_table

    runs = {"hier": ["--model", "hierarchical"], "flat": ["--model", "vae"]}
    for name, model in runs.items():
        assert main(["train", *model, *SMALL, "--epochs", "1", "--out", str(tmp_path / name)]) == 0
    capsys.readouterr()
    folders = [str(tmp_path / name) for name in runs]
    assert runs_table.main(["--split", "valid", *folders]) == 0
    head, _, hier, flat = capsys.readouterr().out.strip().splitlines()
    columns = [c.strip() for c in head.strip("|").split("|")]
    for key in ("KL z1", "KL z2", "AU z1", "AU z2", "s/epoch"):
        assert key in columns
    hier_cells = [c.strip() for c in hier.strip("|").split("|")]
    flat_cells = [c.strip() for c in flat.strip("|").split("|")]
    assert hier_cells[0] == "hier" and hier_cells[columns.index("KL z2")] != ""
    assert flat_cells[0] == "flat" and flat_cells[columns.index("KL z2")] == ""


def test_the_experiments_script_parses_and_uses_only_real_options():
    """experiments/run.sh is run by hand (hours): here, its syntax, and every option it gives
    ``minivae train`` is one the command knows."""
    import re
    import subprocess
    from pathlib import Path

    from minivae.cli import build_parser

    script = Path(__file__).resolve().parents[2] / "experiments" / "run.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    commands = build_parser()._subparsers._group_actions[0].choices
    known = set(commands["train"]._option_string_actions)
    known |= set(commands["eval"]._option_string_actions)  # the K=100 scores
    used = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]+", script.read_text()))
    used -= {"--names", "--list", "--run"}  # runs_table's and the script's own
    assert used and used <= known, sorted(used - known)
    assert "--ae-pretrain-epochs" in used and "--iw-samples" in used
