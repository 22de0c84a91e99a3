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


SMALL = dict(vocab_size=11, embed_dim=4, hidden_dim=5, context_dim=4, latent_dim=3, head_dim=6)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_the_decoder_reads_the_code_first_and_y_alone_at_each_step(cell):
    """Zhao et al.'s decoder: [z; c; y] sets the first state, y alone joins every input (a
    CVAE's inputs are the words); training, scoring and step-by-step decoding agree."""
    from minivae.blocks.decoder import decode_forward
    from minivae.blocks.inference import log_px_given_z
    from minivae.blocks.sequence import decoder_io
    from minivae.ops import log_softmax

    cfg = DialogueConfig(**SMALL, act_dim=2, cell=cell)
    model = DialogueVAE(cfg)
    shapes = model.param_shapes()
    assert shapes["z_to_h_W"][0] == 3 + 4 + 2 and shapes["dec_Wx"][0] == 4 + 2
    cvae = DialogueVAE(DialogueConfig(**SMALL, act_dim=0, cell=cell))
    assert cvae.param_shapes()["dec_Wx"][0] == 4
    params = model.init_params(seed=0, dtype=np.float64)
    code = np.random.default_rng(0).standard_normal((2, 9))
    tokens, lengths = np.array([[5, 6, 7], [8, 9, 0]]), np.array([3, 2])
    inputs, targets, mask = decoder_io(tokens, lengths)
    logits, _ = decode_forward(params, cfg.decoder_config, code, inputs, mask)
    logp = np.take_along_axis(log_softmax(logits), targets[..., None], axis=2)[..., 0]
    trained = (logp * mask).sum(axis=1)
    scored = log_px_given_z(params, cfg.decoder_config, tokens, lengths, code)
    state, stepped = model.decoder_start(params, code), np.zeros(2)
    for t in range(inputs.shape[1]):
        step_logp, state = model.decoder_step(params, state, inputs[:, t])
        stepped += step_logp[np.arange(2), targets[:, t]] * mask[:, t]
    np.testing.assert_allclose(scored, trained, rtol=1e-10)
    np.testing.assert_allclose(stepped, trained, rtol=1e-10)
    moved = code.copy()
    moved[:, :7] += 1.0  # z and c: the first state only
    again = log_px_given_z(params, cfg.decoder_config, tokens, lengths, moved)
    assert not np.allclose(again, scored)


def test_without_a_given_act_y_is_the_embeddings_weighed_by_p_y():
    """Zhao et al.'s generation (``forward``): pred_attribute_embedding = da_prob @ d_embedding."""
    from minivae.dialogue.model import act_logits_forward
    from minivae.ops import log_softmax

    model = DialogueVAE(DialogueConfig(**SMALL, act_dim=2))
    params = model.init_params(seed=0, dtype=np.float64)
    c = np.random.default_rng(0).standard_normal((2, 4))
    code = model.prior_code(params, 3, np.random.default_rng(1), c)
    logits, _ = act_logits_forward(params, code[:, :7])
    want = np.exp(log_softmax(logits)) @ params["act_embed"]
    np.testing.assert_allclose(code[:, 7:], want, rtol=1e-12)
