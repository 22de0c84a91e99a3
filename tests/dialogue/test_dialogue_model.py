"""The dialogue model: every parameter's gradient in float64 (the cases of ``minivae
gradcheck``), HRED without z, the act set at generation."""

import numpy as np
import pytest

from minivae.dialogue.config import DialogueConfig
from minivae.dialogue.dialogue_vae import DialogueVAE
from minivae.gradcheck.models import check_model, model_cases, tiny_model_batch
from minivae.interface import Step

# The kgCVAE and HRED cases here (``minivae gradcheck`` runs all four entry by entry); large
# parameters along random directions, to keep CI fast (a directional difference carries
# more rounding: tolerance 1e-5; a wrong gradient is off by far more).
CASES = [c for c in model_cases() if c[0].startswith(("dialogue (kgCVAE:", "dialogue (HRED"))]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c[0])
def test_gradient_of_every_parameter(case):
    label, model, kernel, options = case
    rows = check_model(model, label=label, kernel=kernel, max_entries=70, tol=1e-5, **options)
    assert len(rows) == len(model.param_shapes())
    assert all(r.passed for r in rows), [r for r in rows if not r.passed]


def test_hred_has_no_latent_and_cvae_no_act():
    hred = DialogueVAE(DialogueConfig(vocab_size=20, latent_dim=0))
    assert not any(n.startswith(("mu_", "prior_")) for n in hred.param_shapes())
    cvae = DialogueVAE(DialogueConfig(vocab_size=20, act_dim=0))
    assert "act_embed" not in cvae.param_shapes() and "prior_W" in cvae.param_shapes()


def test_the_loss_reads_the_context_and_the_act():
    """Changing a context turn or the response's act changes the loss (c and y are used)."""
    model = DialogueVAE(
        DialogueConfig(
            vocab_size=11,
            embed_dim=4,
            hidden_dim=5,
            context_dim=4,
            latent_dim=3,
            act_dim=2,
            max_context=2,
        )
    )
    params = model.init_params(seed=0, dtype=np.float64)
    batch = tiny_model_batch(model, seed=1, N=4)
    eps = np.zeros((4, 3))
    base = model.loss_and_grads(params, batch, Step(eps=eps))[0].loss
    first = batch.context[1, 0]
    utt = batch.utterances.copy()
    utt[first, 0] = 4 if utt[first, 0] != 4 else 5
    other = model.loss_and_grads(params, batch._replace(utterances=utt), Step(eps=eps))[0].loss
    acts = model.loss_and_grads(params, batch._replace(acts=(batch.acts + 1) % 4), Step(eps=eps))[
        0
    ].loss
    assert other != pytest.approx(base) and acts != pytest.approx(base)


def test_a_given_act_reaches_the_code():
    model = DialogueVAE(
        DialogueConfig(
            vocab_size=11, embed_dim=4, hidden_dim=5, context_dim=4, latent_dim=3, act_dim=2
        )
    )
    params = model.init_params(seed=0, dtype=np.float64)
    c = np.random.default_rng(0).standard_normal((2, 4))
    rng = np.random.default_rng(1)
    code = model.prior_code(params, 3, rng, (c, [1, 3]))
    assert code.shape == (6, 3 + 4 + 2)
    np.testing.assert_allclose(code[:3, -2:], np.tile(params["act_embed"][1], (3, 1)))
    np.testing.assert_allclose(code[3:, -2:], np.tile(params["act_embed"][3], (3, 1)))


def test_length_groups_change_nothing_but_the_padding(monkeypatch):
    """Reading utterances and responses in groups of 2 (several groups, each its own padding)
    gives the loss and gradients of one group, and passes the gradient check."""
    import minivae.dialogue.model as dialogue_model

    label, model, kernel, _ = CASES[0]
    params = model.init_params(seed=0, dtype=np.float64)
    batch = tiny_model_batch(model, seed=1, N=5)
    eps = np.random.default_rng(0).standard_normal((5, model.config.latent_dim))
    whole, g_whole = model.loss_and_grads(params, batch, Step(eps=eps, beta=0.5))
    monkeypatch.setattr(dialogue_model, "CHUNK", 2)
    split, g_split = model.loss_and_grads(params, batch, Step(eps=eps, beta=0.5))
    assert split.loss == pytest.approx(whole.loss, rel=1e-12)
    assert split.num_tokens == whole.num_tokens == int(batch.lengths.sum()) + 5
    for name, g in g_whole.items():
        np.testing.assert_allclose(g_split[name], g, rtol=1e-9, atol=1e-12, err_msg=name)
    rows = check_model(model, label=label, kernel=kernel, max_entries=40, tol=1e-5)
    assert all(r.passed for r in rows), [r for r in rows if not r.passed]
