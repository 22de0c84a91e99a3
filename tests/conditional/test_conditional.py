"""The conditional VAE: gradients, data, that conditioning helps, generation, metrics, CLI."""

from dataclasses import replace

import numpy as np
import pytest

from minivae.cli import main
from minivae.conditional.config import CVAEConfig
from minivae.conditional.cvae import ConditionalVAE
from minivae.conditional.data import (
    dialogue_pairs,
    dialogue_references,
    label_pairs,
    references_by_source,
    toy_lexicon,
    translate,
    translation_pairs,
)
from minivae.conditional.model import loss_and_grads
from minivae.conditional.params import cvae_param_shapes, init_cvae_params
from minivae.conditional.run_config import CVAETrainConfig
from minivae.conditional.tasks import generate
from minivae.data import CorpusError, read_pairs
from minivae.generation_metrics import (
    bleu_precision_recall,
    bleu_signature,
    corpus_bleu,
    distinct_n,
    sentence_bleu,
)
from minivae.gradcheck import DEFAULT_TOL, check_op
from minivae.gradcheck.models import check_model, tiny_model_batch
from minivae.gradcheck.op_cases import prior_kl_backward, prior_kl_forward
from minivae.interface import Step
from minivae.loading import load_model, resume_trainer
from minivae.training.report import final_report
from minivae.training.trainer import Trainer

TINY = dict(vocab_size=11, embed_dim=4, hidden_dim=5, latent_dim=3, prior_dim=4, cond_dim=3)


def tiny_config(condition: str = "sequence", **kw) -> CVAEConfig:
    """A model small enough to check entry by entry in a few seconds."""
    extra = dict(src_vocab_size=9) if condition == "sequence" else dict(num_classes=4)
    return CVAEConfig(**{**TINY, **extra, "condition": condition, **kw})


def quiet(*_):
    pass


def train(cfg, data=None):
    """Train and report a conditional run the way ``minivae cvae train`` does."""
    trainer = Trainer(cfg, progress_bar=False, log=quiet, data=data)
    trainer.run()
    return final_report(trainer, log=quiet)


# -- gradients ----------------------------------------------------------------------------


def test_prior_network_kl_gradient():
    rng = np.random.default_rng(0)
    N, C, P, Z = 3, 4, 5, 3
    shapes = dict(c=(N, C), W=(C, P), b=(P,), W_mu=(P, Z), b_mu=(Z,), W_lv=(P, Z), b_lv=(Z,))
    inputs = {k: 0.5 * rng.standard_normal(v) for k, v in shapes.items()}
    inputs.update(mu=rng.standard_normal((N, Z)), logvar=0.5 * rng.standard_normal((N, Z)))
    rows = check_op(prior_kl_forward, prior_kl_backward, inputs, name="prior_kl")
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
    rows = check_model(ConditionalVAE(config), free_bits=free_bits)
    assert {r.input for r in rows} == set(init_cvae_params(config))
    for r in rows:
        assert r.error < DEFAULT_TOL, f"d loss / d {r.input}: rel error {r.error:.2e}"


def test_loss_is_rec_plus_beta_kl_plus_bow_and_kl_uses_the_prior_network():
    config = tiny_config("sequence")
    params = init_cvae_params(config, seed=0, dtype=np.float64)
    batch = tiny_model_batch(ConditionalVAE(config))
    eps = np.random.default_rng(1).standard_normal((3, config.latent_dim))
    terms, grads = loss_and_grads(params, batch, config, Step(beta=0.3, eps=eps))
    bow = terms.extra["bow"]
    assert terms.loss == pytest.approx(terms.rec + 0.3 * terms.kl + bow, rel=1e-12)
    assert terms.kl >= 0 and bow > 0
    assert set(grads) == set(params)
    params["prior_mu_b"] += 1.0  # moving the prior moves the KL
    assert loss_and_grads(params, batch, config, Step(beta=0.3, eps=eps))[0].kl != terms.kl


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
        CVAETrainConfig(pairs=str(tmp_path / "missing.tsv"), out=str(tmp_path / "r")).prepare_data()


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


def test_bleu_compares_the_words_between_spaces():
    """Sentences are already words: ``<unk>`` and Moses' ``@-@`` are one token each, scored
    like any other word (sacrebleu's 13a tokenizer would make ``< unk >`` three wrong tokens
    and lengthen the hypothesis)."""
    ref = [["a big dog runs across the green grass in front of a white @-@ fence ."]]
    unk = corpus_bleu(
        ["a <unk> dog runs across the green grass in front of a white @-@ fence ."], ref
    )
    word = corpus_bleu(
        ["a qqq dog runs across the green grass in front of a white @-@ fence ."], ref
    )
    assert unk == pytest.approx(word) and 0 < unk < 100
    hyphen = corpus_bleu(["a big dog runs across the grass in front of a white x fence ."], ref)
    plain = corpus_bleu(["a big dog runs across the grass in front of a white @-@ fence ."], ref)
    assert hyphen < plain  # @-@ is a word that can be right or wrong
    assert sentence_bleu("a <unk> dog runs", ["a big dog runs"]) == pytest.approx(
        sentence_bleu("a qqq dog runs", ["a big dog runs"])
    )
    assert "tok:none" in bleu_signature()


# -- training -----------------------------------------------------------------------------


def test_conditioning_on_the_source_beats_the_unconditional_vae(tmp_path):
    """The same targets, sizes and budget: the source must be worth nats of NLL."""
    from minivae.model.run_config import TrainConfig

    sizes = dict(embed_dim=32, hidden_dim=48, latent_dim=8)
    budget = dict(epochs=10, lr=5e-3, kl_warmup=100, iw_samples=5, device="cpu")
    out = str(tmp_path / "c")
    cfg = CVAETrainConfig(task="translate", num_pairs=1000, out=out, **budget, **sizes)
    data = cfg.prepare_data()
    metrics = train(cfg, data)
    # The plain VAE on the same target sentences, without their sources.
    plain_cfg = TrainConfig(
        out=str(tmp_path / "p"), word_dropout=0.0, free_bits=0.0, **budget, **sizes
    )
    targets_only = replace(
        data,
        condition=None,
        train=replace(data.train, src=None),
        valid=replace(data.valid, src=None),
    )
    plain = train(plain_cfg, targets_only)
    assert metrics["nll"] < plain["nll"] - 2.0, (metrics["nll"], plain["nll"])
    # the run folder holds checkpoints that load without pickle, and the report
    trained = load_model(tmp_path / "c" / "best.npz")
    assert trained.train_config.epochs == 10 and len(trained.vocab) == trained.model.vocab_size
    assert (tmp_path / "c" / "report.json").exists() and (tmp_path / "c" / "last.npz").exists()


def test_dialogue_generation_gives_several_distinct_responses(tmp_path, capsys):
    cfg = CVAETrainConfig(
        task="dialogue",
        num_pairs=1500,
        epochs=8,
        lr=5e-3,
        embed_dim=32,
        hidden_dim=48,
        latent_dim=8,
        kl_warmup=200,
        iw_samples=1,
        num_samples=5,
        device="cpu",
        out=str(tmp_path),
    )
    metrics = train(cfg)
    assert metrics["kl"] > 0.5  # the latent carries which answer was given
    trained = load_model(tmp_path)
    pairs = dialogue_pairs(1500, seed=0)
    context = " ".join(sorted(references_by_source(pairs))[0])
    encoded = trained.condition.encode_texts([context], max_len=30)
    out = generate(trained.model, trained.params, encoded, 10, np.random.default_rng(0))
    texts = {" ".join(trained.vocab.decode(ids)) for ids in out[0]}
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


SMALL_CVAE = dict(
    task="translate",
    num_pairs=300,
    embed_dim=12,
    hidden_dim=16,
    latent_dim=4,
    prior_dim=8,
    batch_size=16,
    kl_warmup=20,
    iw_samples=2,
    device="cpu",
)


def test_conditional_run_resumes_exactly_and_stops_on_divergence(tmp_path):
    """The conditional VAE trains through the shared trainer: mid-epoch resume gives the
    parameters of an uninterrupted run, and a NaN stops it with the good checkpoint kept."""
    full = Trainer(
        CVAETrainConfig(**SMALL_CVAE, epochs=2, out=str(tmp_path / "full")),
        progress_bar=False,
        log=quiet,
    )
    full.run()
    part = Trainer(
        CVAETrainConfig(**SMALL_CVAE, epochs=2, out=str(tmp_path / "part")),
        progress_bar=False,
        log=quiet,
    )
    from minivae.training.trainer import epoch_batches

    batches = epoch_batches(part.data.train, part.cfg, 0)
    for batch in batches[:5]:
        part.train_step(batch)
        part.progress.step += 1
        part.progress.batch_in_epoch += 1
    part.save("last.npz")
    resumed = resume_trainer(tmp_path / "part", progress_bar=False, log=quiet)
    assert resumed.model.kind == "cvae" and resumed.progress.step == 5
    resumed.run()
    for name, value in full.params.items():
        np.testing.assert_array_equal(resumed.params[name], value, err_msg=name)

    from minivae.training.trainer import TrainingDiverged

    resumed.cfg.epochs = 3
    resumed.params["prior_b"][:] = np.nan
    with pytest.raises(TrainingDiverged, match="last good checkpoint"):
        resumed.run()
    kept = load_model(tmp_path / "part" / "last.npz")
    assert all(np.isfinite(v).all() for v in kept.params.values())


def test_cvae_commands_train_resume_and_eval_as_json(tmp_path, capsys):
    import json

    out = str(tmp_path / "run")
    args = ["--task", "translate", "--num-pairs", "300", "--embed-dim", "12", "--hidden-dim"]
    args += ["16", "--latent-dim", "4", "--iw-samples", "2", "--device", "cpu", "--no-progress"]
    assert main(["cvae", "train", *args, "--epochs", "1", "--out", out]) == 0
    assert "bleu" in capsys.readouterr().out
    assert main(["cvae", "train", "--resume", out, "--epochs", "2", "--no-progress"]) == 0
    assert "resumed from" in capsys.readouterr().out
    assert load_model(out).meta["epoch"] == 2
    assert main(["cvae", "eval", out, "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert {"nll", "kl", "bleu", "recon_bleu", "active_units"} <= set(metrics)
    assert main(["cvae", "train", "--resume", out, "--lr", "0.1"]) == 2
    assert "only --epochs" in capsys.readouterr().err
