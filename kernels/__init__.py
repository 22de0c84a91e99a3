"""Fused Numba kernels: the pointwise work of a step in one pass over memory."""
