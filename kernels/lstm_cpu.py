"""The LSTM cell's pointwise work fused into one Numba kernel per direction (CPU).

The array version (``minivae.ops.lstm``) makes about fifteen passes over memory per
direction, one NumPy call each, every one allocating a temporary. Here each batch row is
finished while it sits in the core's cache: a few short loops over its 4H gate
pre-activations and H cells, reading every input once and writing every output once.

The catch is the nonlinearities. ``math.exp`` and ``math.tanh`` in a Numba loop are calls
into the C library, one element at a time, while NumPy's ``tanh`` runs 8 or 16 lanes per
instruction: a naive fused loop is *slower* than the array version. So ``exp`` is written
out here in plain arithmetic the compiler can vectorize,

    e^y = 2^k e^r,   k = round(y / ln 2),   r = y - k ln 2  (|r| <= ln2 / 2),

with e^r - 1 from its Taylor polynomial and 2^k built directly from its bits. sigmoid and
tanh both come from ``e^-|x|`` (never overflows), and e^r - 1 is kept apart from the 1 so
that tanh of a tiny x stays accurate relative to itself. Accuracy: a few units in the last
place, like NumPy's own functions (checked in tests/kernels/test_kernels.py).

Same contract as the array functions, plus optional ``out=`` buffers:
    lstm_pointwise_forward(a (N, 4H), prev_c (N, H)) -> next_h, next_c, gates (N, 4H), tanh_c
    lstm_pointwise_backward(dnext_h, dnext_c, prev_c, gates, tanh_c) -> da (N, 4H), dprev_c
float32 and float64; strided inputs are copied to contiguous ones first (strided loops do
not vectorize).
By default the kernels run on the calling thread; with ``parallel=True`` the rows (batch
items) are spread over Numba's threads (``numba.set_num_threads``): see the note above them.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from llvmlite import ir
from numba import njit, prange
from numba.extending import intrinsic, overload
from numba.np.numpy_support import as_dtype

# Of fastmath's licences only these two: fused multiply-add and ignoring the sign of zero.
# Vectorizing a pointwise loop needs none of them; 'reassoc' (in fastmath=True) was measured
# ~10% faster in float32 but may fold (y - k ln2_hi) - k ln2_lo into y - k ln2, the very
# rounding error the split exists to avoid (2e-15 relative error instead of 1e-16 in exp).
FASTMATH = {"nsz", "contract"}


class MathConstants(NamedTuple):
    """Constants of one float type, typed as that float: a Python float literal would
    silently promote float32 math to float64 and halve the vector width."""

    zero: float
    one: float
    two: float
    half: float
    log2e: float
    ln2_hi: float  # ln 2 split in two: k * ln2_hi is exact for the k that occur
    ln2_lo: float
    lowest: float  # e^y for y < lowest is 0 (it underflows)
    exponent_bias: float
    mantissa_scale: float  # 2^(mantissa bits): moves an exponent into its bit field
    taylor: tuple  # 1/1!, 1/2!, ..., enough terms for the type's precision on |r| <= ln2/2


def _constants(dtype, ln2_hi, ln2_lo, lowest, bias, mantissa_bits, terms) -> MathConstants:
    c = np.dtype(dtype).type
    return MathConstants(
        c(0),
        c(1),
        c(2),
        c(0.5),
        c(1 / math.log(2)),
        c(ln2_hi),
        c(ln2_lo),
        c(lowest),
        c(bias),
        c(2.0**mantissa_bits),
        tuple(c(1 / math.factorial(k)) for k in range(1, terms + 1)),
    )


# The error of the polynomial, r^(terms+1) / (terms+1)!, is below half an ulp at |r| = ln2/2.
CONSTANTS = {
    np.dtype(np.float64): _constants(
        np.float64, 0.6931471803691238, 1.9082149292705877e-10, -708.0, 1023, 52, 12
    ),
    np.dtype(np.float32): _constants(
        np.float32, 0.693145751953125, 1.428606765330187e-06, -87.0, 127, 23, 7
    ),
}


def _constants_of(x):
    """The MathConstants of x's float type (usable inside jitted code only)."""
    raise NotImplementedError("only callable from Numba-compiled code")


@overload(_constants_of, inline="always")
def _constants_of_impl(x):
    K = CONSTANTS[np.dtype(as_dtype(x))]  # chosen at compile time, frozen into the code
    return lambda x: K


@intrinsic
def _float_with_bits(typingctx, x):
    """The float whose bit pattern is the integer held (exactly) in the float x:
    float64 -> int64 -> same 64 bits read as float64 (float32 through int32)."""
    width = x.bitwidth

    def codegen(context, builder, signature, args):
        bits = builder.fptosi(args[0], ir.IntType(width))
        return builder.bitcast(bits, ir.DoubleType() if width == 64 else ir.FloatType())

    return x(x), codegen


@njit(fastmath=FASTMATH, inline="always")
def _exp_split(y):
    """e^y = s + s * p with s = 2^k and p = e^r - 1, for y <= 0. Returns (s, p)."""
    K = _constants_of(y)
    underflow = y < K.lowest
    y = max(y, K.lowest)
    k = np.floor(y * K.log2e + K.half)  # np.floor keeps the float type; math.floor gives int
    r = (y - k * K.ln2_hi) - k * K.ln2_lo
    p = K.taylor[-1]
    for m in range(len(K.taylor) - 2, -1, -1):  # Horner: r (1/1! + r (1/2! + r (...)))
        p = K.taylor[m] + r * p
    p = r * p
    # 2^k: the biased exponent k + bias in the exponent field, a zero mantissa.
    s = _float_with_bits((k + K.exponent_bias) * K.mantissa_scale)
    if underflow:  # e^y rounds to 0 (a select, not a branch, once vectorized)
        s = K.zero
    return s, p


@njit(fastmath=FASTMATH, inline="always")
def _sigmoid(x):
    """1 / (1 + e^-x), through e = e^-|x| in (0, 1]: s = 1 / (1 + e) is sigma(|x|)."""
    K = _constants_of(x)
    s_, p_ = _exp_split(-abs(x))
    e = s_ * p_ + s_
    s = K.one / (K.one + e)
    return s if x >= 0 else e * s  # sigma(-|x|) = 1 - sigma(|x|) = e sigma(|x|)


@njit(fastmath=FASTMATH, inline="always")
def _tanh(x):
    """tanh|x| = (1 - e) / (1 + e) = -m / (2 + m), e = e^-2|x|, m = e - 1 (no cancellation)."""
    K = _constants_of(x)
    s_, p_ = _exp_split(-K.two * abs(x))
    m = s_ * p_ + (s_ - K.one)
    t = -m / (K.two + m)
    return t if x >= 0 else -t


# error_model="numpy": a division by zero gives inf instead of raising, so there is no
# zero test per element, which would stop LLVM from vectorizing the loops.
KERNEL_OPTIONS = dict(fastmath=FASTMATH, error_model="numpy")


# The loops below run on 1-D rows in functions of their own (not inlined): LLVM vectorizes
# a simple loop over contiguous 1-D arrays reliably, while the same work written on 2-D
# indices inside one big loop stayed scalar or half-vectorized (measured 2-6x slower).
@njit(**KERNEL_OPTIONS)
def _sigmoid_into(x, out):
    for j in range(x.size):
        out[j] = _sigmoid(x[j])


@njit(**KERNEL_OPTIONS)
def _tanh_into(x, out):
    for j in range(x.size):
        out[j] = _tanh(x[j])


@njit(**KERNEL_OPTIONS)
def _cell_row(i, f, g, o, prev_c, next_h, next_c, tanh_c):
    for j in range(prev_c.size):
        c = f[j] * prev_c[j] + i[j] * g[j]
        t = _tanh(c)
        next_c[j] = c
        tanh_c[j] = t
        next_h[j] = o[j] * t


@njit(inline="always", **KERNEL_OPTIONS)
def _gate_blocks(row, H):
    """A row of 4H gate values -> its [i, f, g, o] blocks of H, as views."""
    return row[:H], row[H : 2 * H], row[2 * H : 3 * H], row[3 * H :]


@njit(inline="always", **KERNEL_OPTIONS)
def _forward_row(a, prev_c, next_h, next_c, gates, tanh_c, n):
    """Row n of the forward: the gates [i, f | g | o], then the cell."""
    H = prev_c.shape[1]
    _sigmoid_into(a[n, : 2 * H], gates[n, : 2 * H])
    _tanh_into(a[n, 2 * H : 3 * H], gates[n, 2 * H : 3 * H])
    _sigmoid_into(a[n, 3 * H :], gates[n, 3 * H :])
    i, f, g, o = _gate_blocks(gates[n], H)
    _cell_row(i, f, g, o, prev_c[n], next_h[n], next_c[n], tanh_c[n])


@njit(**KERNEL_OPTIONS)
def _backward_cell_row(
    i, f, g, o, dnext_h, dnext_c, prev_c, tanh_c, da_i, da_f, da_g, da_o, dprev_c
):
    one = _constants_of(tanh_c[0]).one  # 1 typed as the row's floats (only the type is read)
    for j in range(prev_c.size):
        t = tanh_c[j]
        dh = dnext_h[j]
        dc = dnext_c[j] + dh * o[j] * (one - t * t)
        da_i[j] = dc * g[j] * i[j] * (one - i[j])
        da_f[j] = dc * prev_c[j] * f[j] * (one - f[j])
        da_g[j] = dc * i[j] * (one - g[j] * g[j])
        da_o[j] = dh * t * o[j] * (one - o[j])
        dprev_c[j] = dc * f[j]


@njit(inline="always", **KERNEL_OPTIONS)
def _backward_row(dnext_h, dnext_c, prev_c, gates, tanh_c, da, dprev_c, n):
    H = prev_c.shape[1]
    i, f, g, o = _gate_blocks(gates[n], H)
    da_i, da_f, da_g, da_o = _gate_blocks(da[n], H)
    _backward_cell_row(
        i, f, g, o, dnext_h[n], dnext_c[n], prev_c[n], tanh_c[n], da_i, da_f, da_g, da_o, dprev_c[n]
    )


# Each kernel twice: on the calling thread, and with rows spread over Numba's threads.
# Inside a training step the serial one is the right choice on a small CPU: BLAS keeps its
# own threads busy-waiting between products, and a second thread pool fights them for the
# cores (a 2-core PTB step went from 0.13 s to 0.87 s).
@njit(cache=True, **KERNEL_OPTIONS)
def _forward_serial(a, prev_c, next_h, next_c, gates, tanh_c):
    for n in range(prev_c.shape[0]):
        _forward_row(a, prev_c, next_h, next_c, gates, tanh_c, n)


@njit(parallel=True, cache=True, **KERNEL_OPTIONS)
def _forward_parallel(a, prev_c, next_h, next_c, gates, tanh_c):
    for n in prange(prev_c.shape[0]):
        _forward_row(a, prev_c, next_h, next_c, gates, tanh_c, n)


@njit(cache=True, **KERNEL_OPTIONS)
def _backward_serial(dnext_h, dnext_c, prev_c, gates, tanh_c, da, dprev_c):
    for n in range(prev_c.shape[0]):
        _backward_row(dnext_h, dnext_c, prev_c, gates, tanh_c, da, dprev_c, n)


@njit(parallel=True, cache=True, **KERNEL_OPTIONS)
def _backward_parallel(dnext_h, dnext_c, prev_c, gates, tanh_c, da, dprev_c):
    for n in prange(prev_c.shape[0]):
        _backward_row(dnext_h, dnext_c, prev_c, gates, tanh_c, da, dprev_c, n)


def _check(name, x, dtype, shape):
    if not isinstance(x, np.ndarray) or x.dtype != dtype or x.shape != shape:
        raise ValueError(
            f"{name} must be a NumPy {dtype} array of shape {shape}, got "
            f"{type(x).__name__} {getattr(x, 'dtype', '')} {getattr(x, 'shape', '')}"
        )
    # Only C-contiguous arrays: LLVM vectorizes the loops for them, not for strided ones.
    return np.ascontiguousarray(x)


def _check_out(name, x, dtype, shape):
    _check(name, x, dtype, shape)
    if not x.flags.c_contiguous:
        raise ValueError(f"out {name} must be C-contiguous")


def _float_dtype(x):
    dtype = np.dtype(getattr(x, "dtype", None))
    if dtype not in CONSTANTS:
        raise TypeError(f"the fused LSTM kernels take float32 or float64, got {dtype}")
    return dtype


def lstm_pointwise_forward(a, prev_c, out=None, parallel=False):
    """a: (N, 4H), prev_c: (N, H) -> next_h (N, H), next_c (N, H), gates (N, 4H), tanh_c (N, H)

    ``out``: optional (next_h, next_c, gates, tanh_c) arrays to write into.
    ``parallel``: spread the rows over Numba's threads (see the note above the kernels).
    """
    dtype = _float_dtype(a)
    N, H = prev_c.shape
    a = _check("a", a, dtype, (N, 4 * H))
    prev_c = _check("prev_c", prev_c, dtype, (N, H))
    if out is None:
        out = (
            np.empty_like(prev_c),
            np.empty_like(prev_c),
            np.empty_like(a),
            np.empty_like(prev_c),
        )
    for name, x, shape in zip(
        ("next_h", "next_c", "gates", "tanh_c"), out, [(N, H), (N, H), (N, 4 * H), (N, H)]
    ):
        _check_out(name, x, dtype, shape)
    (_forward_parallel if parallel else _forward_serial)(a, prev_c, *out)
    return tuple(out)


def lstm_pointwise_backward(dnext_h, dnext_c, prev_c, gates, tanh_c, out=None, parallel=False):
    """-> da (N, 4H), dprev_c (N, H);  ``out``: optional (da, dprev_c) arrays to write into."""
    dtype = _float_dtype(gates)
    N, H = prev_c.shape
    dnext_h = _check("dnext_h", dnext_h, dtype, (N, H))
    dnext_c = _check("dnext_c", dnext_c, dtype, (N, H))
    prev_c = _check("prev_c", prev_c, dtype, (N, H))
    tanh_c = _check("tanh_c", tanh_c, dtype, (N, H))
    gates = _check("gates", gates, dtype, (N, 4 * H))
    if out is None:
        out = (np.empty_like(gates), np.empty_like(prev_c))
    _check_out("da", out[0], dtype, (N, 4 * H))
    _check_out("dprev_c", out[1], dtype, (N, H))
    kernel = _backward_parallel if parallel else _backward_serial
    kernel(dnext_h, dnext_c, prev_c, gates, tanh_c, *out)
    return tuple(out)


# The vectorizable nonlinearities, public for tests and tutorials.
sigmoid = _sigmoid
tanh = _tanh
