"""The one place that decides between NumPy (CPU) and CuPy (GPU).

Ops never import numpy for array math; they ask the arrays which module they
live in (``xp = get_array_module(x)``), so one op runs unchanged on both.
"""

from __future__ import annotations

import sys

import numpy

_cupy = None
_cupy_checked = False
_gpu_usable: bool | None = None


def _import_cupy():
    """Return the cupy module, or None when it is not installed or cannot load."""
    global _cupy, _cupy_checked
    if not _cupy_checked:
        _cupy_checked = True
        try:
            import cupy  # noqa: PLC0415

            _cupy = cupy
        except Exception:  # ImportError, or a broken CUDA install
            _cupy = None
    return _cupy


class DeviceError(ValueError):
    """A device that was asked for and cannot be used (``--device gpu`` without a GPU)."""


def gpu_available() -> bool:
    """True when CuPy imports, sees a CUDA device, and can run one tiny kernel."""
    global _gpu_usable
    if _gpu_usable is None:
        cp = _import_cupy()
        _gpu_usable = False
        if cp is not None:
            try:
                if cp.cuda.is_available():
                    (cp.arange(4) * 2).sum().item()  # one real launch, not just a driver query
                    _gpu_usable = True
            except Exception:
                _gpu_usable = False
    return _gpu_usable


def get_array_module(*arrays):
    """The module (numpy or cupy) that owns ``arrays``; numpy when none is a CuPy array."""
    cp = sys.modules.get("cupy")  # no CuPy imported means no CuPy arrays exist
    if cp is not None:
        for a in arrays:
            if isinstance(a, cp.ndarray):
                return cp
    return numpy


def is_gpu_array(x) -> bool:
    return get_array_module(x) is not numpy


def to_numpy(x):
    """Copy an array (NumPy or CuPy) or scalar to a NumPy array on the host."""
    if is_gpu_array(x):
        return x.get()
    return numpy.asarray(x)


def resolve_device(device: str = "auto", quiet: bool = False) -> str:
    """Turn ``cpu | gpu | auto`` into ``cpu`` or ``gpu``.

    ``gpu`` without a usable CuPy + CUDA device is an error; ``auto`` falls back
    to the CPU and says so (unless ``quiet``).
    """
    if device not in ("cpu", "gpu", "auto"):
        raise DeviceError(f"device must be 'cpu', 'gpu' or 'auto', got {device!r}")
    if device == "cpu":
        return "cpu"
    if gpu_available():
        return "gpu"
    if device == "gpu":
        why = (
            "CuPy is not installed (pip install 'minivae[gpu]')"
            if _import_cupy() is None
            else "CuPy is installed but no usable CUDA device was found"
        )
        raise DeviceError(f"device 'gpu' was requested but {why}")
    if not quiet:
        print("minivae: no usable GPU found, running on the CPU (device=auto).", file=sys.stderr)
    return "cpu"


def xp_for(device: str):
    """The array module for a resolved device name."""
    return _import_cupy() if resolve_device(device, quiet=True) == "gpu" else numpy


def to_device(x, device: str):
    """Move a NumPy/CuPy array to ``device`` ('cpu' or 'gpu')."""
    if resolve_device(device, quiet=True) == "gpu":
        return _import_cupy().asarray(x)
    return to_numpy(x)


def make_rng(seed: int | None, device: str = "cpu"):
    """A seeded random generator of the device's module (``numpy.random.Generator`` or CuPy's)."""
    if resolve_device(device, quiet=True) == "gpu":
        return _import_cupy().random.default_rng(seed)
    return numpy.random.default_rng(seed)


def reuse_freed_memory() -> bool:
    """Let glibc keep freed large blocks for reuse instead of returning them to the OS.

    A training step creates and frees arrays of tens of MB (the (N, T, V) logits and their
    gradient). By default glibc maps each one fresh and unmaps it on free, so every step
    pays a page fault per 4 KB touched; raising the mmap and trim thresholds makes later
    steps reuse the same memory (about 10% of a PTB-sized CPU step). Returns False where
    this is not glibc. Called by the ``minivae`` command, not on import.
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if not sys.platform.startswith("linux") or not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
        return bool(
            libc.mallopt(M_MMAP_THRESHOLD, 1 << 30)
            and libc.mallopt(M_TRIM_THRESHOLD, (1 << 31) - 1)
        )
    except (OSError, AttributeError):
        return False
