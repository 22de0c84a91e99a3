"""The text VAE's loss and its gradient for every parameter, composed from the ops by hand.

    embed -> encoder RNN -> (mu, logvar) -> z = mu + exp(logvar/2) eps -> decoder RNN -> softmax
    loss = E_q[-log p(x|z)] + beta * KL(q(z|x) || N(0, I))        (per sentence, batch mean)

The forward pass keeps every op's cache; the backward pass walks them in reverse.
"""

from __future__ import annotations

from minivae import ops
from minivae.blocks.decoder import decode_backward, decode_forward
from minivae.blocks.encoder import encode_backward, encode_forward
from minivae.blocks.latent import kl_term_backward, kl_term_forward
from minivae.blocks.sequence import decoder_inputs, draw_eps, on_device
from minivae.interface import Step, loss_terms
from minivae.model.config import ModelConfig


def loss_and_grads(params, batch, config: ModelConfig, step: Step | None = None):
    """The negative ELBO (with KL weight ``step.beta``) of a batch and its gradient.

    batch: has ``tokens`` (N, T) int padded with PAD and ``lengths`` (N,)
    step.eps: (N, Z) noise for the reparameterization; drawn from ``rng`` when None
    step.free_bits: nats per latent dimension below which the KL is not pushed down
    (Kingma et al. 2016): the objective uses sum_j max(free_bits, KL_j), KL_j the batch mean.
    step.kl_threshold: Li et al. 2019's threshold, nats over all Z dimensions (> 0: instead
    of free bits): each sentence's KL_nj counts only where it exceeds kl_threshold / Z.
    step.kernel: "auto" | "fused" | "array": the fused Numba kernels (kernels/) or the array code
    for the LSTM cell, the softmax's exponentials and the embedding gradient. "fused" insists
    on the fused LSTM cell (an error where none runs, see ``ops.lstm.select_pointwise``); the
    other two have CPU kernels only and run fused wherever they can, as with "auto".
    step.dropout: the rate of dropout on the encoder's and decoder's embeddings and the decoder's
    RNN outputs (Srivastava et al. 2014), masks drawn from ``rng``.
    step.label_smoothing: the target distribution (1 - eps) onehot + eps / V over each word
    (Szegedy et al. 2016; ``ops.softmax_cross_entropy_forward``), 0: the plain ELBO
    -> (LossTerms, grads: {name: array like params[name]})
    """
    step = Step() if step is None else step
    beta, eps, rng = step.beta, step.eps, step.rng
    word_dropout, free_bits = step.word_dropout, step.free_bits
    label_smoothing = step.label_smoothing
    cpu_kernel = step.cpu_kernel
    xp, tokens, lengths, enc_mask = on_device(params, batch.tokens, batch.lengths)
    N = tokens.shape[0]
    dtype = params["out_W"].dtype

    # Forward: q(z|x), a sample of z, p(x|z).
    mu, logvar, c_enc = encode_forward(params, config, tokens, enc_mask, step)
    eps = xp.asarray(draw_eps(rng, (N, config.latent_dim), eps), dtype=dtype)
    z, c_rep = ops.reparameterize_forward(mu, logvar, eps)
    inputs, targets, dec_mask = decoder_inputs(tokens, lengths, word_dropout, rng)
    logits, c_dec = decode_forward(params, config, z, inputs, dec_mask, step)
    rec, c_ce = ops.softmax_cross_entropy_forward(
        logits, targets, dec_mask, cpu_kernel, label_smoothing
    )
    threshold = step.kl_threshold / config.latent_dim  # Li et al.: target_kl / nz
    kl_objective, kl, kl_per_dim, c_kl = kl_term_forward(
        mu, logvar, free_bits, kl_threshold=threshold
    )
    loss = rec + beta * kl_objective

    # Backward, op by op in reverse.
    grads: dict = {}
    dlogits = ops.softmax_cross_entropy_backward(xp.asarray(1.0, dtype=dtype), c_ce)
    dz = decode_backward(dlogits, c_dec, config, grads)
    dmu, dlogvar = ops.reparameterize_backward(dz, c_rep)
    dmu_kl, dlogvar_kl = kl_term_backward(beta, c_kl)
    encode_backward(dmu + dmu_kl, dlogvar + dlogvar_kl, c_enc, grads)

    return loss_terms(loss, rec, kl_objective, kl, kl_per_dim, beta, dec_mask), grads
