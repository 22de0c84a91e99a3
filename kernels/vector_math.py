"""exp, sigmoid and tanh that Numba can vectorize.

Numba compiles ``math.exp`` and ``math.tanh`` to scalar library calls (this llvmlite has no
SVML), so a loop over them runs one element at a time and loses to NumPy's SIMD functions.
These versions are plain arithmetic, which LLVM turns into vector instructions:

    e^-y = e^r * 2^-n,   n = round(y / ln 2),   r = n ln 2 - y  in [-ln2/2, ln2/2]

e^r - 1 by its Taylor series to r^13 (error < 1e-17 on that interval), 2^-n by multiplying
the powers 2^-(2^k) for the bits of n. All arithmetic is float64, so float32 and float64
inputs get results correct to float64 rounding (about 1e-16 relative).
"""

from numba import njit

LN2_HI = 0.693145751953125  # ln 2 split in two, so n * LN2_HI is exact for n < 2^11
LN2_LO = 1.428606820309417e-06
INV_LN2 = 1.4426950408889634
Y_MAX = 700.0  # e^-700 ~ 1e-304 is still a normal float64
# 1/k for the Taylor coefficients: a product vectorizes far better than a division.
INV_2, INV_3, INV_4, INV_5, INV_6, INV_7 = 1 / 2, 1 / 3, 1 / 4, 1 / 5, 1 / 6, 1 / 7
INV_8, INV_9, INV_10, INV_11, INV_12, INV_13 = 1 / 8, 1 / 9, 1 / 10, 1 / 11, 1 / 12, 1 / 13
FASTMATH = {"contract"}  # fused multiply-add only: no reassociation to undo the ln 2 split


@njit(inline="always", fastmath=FASTMATH, error_model="numpy")
def expm1_neg(y):
    """(e^-y - 1, e^-y) for y >= 0, without cancellation near y = 0."""
    y = min(y, Y_MAX)
    n = int(y * INV_LN2 + 0.5)
    r = (n * LN2_HI - y) + n * LN2_LO
    # q = e^r - 1 by Horner on the Taylor series: r (1 + r/2 (1 + r/3 (1 + ...)))
    q = 1.0 + r * INV_13
    q = 1.0 + r * INV_12 * q
    q = 1.0 + r * INV_11 * q
    q = 1.0 + r * INV_10 * q
    q = 1.0 + r * INV_9 * q
    q = 1.0 + r * INV_8 * q
    q = 1.0 + r * INV_7 * q
    q = 1.0 + r * INV_6 * q
    q = 1.0 + r * INV_5 * q
    q = 1.0 + r * INV_4 * q
    q = 1.0 + r * INV_3 * q
    q = 1.0 + r * INV_2 * q
    q = r * q
    s = 1.0  # 2^-n, bit by bit (n < 1024)
    s *= 0.5 if n & 1 else 1.0
    s *= 0.25 if n & 2 else 1.0
    s *= 0.0625 if n & 4 else 1.0
    s *= 2.0**-8 if n & 8 else 1.0
    s *= 2.0**-16 if n & 16 else 1.0
    s *= 2.0**-32 if n & 32 else 1.0
    s *= 2.0**-64 if n & 64 else 1.0
    s *= 2.0**-128 if n & 128 else 1.0
    s *= 2.0**-256 if n & 256 else 1.0
    s *= 2.0**-512 if n & 512 else 1.0
    e = (1.0 + q) * s
    return (q if n == 0 else e - 1.0), e


@njit(inline="always", fastmath=FASTMATH, error_model="numpy")
def sigmoid(x):
    """1 / (1 + e^-x), through e^-|x| so nothing overflows."""
    _, e = expm1_neg(abs(x))
    return 1.0 / (1.0 + e) if x >= 0 else e / (1.0 + e)


@njit(inline="always", fastmath=FASTMATH, error_model="numpy")
def tanh(x):
    """tanh x = -(e^-2|x| - 1) / (e^-2|x| + 1), with the sign of x."""
    em1, e = expm1_neg(2.0 * abs(x))
    t = -em1 / (1.0 + e)
    return t if x >= 0 else -t
