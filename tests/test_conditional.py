"""The conditional VAE: gradients, data, that conditioning helps, generation, metrics, CLI."""

from types import SimpleNamespace

import numpy as np
import pytest

from minivae.cli import main
from minivae.conditional.config import CVAEConfig, CVAETrainConfig
from minivae.conditional.data import (
    dialogue_pairs,
    dialogue_references,
    iterate_pair_batches,
    label_pairs,
    prepare_pairs,
    references_by_source,
    toy_lexicon,
    translate,
    translation_pairs,
)
from minivae.conditional.generate import encode_conditions, generate
from minivae.conditional.gradcheck import check_cvae, check_prior_kl, tiny_config
from minivae.conditional.metrics import (
    bleu_precision_recall,
    corpus_bleu,
    distinct_n,
    sentence_bleu,
)
from minivae.conditional.model import loss_and_grads
from minivae.conditional.params import cvae_param_shapes, init_cvae_params
from minivae.conditional.train import load_cvae, train
from minivae.data import CorpusError, read_pairs
from minivae.gradcheck import DEFAULT_TOL

# -- gradients ----------------------------------------------------------------------------


def test_prior_network_kl_gradient():
    rows = check_prior_kl()
    assert {r.input for r in rows} >= {"c", "W", "b", "W_mu", "b_mu", "W_lv", "b_lv"}
    for r in rows:
        assert r.error < DEFAULT_TOL, f"d KL / d {r.input}: rel error {r.error:.2e}"


@pytest.mark.parametrize(
    "condition, kw, free_bits",
    [
        ("sequence", dict(cell="lstm", z_mode="both", bow=True), 0.0),
        # free bits 0.04: two of the three KL dimensions sit below it, one above
        ("label", dict(cell="gru", z_mode="both", share_embeddings=False, bow=True), 0.04),
        ("sequence", dict(cell="gru", z_mode="init", bow=False), 0.0),
        ("label", dict(cell="lstm", z_mode="concat", bow=False), 0.0),
    ],
)
def test_whole_conditional_model_gradient_for_every_parameter(condition, kw, free_bits):
    config = tiny_config(condition, **kw)
    rows = check_cvae(config, free_bits=free_bits)
    assert {r.input for r in rows} == set(init_cvae_params(config))
    for r in rows:
        assert r.error < DEFAULT_TOL, f"d loss / d {r.input}: rel error {r.error:.2e}"


def test_loss_is_rec_plus_beta_kl_plus_bow_and_kl_uses_the_prior_network():
    from minivae.conditional.gradcheck import tiny_pair_batch

    config = tiny_config("sequence")
    params = init_cvae_params(config, seed=0, dtype=np.float64)
    batch = tiny_pair_batch(config)
    eps = np.random.default_rng(1).standard_normal((3, config.latent_dim))
    terms, grads = loss_and_grads(params, batch, config, beta=0.3, eps=eps)
    assert terms.loss == pytest.approx(terms.rec + 0.3 * terms.kl + terms.bow, rel=1e-12)
    assert terms.kl >= 0 and terms.bow > 0
    assert set(grads) == set(params)
    params["prior_mu_b"] += 1.0  # moving the prior moves the KL
    assert loss_and_grads(params, batch, config, beta=0.3, eps=eps)[0].kl != terms.kl


def test_config_checks_and_shapes():
    with pytest.raises(ValueError, match="num_classes"):
        CVAEConfig(vocab_size=20, condition="label")
    with pytest.raises(ValueError, match="src_vocab_size"):
        CVAEConfig(vocab_size=20, condition="sequence")
    config = CVAEConfig(vocab_size=20, src_vocab_size=15, hidden_dim=8, latent_dim=3)
    shapes = cvae_param_shapes(config)
    assert shapes["mu_W"] == (8 + 8, 3)  # [h_x; c] -> z
    assert shapes["z_to_h_W"] == (3 + 8, 8)  # [z; c] -> the decoder's first state
    assert shapes["dec_Wx"] == (64 + 3 + 8, 32)


# -- data ---------------------------------------------------------------------------------


def test_builtin_pairs_are_deterministic_and_follow_their_rules():
    assert translation_pairs(50, seed=3) == translation_pairs(50, seed=3)
    assert dialogue_pairs(50, seed=3) == dialogue_pairs(50, seed=3)
    lex = toy_lexicon()
    out = translate("the chef cooked a very tasty soup yesterday".split(), lex)
    # subject, object with the adjective after its noun, time, then the verb with -ri
    assert out == [lex[w] for w in "the chef a soup very tasty yesterday".split()] + [
        lex["cooks"] + "ri"
    ]
    refs = dialogue_references()
    assert all(3 <= len(set(v)) <= 5 for v in refs.values())
    pairs = label_pairs(20)
    assert all(len(s) == 2 for s, _ in pairs)


def test_bad_pairs_files_name_file_and_line(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("hello\tbonjour\nno tab here\n")
    with pytest.raises(CorpusError, match=r"pairs.tsv, line 2: no tab"):
        read_pairs(path)
    path.write_text("hello\tbonjour\n\t\nfoo\t  \n")
    with pytest.raises(CorpusError, match=r"line 3: the target side is empty"):
        read_pairs(path)
    path.write_text("hello\tbonjour\n  \tbar\n")
    with pytest.raises(CorpusError, match=r"line 2: the source side is empty"):
        read_pairs(path)
    with pytest.raises(CorpusError, match="does not exist"):
        train(CVAETrainConfig(pairs=str(tmp_path / "missing.tsv"), out=str(tmp_path / "r")))


# -- metrics ------------------------------------------------------------------------------


def test_bleu_helpers():
    assert corpus_bleu(["a b c d e ."], [["a b c d e ."]]) == pytest.approx(100.0)
    assert sentence_bleu("the cat sat on the mat", ["the cat sat on the mat"]) == pytest.approx(
        100.0
    )
    assert corpus_bleu(["x y z w"], [["a b c d"]]) == pytest.approx(0.0)
    # two references per hypothesis: matching either one is enough
    assert corpus_bleu(["a b c d", "e f g h"], [["a b c d"], ["q r s t", "e f g h"]]) > 99
    pr = bleu_precision_recall([["a b c d", "a b c d"]], [["a b c d", "e f g h"]])
    assert pr["bleu_precision"] == pytest.approx(100.0)  # every sample is a right answer
    assert pr["bleu_recall"] < 60  # but only one of the two answers is ever given
    assert distinct_n([["a", "b"], ["a", "b"]], 1) == 0.5
    assert distinct_n([["a", "b", "c"]], 2) == 1.0


# -- training -----------------------------------------------------------------------------


def _unconditional_nll(data, epochs, sizes, lr, seed=0):
    """The plain VAE trained on the same targets with the same budget; IW NLL per sentence."""
    from minivae.evaluation import evaluate
    from minivae.model import ModelConfig, init_params
    from minivae.model import loss_and_grads as vae_loss
    from minivae.training.optim import Adam, clip_by_global_norm
    from minivae.training.schedules import kl_weight

    config = ModelConfig(vocab_size=len(data.vocab), **sizes)
    params = init_params(config, seed=seed)
    opt, rng, step = Adam(lr=lr), np.random.default_rng(seed), 0
    for epoch in range(epochs):
        for b in iterate_pair_batches(data.train, 32, "sequence", np.random.default_rng(epoch)):
            _, grads = vae_loss(params, b, config, beta=kl_weight(step, warmup=100), rng=rng)
            clip_by_global_norm(grads, 5.0)
            opt.step(params, grads)
            step += 1
    valid = [
        SimpleNamespace(tokens=b.tokens, lengths=b.lengths)
        for b in iterate_pair_batches(data.valid, 64, "sequence")
    ]
    return evaluate(params, config, valid, iw_samples=5)["nll"]


def test_conditioning_on_the_source_beats_the_unconditional_vae(tmp_path):
    sizes = dict(embed_dim=32, hidden_dim=48, latent_dim=8)
    pairs = translation_pairs(1000, seed=0)
    data = prepare_pairs(pairs, "sequence", seed=0)
    budget = dict(epochs=10, lr=5e-3)
    cfg = CVAETrainConfig(
        task="translate", kl_warmup=100, iw_samples=5, out=str(tmp_path), **budget, **sizes
    )
    metrics = train(cfg, progress_bar=False, log=lambda *a: None, data=data)
    plain = _unconditional_nll(data, sizes=sizes, **budget)
    # NLL per sentence of the same validation targets: the source must be worth nats
    assert metrics["nll"] < plain - 2.0, (metrics["nll"], plain)
    # the run folder holds a checkpoint that loads without pickle, and its metrics
    params, config, vocab, condition, saved = load_cvae(tmp_path / "model.npz")
    assert saved.epochs == 10 and len(vocab) == config.vocab_size
    assert (tmp_path / "metrics.json").exists() and (tmp_path / "config.json").exists()


def test_dialogue_generation_gives_several_distinct_responses(tmp_path, capsys):
    pairs = dialogue_pairs(1500, seed=0)
    data = prepare_pairs(pairs, "sequence", seed=0)
    cfg = CVAETrainConfig(
        task="dialogue",
        epochs=8,
        lr=5e-3,
        embed_dim=32,
        hidden_dim=48,
        latent_dim=8,
        kl_warmup=200,
        iw_samples=0,
        num_samples=5,
        out=str(tmp_path),
    )
    metrics = train(cfg, progress_bar=False, log=lambda *a: None, data=data)
    assert metrics["kl"] > 0.5  # the latent carries which answer was given
    params, config, vocab, condition, _ = load_cvae(tmp_path)
    context = " ".join(sorted(references_by_source(pairs))[0])
    src, lengths = encode_conditions(condition, [context])
    out = generate(params, config, src, lengths, 10, rng=np.random.default_rng(0))
    texts = {" ".join(vocab.decode(ids)) for ids in out[0]}
    assert len(texts) >= 2, texts
    assert metrics["bleu_precision"] > 20 and metrics["distinct_samples_per_context"] > 1.5
    # the command line: several responses for a typed context, from the prior network
    assert main(["cvae", "generate", str(tmp_path), "--condition", context, "-n", "4"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == f"[{context}]" and len(printed) == 5


def test_cli_reports_bad_pairs_file_with_file_and_line(tmp_path, capsys):
    path = tmp_path / "bad.tsv"
    path.write_text("a b\tc d\ne f g\n")
    code = main(["cvae", "train", "--pairs", str(path), "--out", str(tmp_path / "r")])
    assert code == 2
    assert "bad.tsv, line 2: no tab" in capsys.readouterr().err
