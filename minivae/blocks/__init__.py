"""Model building blocks, shared by every model family: the RNN cells over a sequence, the
encoder and decoder, the Gaussian latent layer with its prior and recognition networks, the
bag-of-words loss, parameter tables and step-by-step decoding. They import ops and the
backend, never a model family (docs/architecture.md)."""
