"""Argument checks shared by the ops: a bad shape or dtype is a ValueError naming the argument."""

from __future__ import annotations

from minivae.backend import get_array_module


def check_ndim(name: str, x, ndim: int, layout: str) -> None:
    """Require ``x.ndim == ndim``; ``layout`` (e.g. ``"(N, T, D)"``) is shown in the message."""
    shape = getattr(x, "shape", None)
    if shape is None or len(shape) != ndim:
        raise ValueError(f"{name} must have shape {layout}, got shape {shape}")


def check_shape(name: str, x, expected: tuple, layout: str) -> None:
    """Require ``x.shape == expected``; ``layout`` names the axes in the message."""
    if tuple(getattr(x, "shape", ())) != tuple(expected):
        raise ValueError(
            f"{name} must have shape {layout} = {tuple(expected)}, got {getattr(x, 'shape', None)}"
        )


KERNELS = ("auto", "fused", "array")


def check_kernel(kernel: str) -> None:
    """An op's ``kernel``: "fused" (a Numba kernel from kernels/), "array" (the op's own
    array code, the readable reference) or "auto" (fused where one runs)."""
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {KERNELS}, got {kernel!r}")


def check_float(name: str, x) -> None:
    xp = get_array_module(x)
    if not xp.issubdtype(x.dtype, xp.floating):
        raise ValueError(f"{name} must be a floating-point array, got dtype {x.dtype}")


def check_int(name: str, x) -> None:
    xp = get_array_module(x)
    if not xp.issubdtype(x.dtype, xp.integer):
        raise ValueError(f"{name} must be an integer array, got dtype {x.dtype}")


def check_mask(name: str, mask, shape: tuple, layout: str = "(N, T)"):
    """Validate a (N, T) mask of real tokens and return it as a bool array (or None)."""
    if mask is None:
        return None
    check_shape(name, mask, shape, layout)
    xp = get_array_module(mask)
    if mask.dtype != xp.bool_:
        if not (xp.issubdtype(mask.dtype, xp.integer) or xp.issubdtype(mask.dtype, xp.floating)):
            raise ValueError(f"{name} must be a bool array, got dtype {mask.dtype}")
        mask = mask != 0
    return mask


def check_rnn_weights(D: int, Wx, Wh, b, gates: int) -> int:
    """Check (D, gH), (H, gH) and (gH,) weights of a cell with ``gates`` gates; return H."""
    check_float("Wx", Wx)
    if Wx.ndim != 2 or Wx.shape[0] != D or Wx.shape[1] % gates:
        raise ValueError(f"Wx must have shape (D={D}, {gates}H), got {Wx.shape}")
    H = Wx.shape[1] // gates
    check_shape("Wh", Wh, (H, gates * H), f"(H, {gates}H)")
    check_shape("b", b, (gates * H,), f"({gates}H,)")
    return H
