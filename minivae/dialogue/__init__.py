"""Dialogue: Zhao et al. 2017's kgCVAE on a hierarchical encoder, trained on whole
dialogues (DailyDialog); ``latent_dim`` 0 is the same network without z (HRED).
docs/dialogue.md."""
