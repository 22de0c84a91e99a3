"""The exponentials of softmax cross-entropy in one Numba pass (CPU).

For each row of logits l (V entries) and its maximum m:  e_v = exp(l_v - m),  s = sum_v e_v.
The array version subtracts, exponentiates and sums in three sweeps over (N*T, V), each
through main memory (29 MB a sweep at a PTB-sized step); here one sweep reads l and
writes e, and the sum is taken on the way. exp is the vectorizable one of
kernels/lstm_cpu.py, about 1.7x faster than NumPy's here. The maximum is left to NumPy:
LLVM does not vectorize a max reduction that must keep NaN semantics.

Scoring (the importance-weighted NLL of ``minivae eval``) needs only the sums:
``exp_shifted_total`` writes no exponentials, which halves the sweep's memory traffic.
"""

from __future__ import annotations

import numpy as np
from minivae_kernels.lstm_cpu import CONSTANTS, _exp_split
from numba import njit

# The sum must be reassociated to vectorize (lane-wise partial sums): it then adds in a
# different order than a plain loop, as NumPy's pairwise sum also does.
OPTIONS = dict(fastmath={"nsz", "contract", "reassoc"}, error_model="numpy")


@njit(inline="always", **OPTIONS)
def _exp(y):
    s, p = _exp_split(y)
    return s * p + s


@njit(cache=True, **OPTIONS)
def _exp_shifted_rows(logits, row_max, exps, total):
    for r in range(logits.shape[0]):
        acc = total[r]  # zero on entry
        for v in range(logits.shape[1]):
            exps[r, v] = e = _exp(logits[r, v] - row_max[r])
            acc += e
        total[r] = acc


@njit(cache=True, **OPTIONS)
def _exp_shifted_row_sums(logits, row_max, total):
    for r in range(logits.shape[0]):
        acc = total[r]  # zero on entry
        for v in range(logits.shape[1]):
            acc += _exp(logits[r, v] - row_max[r])
        total[r] = acc


def _checked(logits, row_max):
    if logits.dtype not in CONSTANTS or row_max.dtype != logits.dtype:
        raise TypeError(f"exp_shifted_sum takes float32 or float64 arrays, got {logits.dtype}")
    if logits.ndim != 2 or row_max.shape != logits.shape[:1]:
        raise ValueError(
            f"logits (R, V) and row_max (R,) disagree: {logits.shape}, {row_max.shape}"
        )
    return np.ascontiguousarray(logits), np.ascontiguousarray(row_max)


def exp_shifted_total(logits, row_max):
    """logits: (R, V), row_max: (R,), float32 or float64
    -> total (R,) = exp(logits - row_max[:, None]).sum(axis=1), the exponentials not kept"""
    logits, row_max = _checked(logits, row_max)
    total = np.zeros(logits.shape[0], dtype=logits.dtype)
    _exp_shifted_row_sums(logits, row_max, total)
    return total


def exp_shifted_sum(logits, row_max):
    """logits: (R, V), row_max: (R,), float32 or float64
    -> exps (R, V) = exp(logits - row_max[:, None]), total (R,) = exps.sum(axis=1)"""
    logits, row_max = _checked(logits, row_max)
    exps = np.empty_like(logits)
    total = np.zeros(logits.shape[0], dtype=logits.dtype)
    _exp_shifted_rows(logits, row_max, exps, total)
    return exps, total
