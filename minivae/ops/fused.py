"""Where the fused Numba kernels (the top-level ``kernels/`` folder, installed as
``minivae_kernels``) come from: the one place the library imports them.

Each getter returns the kernel, or None where it cannot run: not installed beside this
package, or no kernel for these arrays. The callers then run their own array code, the
readable reference.

Only the kernels installed *with this package* count: ``minivae_kernels`` beside this
``minivae`` folder (the same site-packages, or the same source tree for an editable
install). A student's copy of an assignment (``minivae assignment make``) ships without
them, but a course's Python often has the full minivae installed: its kernels, which
compute what the student writes (the LSTM cell's kernel is ``lstm_pointwise_*``), would run
instead of the student's functions and every check would pass wrong code.
"""

from __future__ import annotations

import importlib
import importlib.util
from functools import cache
from pathlib import Path

import numpy

FUSED_DTYPES = ("float32", "float64")


@cache
def kernels_installed() -> bool:
    """Whether this package's own fused kernels can be imported: ``minivae_kernels`` found,
    and beside this ``minivae`` (a student's copy of an assignment, ``minivae assignment
    make``, ships without them, and must not borrow another installation's)."""
    try:
        spec = importlib.util.find_spec("minivae_kernels")
    except (ImportError, ValueError):
        return False
    if spec is None or spec.origin is None:
        return False
    ours = Path(__file__).resolve().parents[2]  # the folder holding minivae/
    return Path(spec.origin).resolve().parents[1] == ours


def has_fused_kernel(dtype) -> bool:
    """Whether the fused kernels are compiled for ``dtype`` (a dtype or a scalar type such
    as np.float32): float32 and float64 only."""
    return getattr(dtype, "name", getattr(dtype, "__name__", dtype)) in FUSED_DTYPES


def _kernel(module: str, name: str):
    if not kernels_installed():
        return None
    try:
        return getattr(importlib.import_module(f"minivae_kernels.{module}"), name)
    except ImportError:
        return None


def fused_lstm_pointwise(xp):
    """-> (forward, backward, name) of the fused LSTM cell for the array module ``xp``
    (the CPU kernel for NumPy, the CUDA kernel for CuPy), or None."""
    if not kernels_installed():
        return None
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
