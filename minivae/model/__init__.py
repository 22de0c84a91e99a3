"""The text VAE: configuration, parameters, and the hand-written loss and gradients."""

from minivae.blocks.decoder import decode_forward
from minivae.blocks.encoder import encode_forward
from minivae.blocks.params import count_params, init_params, param_shapes
from minivae.blocks.sequence import decoder_io
from minivae.data.vocab import BOS, EOS, PAD, UNK
from minivae.interface import LossTerms
from minivae.model.config import ModelConfig
from minivae.model.text_vae import TextVAE
from minivae.model.vae import loss_and_grads

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
