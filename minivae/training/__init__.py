"""Training: optimizers, KL schedules, the trainer, checkpoints, the report and its plots."""
