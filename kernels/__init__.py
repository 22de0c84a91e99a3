"""Fused Numba kernels: work that NumPy would do in several sweeps, in one pass over memory.

- ``lstm_cpu``, ``lstm_cuda``: the LSTM cell's pointwise work, forward and backward;
  ``fused_lstm_pointwise(xp)`` gives the one for the array module ``xp`` (the CPU kernel for
  NumPy, the CUDA kernel for CuPy), or None where it cannot run.
- ``softmax_cpu``: softmax's exponentials and their sums (softmax cross-entropy).
- ``embedding_cpu``: the embedding gradient's scatter-add.
- ``adam_cpu``: Adam's update.

The ops take ``kernel="auto" | "fused" | "array"``; the array code in ``minivae.ops`` stays
the readable reference, and the tests check each kernel against it.
"""

from __future__ import annotations

import numpy


def fused_lstm_pointwise(xp):
    """-> (forward, backward, name) of the fused LSTM cell for ``xp``, or None."""
    if xp is numpy:
        from minivae_kernels.lstm_cpu import lstm_pointwise_backward, lstm_pointwise_forward

        return lstm_pointwise_forward, lstm_pointwise_backward, "fused-cpu (numba)"
    try:
        from numba import cuda

        if not cuda.is_available():
            return None
    except Exception:  # numba-cuda missing or broken: the array version still runs on CuPy
        return None
    from minivae_kernels.lstm_cuda import lstm_pointwise_backward_cuda, lstm_pointwise_forward_cuda

    return lstm_pointwise_forward_cuda, lstm_pointwise_backward_cuda, "fused-cuda (numba)"
