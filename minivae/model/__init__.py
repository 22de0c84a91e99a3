"""The text VAE: configuration, parameters, and the hand-written loss and gradients."""

from minivae.data.vocab import BOS, EOS, PAD, UNK
from minivae.interface import LossTerms
from minivae.model.config import ModelConfig
from minivae.model.params import count_params, init_params, param_shapes
from minivae.model.text_vae import TextVAE
from minivae.model.vae import (
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
    "TextVAE",
    "count_params",
    "decode_forward",
    "decoder_io",
    "encode_forward",
    "init_params",
    "loss_and_grads",
    "param_shapes",
]
