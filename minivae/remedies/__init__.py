"""The remedies for posterior collapse, one file each:

    kl_schedules.py   the KL weight over training: constant, linear, logistic, cyclical
    aggressive.py     He et al. 2019: the encoder trained to convergence before each decoder
                      update, until the validation mutual information stops rising
    pretraining.py    Li et al. 2019: an autoencoder first (KL weight 0), then the decoder
                      re-initialized and the VAE trained
    free bits         the op max(lambda, KL_j) (no pressure on a dimension below lambda
                      nats): ``minivae/ops/free_bits.py``, used in every family's KL term
    word dropout      the op that replaces decoder input words by <unk>:
                      ``minivae/ops/word_dropout.py``, used in every family's decoder inputs

The last two are ops, gradient-checked with the others, because the model families apply
them inside their loss; the first three drive the trainer, which calls them with itself, so
this folder imports nothing above the ops. docs/remedies.md measures them.
"""
