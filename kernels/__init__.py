"""Fused Numba kernels: a step's pointwise work in one pass over memory.

``fused_lstm_pointwise(xp)`` gives the fused LSTM cell for the array module ``xp`` (the CPU
kernel for NumPy, the CUDA kernel for CuPy), or None where it cannot run.
"""

from __future__ import annotations

import numpy


def fused_lstm_pointwise(xp):
    """-> (forward, backward, name) of the fused LSTM cell for ``xp``, or None."""
    if xp is numpy:
        from kernels.lstm_cpu import lstm_pointwise_backward, lstm_pointwise_forward

        return lstm_pointwise_forward, lstm_pointwise_backward, "fused-cpu (numba)"
    try:
        from numba import cuda

        if not cuda.is_available():
            return None
    except Exception:  # numba-cuda missing or broken: the array version still runs on CuPy
        return None
    from kernels.lstm_cuda import lstm_pointwise_backward_cuda, lstm_pointwise_forward_cuda

    return lstm_pointwise_forward_cuda, lstm_pointwise_backward_cuda, "fused-cuda (numba)"
