"""The training banner names every remedy a run uses, with the settings a reader needs to
match the run to docs/remedies.md (a cyclical run once printed only "KL schedule cyclical",
and Li et al.'s threshold, He et al.'s loop and pre-training not at all)."""

from minivae.cli.train import remedies_in_use
from minivae.model.run_config import TrainConfig


def test_the_default_run_names_its_schedule_and_nothing_it_does_not_use(tmp_path):
    text = remedies_in_use(TrainConfig(out=str(tmp_path)))
    assert text.startswith("KL schedule linear over 600 steps, free bits 0.5")
    for absent in ("threshold", "aggressive", "pre-training", "cyclical"):
        assert absent not in text


def test_the_papers_methods_are_named_with_their_settings(tmp_path):
    cfg = TrainConfig(
        out=str(tmp_path),
        kl_schedule="cyclical",
        kl_cycles=3,
        kl_ratio=0.25,
        kl_cycle_start=0.1,
        lr_cycles=True,
        free_bits=0.0,
        kl_threshold=4.8,
        aggressive=True,
        share_embeddings=False,
        ae_pretrain_epochs=2,
    )
    text = remedies_in_use(cfg)
    assert "cyclical (Fu et al.: M=3, R=0.25, from 0.1, learning-rate cycles)" in text
    assert "KL threshold (Li et al.) 4.8 nats" in text
    assert "aggressive encoder training (He et al.)" in text
    assert "autoencoder pre-training 2 epochs" in text
    capped = remedies_in_use(
        TrainConfig(out=str(tmp_path), aggressive_capped=True, aggressive_steps=10)
    )
    assert "capped aggressive loop (at most 10 steps)" in capped and "He et al." not in capped
