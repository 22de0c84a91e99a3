"""The LSTM cell's pointwise work as CUDA kernels (numba.cuda), for CuPy arrays.

The same math as ``kernels.lstm_cpu``, one thread per (row, unit) through a grid-stride loop.
CuPy arrays go in directly (CUDA array interface) and the kernels run on CuPy's current
stream. Under Numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1) the same kernels run on NumPy
arrays, which is how machines without a GPU test them. Nothing compiles at import.
"""

import math

_kernels = None
cuda = None  # numba.cuda, imported on first use; a module global, as the simulator requires


def _compile():
    """Build the kernels on first use, so importing this module never needs a GPU."""
    global _kernels, cuda
    if _kernels is not None:
        return _kernels
    from numba import cuda

    @cuda.jit(device=True, inline=True)
    def sigmoid(x):
        if x >= 0:
            return 1.0 / (1.0 + math.exp(-x))
        e = math.exp(x)
        return e / (1.0 + e)

    @cuda.jit
    def forward(a, prev_c, next_h, next_c, gates, tanh_c):
        N, H = prev_c.shape
        start = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
        stride = cuda.blockDim.x * cuda.gridDim.x
        for k in range(start, N * H, stride):
            n, j = k // H, k % H
            i = sigmoid(a[n, j])
            f = sigmoid(a[n, H + j])
            g = math.tanh(a[n, 2 * H + j])
            o = sigmoid(a[n, 3 * H + j])
            c = f * prev_c[n, j] + i * g
            t = math.tanh(c)
            gates[n, j] = i
            gates[n, H + j] = f
            gates[n, 2 * H + j] = g
            gates[n, 3 * H + j] = o
            next_c[n, j] = c
            tanh_c[n, j] = t
            next_h[n, j] = o * t

    @cuda.jit
    def backward(dnext_h, dnext_c, prev_c, gates, tanh_c, da, dprev_c):
        N, H = prev_c.shape
        start = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
        stride = cuda.blockDim.x * cuda.gridDim.x
        for k in range(start, N * H, stride):
            n, j = k // H, k % H
            i = gates[n, j]
            f = gates[n, H + j]
            g = gates[n, 2 * H + j]
            o = gates[n, 3 * H + j]
            t = tanh_c[n, j]
            dh = dnext_h[n, j]
            dc = dnext_c[n, j] + dh * o * (1.0 - t * t)
            da[n, j] = dc * g * i * (1.0 - i)
            da[n, H + j] = dc * prev_c[n, j] * f * (1.0 - f)
            da[n, 2 * H + j] = dc * i * (1.0 - g * g)
            da[n, 3 * H + j] = dh * t * o * (1.0 - o)
            dprev_c[n, j] = dc * f

    _kernels = (cuda, forward, backward)
    return _kernels


def _launch(kernel, count, *arrays):
    """Run ``kernel`` over ``count`` elements on CuPy's current stream (or the simulator)."""
    from numba import config

    cuda, _, _ = _compile()
    if config.ENABLE_CUDASIM:
        # The simulator runs one OS thread per CUDA thread: a small launch, a long stride.
        kernel[1, 32](*arrays)
        return
    import cupy

    threads = 256
    blocks = min((count + threads - 1) // threads, 65535)
    stream = cuda.external_stream(cupy.cuda.get_current_stream().ptr)
    kernel[blocks, threads, stream](*arrays)


def _empty_like(x, shape=None):
    from minivae.backend import get_array_module

    xp = get_array_module(x)
    return xp.empty(x.shape if shape is None else shape, dtype=x.dtype)


def lstm_pointwise_forward_cuda(a, prev_c, out=None):
    """a: (N, 4H), prev_c: (N, H) on the GPU  ->  next_h, next_c, gates (N, 4H), tanh_c

    ``out``: optional C-contiguous (next_h, next_c, gates, tanh_c) arrays to write into.
    """
    _, forward, _ = _compile()
    if out is None:
        out = (_empty_like(prev_c), _empty_like(prev_c), _empty_like(a), _empty_like(prev_c))
    _launch(forward, prev_c.size, a, prev_c, *out)
    return tuple(out)


def lstm_pointwise_backward_cuda(dnext_h, dnext_c, prev_c, gates, tanh_c, out=None):
    """-> da (N, 4H), dprev_c (N, H);  ``out``: optional (da, dprev_c) arrays to write into."""
    _, _, backward = _compile()
    if out is None:
        out = (_empty_like(gates), _empty_like(prev_c))
    _launch(backward, prev_c.size, dnext_h, dnext_c, prev_c, gates, tanh_c, *out)
    return tuple(out)
