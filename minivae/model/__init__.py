"""The text VAE: configuration, parameters, and the hand-written loss and gradients."""

from minivae.model.config import ModelConfig
from minivae.model.params import count_params, init_params, param_shapes
from minivae.model.vae import (
    BOS,
    EOS,
    PAD,
    UNK,
    LossTerms,
    decode_forward,
    decoder_io,
    encode_forward,
    loss_and_grads,
)

__all__ = [
    "BOS",
    "EOS",
    "PAD",
    "UNK",
    "LossTerms",
    "ModelConfig",
    "count_params",
    "decode_forward",
    "decoder_io",
    "encode_forward",
    "init_params",
    "loss_and_grads",
    "param_shapes",
]
