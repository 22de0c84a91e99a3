"""The remedies for posterior collapse, one file each:

    kl_schedules.py   the KL weight over training: constant, linear, logistic, and Fu et
                      al. 2019's cyclical schedule (Eq. 5: M cycles, a rising proportion R;
                      their PTB setup's start of 0.1 and cosine learning rate per cycle)
    aggressive.py     He et al. 2019's aggressive training as their code runs it: up to 99
                      encoder steps before each decoder step, the first on its batch, stopped
                      when a block of 15 steps' per-word loss rises; the phase ends when the
                      validation MI falls. Also the capped variant (--aggressive-capped).
    pretraining.py    Li et al. 2019's pre-training: an autoencoder first (KL weight 0), then
                      the decoder re-initialized and the VAE trained, annealed from 0
    KL threshold      Li et al. 2019's per-sentence, per-dimension threshold: the op
                      ``minivae/ops/kl_threshold.py`` (--kl-threshold, their --target_kl)
    free bits         Kingma et al. 2016's max(lambda, KL_j) on each dimension's batch mean
                      (no pressure on a dimension below lambda nats): ``minivae/ops/free_bits.py``
    word dropout      the op that replaces decoder input words by <unk>:
                      ``minivae/ops/word_dropout.py``, used in every family's decoder inputs

The KL threshold, free bits and word dropout are ops (free bits and word dropout checked by
``minivae gradcheck``, the threshold against finite differences in
tests/remedies/test_li_threshold.py), because the model families apply them inside their
loss (``blocks/latent.py:kl_term_forward`` applies the threshold or free bits); the first
three drive the trainer, which calls them with itself, so this folder imports nothing above
the ops. docs/remedies.md states each paper's algorithm and maps the code to it;
docs/results.md measures them.
"""
