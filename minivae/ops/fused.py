"""Where the fused Numba kernels (the top-level ``kernels/`` folder, installed as
``minivae_kernels``) come from: the one place the library imports them.

Each getter returns the kernel, or None where it cannot run: not installed (a student's
copy of the package ships without them), or no kernel for these arrays. The callers then
run their own array code, the readable reference.
"""

from __future__ import annotations

import importlib
import importlib.util
from functools import cache

import numpy

FUSED_DTYPES = ("float32", "float64")


@cache
def kernels_installed() -> bool:
    """Whether the fused kernels can be imported here (a student's copy of an assignment,
    ``minivae assignment make``, ships without them)."""
    return importlib.util.find_spec("minivae_kernels") is not None


def has_fused_kernel(dtype) -> bool:
    """Whether the fused kernels are compiled for ``dtype`` (a dtype or a scalar type such
    as np.float32): float32 and float64 only."""
    return getattr(dtype, "name", getattr(dtype, "__name__", dtype)) in FUSED_DTYPES


def _kernel(module: str, name: str):
    try:
        return getattr(importlib.import_module(f"minivae_kernels.{module}"), name)
    except ImportError:
        return None


def fused_lstm_pointwise(xp):
    """-> (forward, backward, name) of the fused LSTM cell for the array module ``xp``
    (the CPU kernel for NumPy, the CUDA kernel for CuPy), or None."""
    try:
        from minivae_kernels import fused_lstm_pointwise as pick
    except ImportError:
        return None
    return pick(xp)


def fused_exp_shifted_sum(xp):
    """-> the one-pass exp(logits - max) and row sums (NumPy only), or None."""
    return _kernel("softmax_cpu", "exp_shifted_sum") if xp is numpy else None


def fused_exp_shifted_total(xp):
    """-> the one-pass row sums of exp(logits - max), nothing else written (NumPy only), or
    None."""
    return _kernel("softmax_cpu", "exp_shifted_total") if xp is numpy else None


def fused_scatter_add_rows(xp):
    """-> the embedding gradient's scatter-add (NumPy only), or None."""
    return _kernel("embedding_cpu", "scatter_add_rows") if xp is numpy else None


def fused_adam_update(xp):
    """-> Adam's one-pass update (NumPy only), or None."""
    return _kernel("adam_cpu", "adam_update") if xp is numpy else None
