"""The text VAE's loss and its gradient for every parameter, composed from the ops by hand.

    embed -> encoder RNN -> (mu, logvar) -> z = mu + exp(logvar/2) eps -> decoder RNN -> softmax
    loss = E_q[-log p(x|z)] + beta * KL(q(z|x) || N(0, I))        (per sentence, batch mean)

The forward pass keeps every op's cache; the backward pass walks them in reverse.
"""

from __future__ import annotations

from minivae import ops
from minivae.backend import get_array_module
from minivae.data.vocab import BOS, EOS, PAD, UNK
from minivae.interface import loss_terms
from minivae.model.config import ModelConfig
from minivae.model.latent import kl_term_backward, kl_term_forward
from minivae.model.rnn import rnn_backward, rnn_forward


def on_device(params, tokens, lengths):
    """A batch's token ids and lengths as arrays of the parameters' module, and the mask of
    real tokens.  -> xp, tokens (N, T), lengths (N,), mask (N, T)"""
    xp = get_array_module(params["out_W"])
    tokens, lengths = xp.asarray(tokens), xp.asarray(lengths)
    return xp, tokens, lengths, xp.arange(tokens.shape[1])[None, :] < lengths[:, None]


def decoder_io(tokens, lengths):
    """Teacher forcing: the decoder reads <bos> w1 .. wL and predicts w1 .. wL <eos>.

    tokens: (N, T) padded with PAD, lengths: (N,)
    -> inputs (N, T+1), targets (N, T+1), mask (N, T+1) (True at the L+1 predicted positions)
    """
    xp = get_array_module(tokens)
    N, T = tokens.shape
    inputs = xp.full((N, T + 1), PAD, dtype=tokens.dtype)
    inputs[:, 0] = BOS
    inputs[:, 1:] = tokens
    targets = xp.full((N, T + 1), PAD, dtype=tokens.dtype)
    targets[:, :T] = tokens
    targets[xp.arange(N), lengths] = EOS
    mask = xp.arange(T + 1)[None, :] <= lengths[:, None]
    return inputs, targets, mask


def decoder_inputs(tokens, lengths, word_dropout: float = 0.0, rng=None):
    """``decoder_io`` with word dropout (Bowman et al. 2016) on the words read: each becomes
    <unk> with probability ``word_dropout`` (<bos> stays).  -> inputs, targets, mask"""
    inputs, targets, mask = decoder_io(tokens, lengths)
    if word_dropout > 0:
        if rng is None:
            raise ValueError("word dropout needs an rng")
        droppable = mask.copy()
        droppable[:, 0] = False  # keep <bos>; inputs 1..L are the words
        inputs = ops.word_dropout(inputs, word_dropout, rng, UNK, mask=droppable)
    return inputs, targets, mask


def draw_eps(rng, shape, eps=None):
    """The reparameterization's noise: ``eps`` when given (a gradient check fixes it), else
    a draw from ``rng``."""
    if eps is not None:
        return eps
    if rng is None:
        raise ValueError("loss_and_grads needs eps or an rng to draw it from")
    return rng.standard_normal(shape)


def embedding_names(config: ModelConfig):
    """-> (the encoder's embedding table's name, the decoder's): one shared table or two."""
    if config.share_embeddings:
        return "embed", "embed"
    return "enc_embed", "dec_embed"


def rnn_encoder_forward(
    params,
    cell: str,
    embed_name: str,
    prefix: str,
    tokens,
    mask,
    kernel: str = "auto",
    dropout: float = 0.0,
    rng=None,
):
    """Embed and read a padded batch of sentences with an RNN whose weights are ``{prefix}_*``.

    tokens, mask: (N, T)  ->  h_last (N, H), the state after each sentence's last word; cache.
    The VAE's encoder uses it for x; the conditional VAE also for its source sentence.
    dropout: the rate of dropout on the embeddings (training only; masks drawn from ``rng``).
    """
    xp = get_array_module(params[f"{prefix}_Wh"])
    emb, c_emb = ops.embedding_forward(tokens, params[embed_name], kernel)
    emb, c_drop = ops.dropout_forward(emb, dropout, rng)
    h0 = xp.zeros((tokens.shape[0], params[f"{prefix}_Wh"].shape[0]), dtype=emb.dtype)
    h, c_rnn = rnn_forward(cell, emb, h0, params, prefix, mask, kernel)
    # Padded steps carry the state, so h[:, -1] is after each sentence's last real word.
    return h[:, -1], (c_emb, c_drop, c_rnn, h.shape, cell, embed_name, prefix)


def rnn_encoder_backward(dh_last, cache, grads: dict) -> None:
    """dh_last: (N, H); the RNN's and the embedding's gradients go into ``grads``."""
    c_emb, c_drop, c_rnn, h_shape, cell, embed_name, prefix = cache
    xp = get_array_module(dh_last)
    dh = xp.zeros(h_shape, dtype=dh_last.dtype)
    dh[:, -1] = dh_last
    demb, _, dw = rnn_backward(cell, dh, c_rnn, prefix)
    grads.update(dw)
    demb = ops.dropout_backward(demb, c_drop)
    grads[embed_name] = ops.embedding_backward(demb, c_emb, dW=grads.get(embed_name))


def encode_forward(
    params, config: ModelConfig, tokens, mask, kernel: str = "auto", dropout=0.0, rng=None
):
    """tokens, mask: (N, T)  ->  mu (N, Z), logvar (N, Z), cache"""
    enc_name, _ = embedding_names(config)
    h_last, c_enc = rnn_encoder_forward(
        params, config.cell, enc_name, "enc", tokens, mask, kernel, dropout, rng
    )
    mu, c_mu = ops.affine_forward(h_last, params["mu_W"], params["mu_b"])
    logvar, c_lv = ops.affine_forward(h_last, params["logvar_W"], params["logvar_b"])
    return mu, logvar, (c_enc, c_mu, c_lv)


def encode_backward(dmu, dlogvar, cache, grads: dict):
    """dmu, dlogvar: (N, Z); the encoder's gradients go into ``grads``."""
    c_enc, c_mu, c_lv = cache
    dh_last, grads["mu_W"], grads["mu_b"] = ops.affine_backward(dmu, c_mu)
    dh_last2, grads["logvar_W"], grads["logvar_b"] = ops.affine_backward(dlogvar, c_lv)
    rnn_encoder_backward(dh_last + dh_last2, c_enc, grads)


def decode_forward(
    params, config: ModelConfig, z, inputs, mask, kernel: str = "auto", dropout=0.0, rng=None
):
    """z: (N, Z), inputs, mask: (N, T+1)  ->  logits (N, T+1, V), cache

    dropout: the rate of dropout on the input embeddings and on the RNN's outputs (training
    only; masks drawn from ``rng``).
    """
    xp = get_array_module(z)
    _, dec_name = embedding_names(config)
    N, T1 = inputs.shape
    x, c_emb = ops.embedding_forward(inputs, params[dec_name], kernel)
    x, c_drop_in = ops.dropout_forward(x, dropout, rng)
    if config.z_concat:
        x = xp.concatenate([x, xp.broadcast_to(z[:, None, :], (N, T1, z.shape[1]))], axis=2)
    c_init = None
    if config.z_init:
        a, c_aff = ops.affine_forward(z, params["z_to_h_W"], params["z_to_h_b"])
        h0, c_tanh = ops.tanh_forward(a)
        c_init = (c_aff, c_tanh)
    else:
        h0 = xp.zeros((N, config.hidden_dim), dtype=z.dtype)
    h, c_rnn = rnn_forward(config.cell, x, h0, params, "dec", mask, kernel)
    h, c_drop_out = ops.dropout_forward(h, dropout, rng)
    logits, c_out = ops.affine_forward(h, params["out_W"], params["out_b"])
    return logits, (c_emb, c_drop_in, c_init, c_rnn, c_drop_out, c_out)


def decode_backward(dlogits, cache, config: ModelConfig, grads: dict):
    """-> dz (N, Z); parameter gradients go into ``grads``."""
    c_emb, c_drop_in, c_init, c_rnn, c_drop_out, c_out = cache
    dh, grads["out_W"], grads["out_b"] = ops.affine_backward(dlogits, c_out)
    dh = ops.dropout_backward(dh, c_drop_out)
    dx, dh0, dw = rnn_backward(config.cell, dh, c_rnn, "dec")
    grads.update(dw)
    E = config.embed_dim
    dz = 0.0
    if config.z_concat:
        dz = dx[:, :, E:].sum(axis=1)  # z was copied to every step: its gradients add up
        dx = dx[:, :, :E]
    if config.z_init:
        c_aff, c_tanh = c_init
        da = ops.tanh_backward(dh0, c_tanh)
        dz_init, grads["z_to_h_W"], grads["z_to_h_b"] = ops.affine_backward(da, c_aff)
        dz = dz + dz_init
    name = embedding_names(config)[1]
    dx = ops.dropout_backward(dx, c_drop_in)
    grads[name] = ops.embedding_backward(dx, c_emb, dW=grads.get(name))
    return dz


def loss_and_grads(
    params,
    batch,
    config: ModelConfig,
    beta: float = 1.0,
    eps=None,
    rng=None,
    word_dropout: float = 0.0,
    free_bits: float = 0.0,
    kernel: str = "auto",
    dropout: float = 0.0,
    label_smoothing: float = 0.0,
):
    """The negative ELBO (with KL weight ``beta``) of a batch and its gradient.

    batch: has ``tokens`` (N, T) int padded with PAD and ``lengths`` (N,)
    eps: (N, Z) noise for the reparameterization; drawn from ``rng`` when None
    free_bits: nats per latent dimension below which the KL is not pushed down
    (Kingma et al. 2016): the objective uses sum_j max(free_bits, KL_j), KL_j the batch mean.
    kernel: "auto" | "fused" | "array": the fused Numba kernels (kernels/) or the array code
    for the LSTM cell, the softmax's exponentials and the embedding gradient. "fused" insists
    on the fused LSTM cell (an error where none runs, see ``ops.lstm.select_pointwise``); the
    other two have CPU kernels only and run fused wherever they can, as with "auto".
    dropout: the rate of dropout on the encoder's and decoder's embeddings and the decoder's
    RNN outputs (Srivastava et al. 2014), masks drawn from ``rng``.
    label_smoothing: the target distribution (1 - eps) onehot + eps / V over each word
    (Szegedy et al. 2016; ``ops.softmax_cross_entropy_forward``), 0: the plain ELBO
    -> (LossTerms, grads: {name: array like params[name]})
    """
    cpu_kernel = "array" if kernel == "array" else "auto"  # softmax and embedding (see above)
    xp, tokens, lengths, enc_mask = on_device(params, batch.tokens, batch.lengths)
    N = tokens.shape[0]
    dtype = params["out_W"].dtype

    # Forward: q(z|x), a sample of z, p(x|z).
    mu, logvar, c_enc = encode_forward(params, config, tokens, enc_mask, kernel, dropout, rng)
    eps = xp.asarray(draw_eps(rng, (N, config.latent_dim), eps), dtype=dtype)
    z, c_rep = ops.reparameterize_forward(mu, logvar, eps)
    inputs, targets, dec_mask = decoder_inputs(tokens, lengths, word_dropout, rng)
    logits, c_dec = decode_forward(params, config, z, inputs, dec_mask, kernel, dropout, rng)
    rec, c_ce = ops.softmax_cross_entropy_forward(
        logits, targets, dec_mask, cpu_kernel, label_smoothing
    )
    kl_objective, kl, kl_per_dim, c_kl = kl_term_forward(mu, logvar, free_bits)
    loss = rec + beta * kl_objective

    # Backward, op by op in reverse.
    grads: dict = {}
    dlogits = ops.softmax_cross_entropy_backward(xp.asarray(1.0, dtype=dtype), c_ce)
    dz = decode_backward(dlogits, c_dec, config, grads)
    dmu, dlogvar = ops.reparameterize_backward(dz, c_rep)
    dmu_kl, dlogvar_kl = kl_term_backward(beta, c_kl)
    encode_backward(dmu + dmu_kl, dlogvar + dlogvar_kl, c_enc, grads)

    return loss_terms(loss, rec, kl_objective, kl, kl_per_dim, beta, dec_mask), grads
