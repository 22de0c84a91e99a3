"""minivae: a text variational autoencoder written from scratch in array code.

``minivae.load(path)`` gives a trained model to use from Python (see ``minivae.api``).
"""

__version__ = "0.1.0"


def __getattr__(name):
    # Loaded on first use: ``import minivae`` stays light (no NumPy, Numba, matplotlib).
    if name in ("load", "Model"):
        from minivae import api

        return getattr(api, name)
    raise AttributeError(f"module 'minivae' has no attribute {name!r}")
