"""minivae: a text variational autoencoder written from scratch in array code."""

__version__ = "0.1.0"
