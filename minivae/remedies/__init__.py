"""The remedies for posterior collapse, one file each:

    kl_schedules.py   the KL weight over training: constant, linear, logistic, cyclical
    free_bits.py      the op max(lambda, KL_j): no pressure on a dimension below lambda nats
    word_dropout.py   the op that replaces decoder input words by <unk>
    aggressive.py     He et al. 2019: the encoder trained to convergence before each decoder
                      update, until the validation mutual information stops rising
    pretraining.py    Li et al. 2019: an autoencoder first (KL weight 0), then the decoder
                      re-initialized and the VAE trained

The first three are ops (the model families use them in their loss); the last two drive the
trainer (``minivae/layers.py`` places each file). docs/remedies.md measures them.
"""
