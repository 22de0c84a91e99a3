"""Exporting a trained model to other frameworks: ``to_torch`` / ``from_torch`` (PyTorch).

PyTorch is optional and imported on first use of these names, so ``import minivae.export``
works without it; using them without PyTorch is an ImportError that says what to install.
"""

_TORCH_NAMES = ("TorchVAE", "from_torch", "run_masked", "to_torch")

__all__ = list(_TORCH_NAMES)


def __getattr__(name):
    if name in _TORCH_NAMES:
        from minivae.export import torch as torch_export

        return getattr(torch_export, name)
    raise AttributeError(f"module 'minivae.export' has no attribute {name!r}")
