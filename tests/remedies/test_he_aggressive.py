"""He et al. 2019's aggressive training as their code runs it (vae-lagging-encoder, text.py):
the inner loop on a scripted loss sequence, its first batch, the end of the phase; and the
loop inside the trainer. The capped variant (--aggressive-capped) fails each of these: it
stops by the 10th step, never sees the decoder's batch and ends the phase on a tie."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from minivae.interface import LossTerms
from minivae.model.run_config import TrainConfig
from minivae.remedies import aggressive
from minivae.remedies.aggressive import BLOCK, MAX_INNER, BlockRule
from minivae.training.progress import Progress, read_progress
from minivae.training.trainer import Trainer, epoch_batches


class ScriptedTrainer:
    """What ``train_encoder`` asks of a trainer, with the loss of each inner step scripted
    and every batch it scores recorded."""

    def __init__(self, losses, tokens=100, sentences=10):
        self.cfg = SimpleNamespace(seed=0, aggressive_steps=10)
        self.progress = SimpleNamespace(step=7)
        self.groups = {"encoder": {"enc"}, "rest": {"dec"}}
        self.losses, self.tokens, self.sentences = list(losses), tokens, sentences
        self.seen, self.updates = [], []

    def loss_and_grads(self, batch):
        self.seen.append(batch.name)
        loss = self.losses[len(self.seen) - 1]
        terms = LossTerms(loss, loss, 0.0, 0.0, 1.0, self.tokens, None)
        return terms, {"enc": np.ones(2), "dec": np.ones(2)}

    def clip(self, grads):
        return 1.0

    def _step(self, grads, groups):
        self.updates.append((sorted(grads), groups))


def batch(name, n=10):
    return SimpleNamespace(name=name, lengths=np.ones(n, dtype=int))


OTHERS = [batch(f"b{i}") for i in range(20)]


def test_the_inner_loop_runs_all_99_steps_while_the_loss_keeps_falling():
    t = ScriptedTrainer(np.linspace(100.0, 50.0, MAX_INNER))
    assert aggressive.train_encoder(t, batch("decoder's"), OTHERS) == 99
    assert len(t.updates) == 99 and len(t.seen) == 99  # sub_iter < 100
    assert all(update == (["enc"], ("encoder",)) for update in t.updates)  # q's weights only


def test_the_inner_loop_stops_at_the_end_of_the_first_block_whose_loss_rose():
    # blocks of 15: 5.0, then 4.0 (lower: go on), then 4.0 (a tie: go on), then 4.5: stop
    losses = [5.0] * BLOCK + [4.0] * BLOCK + [4.0] * BLOCK + [4.5] * BLOCK + [1.0] * 39
    t = ScriptedTrainer(losses)
    assert aggressive.train_encoder(t, batch("decoder's"), OTHERS) == 4 * BLOCK
    assert len(t.updates) == 60  # the step that ends the block is taken, as in text.py


def test_a_rise_inside_a_block_does_not_stop_the_loop():
    # the block sums: 15 * 5 = 75 against 14 * 4 + 8 = 64 (lower): a single bad step is no stop
    losses = [5.0] * BLOCK + [4.0] * 14 + [8.0] + [9.0] * BLOCK + [1.0] * 60
    t = ScriptedTrainer(losses)
    assert aggressive.train_encoder(t, batch("decoder's"), OTHERS) == 3 * BLOCK


def test_the_block_loss_is_per_word():
    rule = BlockRule(block=2)
    assert not rule.add(10.0, 10) and not rule.add(10.0, 10)  # 1.0 per word
    # more loss in all, but over 4x the words: 0.5 per word, lower
    assert not rule.add(20.0, 40) and not rule.add(20.0, 40)
    assert not rule.add(20.0, 30) and rule.add(20.0, 30)  # 0.67 per word: higher, stop


def test_the_first_inner_step_is_on_the_decoders_batch_then_random_batches():
    t = ScriptedTrainer(np.linspace(100.0, 50.0, MAX_INNER))
    aggressive.train_encoder(t, batch("decoder's"), OTHERS)
    assert t.seen[0] == "decoder's"
    later = t.seen[1:]
    assert "decoder's" not in later and set(later) <= {b.name for b in OTHERS}
    assert len(set(later)) > 5  # drawn at random with replacement, not one batch over again


def test_the_phase_ends_when_the_mi_falls_and_goes_on_at_a_tie():
    p = Progress(aggressive=True)
    rows = [{"mi_per_batch": mi, "mi": 9.0} for mi in (0.5, 0.5, 0.4, 0.6)]
    flags = []
    for row in rows:
        aggressive.after_validation(p, row, lambda *_: None)
        flags.append(p.aggressive)
    assert flags == [True, True, False, False]  # the tie at 0.5 goes on; 0.4 < 0.5 ends it
    assert [row["aggressive"] for row in rows] == [True, True, True, False]
    # the capped variant ends on the tie
    q = Progress(aggressive=True)
    for row in ({"mi": 0.5}, {"mi": 0.5}):
        aggressive.after_validation_capped(q, row, lambda *_: None)
    assert q.aggressive is False


def test_the_phase_compares_with_the_previous_check_not_the_best():
    p = Progress(aggressive=True)
    for mi in (0.8, 0.3, 0.35):  # 0.3 falls: ends at the second check
        aggressive.after_validation(p, {"mi_per_batch": mi}, lambda *_: None)
        if mi == 0.8:
            assert p.aggressive and p.last_mi == 0.8
    assert p.aggressive is False


def test_the_first_check_compares_with_zero():
    """text.py starts from pre_mi = 0: a first MI estimate below 0 (their estimate is not
    clipped) ends the phase at once."""
    p = Progress(aggressive=True)
    aggressive.after_validation(p, {"mi_per_batch": -0.01}, lambda *_: None)
    assert p.aggressive is False


def test_the_previous_mi_survives_a_checkpoint():
    p = Progress(aggressive=True, lr=1e-3, last_mi=0.42)
    back = read_progress(p.to_meta(), "x.npz", steps_per_epoch=5, default_lr=1e-3)
    assert back.last_mi == 0.42 and back.aggressive
    meta = p.to_meta()
    del meta["last_mi"]  # a checkpoint from before: He et al.'s starting value
    assert read_progress(meta, "x.npz", 5, 1e-3).last_mi == 0.0


SMALL = dict(
    builtin_size=200,
    embed_dim=8,
    hidden_dim=8,
    latent_dim=3,
    batch_size=16,
    kl_warmup=20,
    iw_samples=1,
    device="cpu",
    epochs=1,
)


def test_in_the_trainer_the_encoder_and_its_own_embedding_move_first(tmp_path):
    cfg = TrainConfig(**SMALL, out=str(tmp_path), aggressive=True, share_embeddings=False)
    t = Trainer(cfg, progress_bar=False, log=lambda *_: None)
    assert "enc_embed" in t.model.encoder_param_names()
    first = epoch_batches(t.data.train, cfg, 0)[0]
    before = {k: v.copy() for k, v in t.params.items()}
    steps = aggressive.train_encoder(t, first, epoch_batches(t.data.train, cfg, 0))
    changed = {k for k in t.params if not np.array_equal(t.params[k], before[k])}
    assert changed == t.model.encoder_param_names()  # the decoder (and its embedding) fixed
    assert BLOCK <= steps <= MAX_INNER and t.optimizers["encoder"].step_count == steps
    t.train_step(first)
    assert t.optimizers["rest"].step_count == 1


def test_a_shared_embedding_is_refused_with_the_fix_named(tmp_path):
    with pytest.raises(ValueError, match="--no-share-embeddings"):
        TrainConfig(**SMALL, out=str(tmp_path), aggressive=True)
    with pytest.raises(ValueError, match="two versions"):
        TrainConfig(
            **SMALL,
            out=str(tmp_path),
            aggressive=True,
            aggressive_capped=True,
            share_embeddings=False,
        )


def test_a_run_in_the_aggressive_phase_resumes_exactly(tmp_path):
    """The inner loop's random batches are drawn by (seed, step) and the previous check's MI
    is in the checkpoint: a run stopped mid-epoch and resumed ends where an unbroken one does."""
    from minivae.loading import resume_trainer

    opts = dict(SMALL, epochs=2, aggressive=True, share_embeddings=False)
    quiet = lambda *_: None  # noqa: E731
    full = Trainer(TrainConfig(**opts, out=str(tmp_path / "full")), progress_bar=False, log=quiet)
    full.run()
    part = Trainer(TrainConfig(**opts, out=str(tmp_path / "part")), progress_bar=False, log=quiet)
    for b in epoch_batches(part.data.train, part.cfg, 0)[:3]:
        part.train_step(b)
        part.progress.step += 1
        part.progress.batch_in_epoch += 1
    part.save("last.npz")
    resumed = resume_trainer(tmp_path / "part", progress_bar=False, log=quiet)
    assert resumed.progress.aggressive
    resumed.run()
    assert resumed.progress.last_mi == full.progress.last_mi
    for name, value in full.params.items():
        np.testing.assert_array_equal(resumed.params[name], value, err_msg=name)
