"""Aggressive encoder training (He et al. 2019, "Lagging Inference Networks and Posterior
Collapse in Variational Autoencoders", ICLR), Algorithm 1, as the authors' released code
runs it (jxhe/vae-lagging-encoder, text.py):

    while the aggressive phase lasts, for each training batch X:
        sub_iter = 1; X_enc = X                          # the first inner step: the same batch
        while sub_iter < 100:                            # at most 99 encoder steps
            update phi on X_enc (theta fixed)            # enc_optimizer.step()
            X_enc = a training batch drawn at random
            if sub_iter % 15 == 0:                       # the per-word loss of the last 15
                if this block's loss > the previous block's: break
            sub_iter += 1
        update theta on X (phi fixed)                    # dec_optimizer.step() alone
    after each epoch: MI = I_q(x; z) on the validation set (their per-batch estimate);
        the phase ends if MI < the MI of the previous epoch's check (a tie goes on)

``train_encoder`` and ``after_validation`` are that. minivae also keeps the simpler loop it
had before (``--aggressive-capped``: ``train_encoder_capped``, ``after_validation_capped``),
which is not the authors' method and is named so.
"""

from __future__ import annotations

import math

import numpy as np

MAX_INNER = 99  # text.py: sub_iter runs from 1 while sub_iter < 100
BLOCK = 15  # text.py: the loss is compared every 15 inner steps (sub_iter % 15 == 0)


class BlockRule:
    """He et al.'s stopping rule for the inner loop (text.py, the ``burn_*`` variables): the
    loss summed over a block of ``BLOCK`` steps, per word; stop at the end of a block whose
    loss is higher than the previous block's. ``add(loss_sum, words)`` -> True to stop."""

    def __init__(self, block: int = BLOCK):
        self.block = block
        self.steps = 0
        # burn_pre_loss = 1e4 in text.py: "no block yet", so the first block never stops.
        self.previous = math.inf
        self.loss = 0.0  # burn_cur_loss: the sum of the block's per-sentence losses
        self.words = 0  # burn_num_words: the words (and <eos>) the block predicted

    def add(self, loss_sum: float, words: int) -> bool:
        self.steps += 1
        self.loss += loss_sum
        self.words += words
        if self.steps % self.block:  # if sub_iter % 15 == 0:
            return False
        current = self.loss / max(self.words, 1)  # burn_cur_loss / burn_num_words
        if self.previous - current < 0:  # if burn_pre_loss - burn_cur_loss < 0: break
            return True
        self.previous, self.loss, self.words = current, 0.0, 0
        return False


def train_encoder(trainer, batch, batches) -> int:
    """He et al.'s inner loop before the decoder step on ``batch``: encoder-only updates,
    the first on ``batch`` itself, then on training ``batches`` drawn at random (with
    replacement, as text.py's ``np.random.random_integers``; drawn by (seed, step), so a
    resumed run draws the same), until ``BlockRule`` stops it or 99 steps are done.
    The gradient is clipped by the norm of every parameter's gradient, as text.py clips
    ``vae.parameters()``, and then only the encoder's part is applied. -> the steps taken."""
    c, p = trainer.cfg, trainer.progress
    pick = np.random.default_rng([c.seed, p.step, 1])
    rule = BlockRule()
    current = batch  # batch_data_enc = batch_data
    for step in range(1, MAX_INNER + 1):  # sub_iter = 1, ..., 99
        terms, grads = trainer.loss_and_grads(current)
        norm = trainer.clip(grads)  # clip_grad_norm_(vae.parameters(), clip_grad)
        if not (math.isfinite(terms.loss) and math.isfinite(norm)):
            return step - 1  # the outer step reports it
        grads = {k: g for k, g in grads.items() if k in trainer.groups["encoder"]}
        trainer._step(grads, ("encoder",))  # enc_optimizer.step()
        # burn_cur_loss += loss.sum(): terms.loss is the batch's mean per sentence;
        # burn_num_words += (sent_len - 1) * batch_size: the predicted words and <eos>
        stop = rule.add(terms.loss * len(current.lengths), terms.num_tokens)
        current = batches[pick.integers(len(batches))]  # batch_data_enc = a random batch
        if stop:
            return step
    return MAX_INNER


def after_validation(progress, row: dict, log) -> None:
    """The end of He et al.'s aggressive phase (text.py: ``if cur_mi - pre_mi < 0:
    aggressive_flag = False``; ``pre_mi = cur_mi``, 0 before the first check): the phase ends
    when the validation MI is lower than at the previous epoch's check; a tie goes on. The MI
    is their estimate, ``row["mi_per_batch"]`` (``minivae.evaluation``)."""
    row["aggressive"] = progress.aggressive
    if progress.aggressive:
        current = row["mi_per_batch"]
        if current - progress.last_mi < 0:
            progress.aggressive = False
            log(
                f"epoch {progress.epoch}: validation MI fell ({progress.last_mi:.3f} -> "
                f"{current:.3f}); aggressive training ends"
            )
        progress.last_mi = current


# -- the capped variant (--aggressive-capped): not He et al.'s method ------------------------


def train_encoder_capped(trainer, batches) -> None:
    """minivae's capped loop: encoder-only updates on random training ``batches`` (none on
    the decoder's own batch), at most ``aggressive_steps``, until the mean loss of the last 5
    is no lower than of the 5 before; the gradient clipped by the encoder's part alone."""
    c, p = trainer.cfg, trainer.progress
    pick = np.random.default_rng([c.seed, p.step, 1])
    losses = []
    for i in range(c.aggressive_steps):
        terms, grads = trainer.loss_and_grads(batches[pick.integers(len(batches))])
        grads = {k: g for k, g in grads.items() if k in trainer.groups["encoder"]}
        norm = trainer.clip(grads)
        if not (math.isfinite(terms.loss) and math.isfinite(norm)):
            break  # the outer step reports it
        trainer._step(grads, ("encoder",))
        losses.append(terms.loss)
        if (i + 1) % 5 == 0 and len(losses) >= 10:
            if np.mean(losses[-5:]) >= np.mean(losses[-10:-5]):
                break


def after_validation_capped(progress, row: dict, log) -> None:
    """The capped variant's end of the phase: the first epoch whose validation MI (the
    whole-set estimate, ``row["mi"]``) does not beat the best so far; a tie ends it."""
    row["aggressive"] = progress.aggressive
    if progress.aggressive:
        if row["mi"] > progress.best_mi:
            progress.best_mi = row["mi"]
        else:
            progress.aggressive = False
            log(f"epoch {progress.epoch}: MI stopped rising; aggressive training ends")
