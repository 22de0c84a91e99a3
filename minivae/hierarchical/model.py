"""The hierarchical VAE's loss and its gradient for every parameter, composed by hand.

    h = RNN(x)                                        the plain VAE's encoder RNN
    q(z1|x) = N(mu1, e^lv1),  [mu1, lv1] = h W1 + b1          (the plain VAE's heads)
    q(z2|x) = N(mu2, e^lv2),  [mu2, lv2] = h W2 + b2          (a second pair of heads)
    z1 = mu1 + e^(lv1/2) eps1,   z2 = mu2 + e^(lv2/2) eps2
    p(z2) = N(0, I)
    p(z1|z2) = N(pmu, e^plv),  [pmu, plv] = tanh(z2 W + b) W' + b'   (the prior network)
    p(x|z1): the plain VAE's decoder reading z1
    loss = -log p(x|z1) + beta * [KL(q(z1|x) || p(z1|z2)) + KL(q(z2|x) || N(0, I))]

per sentence, batch mean: one draw of (z1, z2) through both reparameterizations estimates
the negative ELBO

    -E_q[log p(x|z1)] + E_q(z2|x)[KL(q(z1|x) || p(z1|z2))] + KL(q(z2|x) || N(0, I)),

the KL of z1 analytic given the drawn z2 (its gradient reaches z2 through the prior network
and the second reparameterization, and so trains q(z2|x)).

**The model.** The multi-level VAE of Shen et al. 2019 ("Towards Generating Long and Coherent
Text with Multi-Level Latent Variable Models", ACL), with its flat LSTM decoder: generative
z2 -> z1 -> x, and mean-field inference q(z1|x) q(z2|x) from one encoder, whose ELBO is the
one above. Not the bottom-up q(z2|z1, x), nor the ladder VAE's top-down q(z1|z2, x)
(Sønderby et al. 2016), because:

- z2 reads x directly. In a bottom-up chain it sees x only through a noisy draw of z1, so
  the top layer is the first to carry nothing (the usual failure of deep VAEs, which the
  ladder VAE was built to fight with a second, top-down pass);
- both posteriors come from one pass of the encoder RNN, as two pairs of affine heads, and
  each layer's KL is the Gaussian KL op (``kl_term_forward``), for z1 with the learned prior;
- the price: q cannot say that z1 and z2 are correlated given x, which the true posterior
  may (p(z1|z2) couples them), so the bound can be looser than a structured q's. The
  importance-weighted NLL, which samples both layers, stays an estimate of the same log p(x).

**The decoder reads z1 alone**, as in Shen et al.: whatever z2 says about x it says through
z1, so z2 is a learned, structured prior over z1 (a continuous mixture of Gaussians), not a
second code. That keeps the ELBO exactly as written above and the decoder, reconstruction
and interpolation in z1 the plain VAE's, and it makes the top layer's use an honest
measurement: z2 carries information only when a prior that moves with z2 saves more KL on
z1 than z2's own KL costs. Feeding [z1; z2] would hand z2 a direct path to the decoder and
make it a second flat code, which says nothing about whether the hierarchy helps.

The forward pass keeps every op's cache; the backward pass walks them in reverse.
"""

from __future__ import annotations

from minivae import ops
from minivae.blocks.decoder import decode_backward, decode_forward
from minivae.blocks.encoder import (
    RNNReader,
    embedding_names,
    rnn_encoder_backward,
    rnn_encoder_forward,
)
from minivae.blocks.latent import kl_term_backward, kl_term_forward, prior_backward, prior_forward
from minivae.blocks.sequence import decoder_inputs, draw_eps, on_device
from minivae.hierarchical.config import HVAEConfig
from minivae.interface import LossTerms, Step

# The heads of each layer's q on the encoder state: mean weight and bias, log-variance
# weight and bias. z1's are the plain VAE's.
HEADS = {
    "z1": ("mu_W", "mu_b", "logvar_W", "logvar_b"),
    "z2": ("z2_mu_W", "z2_mu_b", "z2_logvar_W", "z2_logvar_b"),
}


def encode_forward(params, config: HVAEConfig, tokens, mask, step: Step | None = None):
    """tokens, mask: (N, T)  ->  {layer: (mu, logvar)}: (N, Z1) for z1, (N, Z2) for z2; cache

    step: the kernels, and the dropout on the embeddings as in the plain VAE's encoder
    (training only; masks from ``step.rng``).
    """
    enc_name = embedding_names(config.decoder_config)[0]
    reader = RNNReader(config.cell, enc_name, "enc")
    h, c_enc = rnn_encoder_forward(params, reader, tokens, mask, step)
    layers, caches = {}, {}
    for layer, (mu_W, mu_b, lv_W, lv_b) in HEADS.items():
        mu, c_mu = ops.affine_forward(h, params[mu_W], params[mu_b])
        logvar, c_lv = ops.affine_forward(h, params[lv_W], params[lv_b])
        layers[layer], caches[layer] = (mu, logvar), (c_mu, c_lv)
    return layers, (c_enc, caches)


def encode_backward(dlayers: dict, cache, grads: dict) -> None:
    """dlayers: {layer: (dmu, dlogvar)}; the heads' and the encoder's gradients go into
    ``grads`` (the encoder state feeds all four heads: their gradients add up)."""
    c_enc, caches = cache
    dh = 0.0
    for layer, (dmu, dlogvar) in dlayers.items():
        mu_W, mu_b, lv_W, lv_b = HEADS[layer]
        c_mu, c_lv = caches[layer]
        dh_mu, grads[mu_W], grads[mu_b] = ops.affine_backward(dmu, c_mu)
        dh_lv, grads[lv_W], grads[lv_b] = ops.affine_backward(dlogvar, c_lv)
        dh = dh + dh_mu + dh_lv
    rnn_encoder_backward(dh, c_enc, grads)


def loss_and_grads(params, batch, config: HVAEConfig, step: Step | None = None):
    """The negative two-layer ELBO (KL weight ``step.beta`` on both layers) of a batch and its
    gradient.

    batch: ``tokens`` (N, T) int padded with PAD and ``lengths`` (N,)
    step.eps: (N, Z1 + Z2) noise for the two reparameterizations (z1's first); drawn from ``rng``
    when None
    step.free_bits: nats per latent dimension, in each layer, below which its KL is not pushed
    down: each layer's objective is sum_j max(free_bits, KL_j) on its own
    step.kl_threshold: Li et al. 2019's threshold, nats over all Z1 + Z2 dimensions: each
    sentence's KL of a dimension of either layer counts only where it exceeds
    kl_threshold / (Z1 + Z2)
    step.kernel, dropout: as for the plain VAE's ``loss_and_grads``
    step.label_smoothing: as for the plain VAE's ``loss_and_grads``
    -> (LossTerms with extra["kl_z1"], extra["kl_z2"], grads: {name: array like params[name]})
    """
    step = Step() if step is None else step
    beta, eps, rng = step.beta, step.eps, step.rng
    word_dropout, free_bits = step.word_dropout, step.free_bits
    label_smoothing = step.label_smoothing
    cpu_kernel = step.cpu_kernel
    xp, tokens, lengths, enc_mask = on_device(params, batch.tokens, batch.lengths)
    N = tokens.shape[0]
    dtype = params["out_W"].dtype
    Z1, Z2 = config.latent_dim, config.latent_dim2
    decoder = config.decoder_config

    # Forward: q(z1|x), q(z2|x), a draw of each, p(z1|z2), p(x|z1), the two KL terms.
    q, c_enc = encode_forward(params, config, tokens, enc_mask, step)
    (mu1, lv1), (mu2, lv2) = q["z1"], q["z2"]
    eps = xp.asarray(draw_eps(rng, (N, Z1 + Z2), eps), dtype=dtype)
    z1, c_rep1 = ops.reparameterize_forward(mu1, lv1, eps[:, :Z1])
    z2, c_rep2 = ops.reparameterize_forward(mu2, lv2, eps[:, Z1:])
    prior_mu, prior_logvar, c_prior = prior_forward(params, z2)
    inputs, targets, dec_mask = decoder_inputs(tokens, lengths, word_dropout, rng)
    logits, c_dec = decode_forward(params, decoder, z1, inputs, dec_mask, step)
    rec, c_ce = ops.softmax_cross_entropy_forward(
        logits, targets, dec_mask, cpu_kernel, label_smoothing
    )
    lam = step.kl_threshold / (Z1 + Z2)  # Li et al.'s target_kl / nz, over both layers
    obj1, kl1, kl_dim1, c_kl1 = kl_term_forward(mu1, lv1, free_bits, prior_mu, prior_logvar, lam)
    obj2, kl2, kl_dim2, c_kl2 = kl_term_forward(mu2, lv2, free_bits, kl_threshold=lam)
    loss = rec + beta * (obj1 + obj2)

    # Backward, op by op in reverse.
    grads: dict = {}
    dlogits = ops.softmax_cross_entropy_backward(xp.asarray(1.0, dtype=dtype), c_ce)
    dz1 = decode_backward(dlogits, c_dec, decoder, grads)
    dmu1, dlv1 = ops.reparameterize_backward(dz1, c_rep1)
    dmu1_kl, dlv1_kl, dprior_mu, dprior_logvar = kl_term_backward(beta, c_kl1)
    dz2 = prior_backward(dprior_mu, dprior_logvar, c_prior, grads)  # z2 -> p(z1|z2) -> KL
    dmu2, dlv2 = ops.reparameterize_backward(dz2, c_rep2)
    dmu2_kl, dlv2_kl = kl_term_backward(beta, c_kl2)
    dq = {"z1": (dmu1 + dmu1_kl, dlv1 + dlv1_kl), "z2": (dmu2 + dmu2_kl, dlv2 + dlv2_kl)}
    encode_backward(dq, c_enc, grads)

    terms = LossTerms(
        loss=float(loss),
        rec=float(rec),
        kl=float((kl1 + kl2).mean()),
        kl_objective=float(obj1 + obj2),
        beta=float(beta),
        num_tokens=int(dec_mask.sum()),
        kl_per_dim=xp.concatenate([kl_dim1, kl_dim2]),
        extra={"kl_z1": float(kl1.mean()), "kl_z2": float(kl2.mean())},
    )
    return terms, grads
