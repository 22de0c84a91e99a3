"""Autoencoder pre-training (Li et al. 2019, "A Surprisingly Effective Fix for Deep Latent
Variable Modeling of Text"): ``ae_pretrain_epochs`` epochs with KL weight 0, then the
decoder starts afresh (the encoder keeps what it learned) and the VAE trains, its KL
schedule counted from the end of pre-training."""

from __future__ import annotations

import numpy as np

from minivae.remedies.kl_schedules import kl_weight, lr_factor


def kl_weight_at(cfg, step: int, steps_per_epoch: int) -> float:
    """The KL weight at ``step``: 0 while pre-training an autoencoder, then the schedule,
    counted from the end of pre-training (Li et al.'s VAE stage anneals from there: their
    text_anneal_fb.py loads the autoencoder and starts kl_weight at --kl_start 0)."""
    pretrain_steps = cfg.ae_pretrain_epochs * steps_per_epoch
    if step < pretrain_steps:
        return 0.0
    return kl_weight(
        step - pretrain_steps,
        cfg.kl_schedule,
        warmup=cfg.kl_warmup,
        beta_max=cfg.beta_max,
        cycles=cfg.kl_cycles,
        total_steps=schedule_steps(cfg, steps_per_epoch),
        ratio=cfg.kl_ratio,
        start=cfg.kl_cycle_start,
    )


def schedule_steps(cfg, steps_per_epoch: int) -> int:
    """T of the cyclical schedule: the steps after pre-training."""
    return (cfg.epochs - cfg.ae_pretrain_epochs) * steps_per_epoch


def lr_factor_at(cfg, step: int, steps_per_epoch: int) -> float:
    """With --lr-cycles, Fu et al.'s cosine learning-rate factor at ``step`` (1 while
    pre-training and without --lr-cycles)."""
    pretrain_steps = cfg.ae_pretrain_epochs * steps_per_epoch
    if not cfg.lr_cycles or step < pretrain_steps:
        return 1.0
    total = schedule_steps(cfg, steps_per_epoch)
    return lr_factor(step - pretrain_steps, cfg.kl_cycles, total, steps_per_epoch)


def pretraining_ends(cfg, progress) -> bool:
    """Whether the epoch about to start is the first after pre-training."""
    return (
        bool(cfg.ae_pretrain_epochs)
        and progress.epoch == cfg.ae_pretrain_epochs
        and (progress.batch_in_epoch == 0)
    )


def reset_decoder(trainer) -> None:
    """The end of pre-training: the decoder's parameters (and their running average) start
    afresh, and so do the optimizers."""
    c = trainer.cfg
    fresh = trainer.model.init_params(seed=c.seed + 1, dtype=np.dtype(c.dtype), xp=trainer.xp)
    for name in trainer.model.decoder_param_names():
        trainer.params[name][...] = fresh[name]
        if trainer.averaged is not None:
            trainer.averaged[name][...] = fresh[name]
    trainer._make_optimizers()
    trainer.log(f"epoch {trainer.progress.epoch + 1}: autoencoder pre-training done; decoder reset")
