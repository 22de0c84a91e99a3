"""The text VAE's config: the sizes of the RNN encoder-decoder it is made of
(``minivae.blocks.config``)."""

from minivae.blocks.config import CELLS, Z_MODES, ModelConfig

__all__ = ["CELLS", "Z_MODES", "ModelConfig"]
