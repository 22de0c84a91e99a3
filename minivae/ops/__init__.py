"""The hand-written operations: each a ``*_forward -> (out, cache)`` / ``*_backward`` pair."""

from minivae.ops.activations import sigmoid, tanh_backward, tanh_forward
from minivae.ops.affine import affine_backward, affine_forward
from minivae.ops.attention import (
    additive_attention_backward,
    additive_attention_forward,
    additive_attention_step_backward,
    additive_attention_step_forward,
    attend_backward,
    attend_forward,
    attention_keys_backward,
    attention_keys_forward,
    bilinear_attention_backward,
    bilinear_attention_forward,
)
from minivae.ops.dropout import dropout_backward, dropout_forward
from minivae.ops.embedding import embedding_backward, embedding_forward
from minivae.ops.free_bits import free_bits_backward, free_bits_forward
from minivae.ops.gaussian_kl import gaussian_kl_backward, gaussian_kl_forward
from minivae.ops.gru import gru_backward, gru_forward, gru_step_backward, gru_step_forward
from minivae.ops.kl_threshold import kl_threshold_backward, kl_threshold_forward
from minivae.ops.log_density import log_normal
from minivae.ops.lstm import (
    lstm_backward,
    lstm_forward,
    lstm_pointwise_backward,
    lstm_pointwise_forward,
    lstm_step_backward,
    lstm_step_forward,
)
from minivae.ops.reparameterize import reparameterize_backward, reparameterize_forward
from minivae.ops.softmax_cross_entropy import (
    affine_target_log_probs,
    log_softmax,
    logsumexp,
    softmax_cross_entropy_backward,
    softmax_cross_entropy_forward,
    target_log_probs,
)
from minivae.ops.weight_decay import l2_penalty_backward, l2_penalty_forward
from minivae.ops.word_dropout import word_dropout

__all__ = [
    "affine_target_log_probs",
    "additive_attention_backward",
    "additive_attention_forward",
    "additive_attention_step_backward",
    "additive_attention_step_forward",
    "affine_backward",
    "affine_forward",
    "dropout_backward",
    "dropout_forward",
    "attend_backward",
    "attend_forward",
    "attention_keys_backward",
    "attention_keys_forward",
    "bilinear_attention_backward",
    "bilinear_attention_forward",
    "embedding_backward",
    "embedding_forward",
    "free_bits_backward",
    "free_bits_forward",
    "gaussian_kl_backward",
    "gaussian_kl_forward",
    "gru_backward",
    "gru_forward",
    "gru_step_backward",
    "gru_step_forward",
    "kl_threshold_backward",
    "kl_threshold_forward",
    "l2_penalty_backward",
    "l2_penalty_forward",
    "log_normal",
    "log_softmax",
    "logsumexp",
    "lstm_backward",
    "lstm_forward",
    "lstm_pointwise_backward",
    "lstm_pointwise_forward",
    "lstm_step_backward",
    "lstm_step_forward",
    "reparameterize_backward",
    "reparameterize_forward",
    "sigmoid",
    "softmax_cross_entropy_backward",
    "softmax_cross_entropy_forward",
    "tanh_backward",
    "target_log_probs",
    "tanh_forward",
    "word_dropout",
]
