# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 7. Speed: one fused kernel for the LSTM cell, on the CPU and the GPU
#
# The array version of the LSTM cell (tutorial 2) runs a dozen NumPy operations per step; each
# reads its inputs from memory and writes a temporary back. Fast RNN libraries keep the matrix
# products in BLAS and fuse all the pointwise work of a step into **one kernel**, one pass over
# memory:
#
# $$a \to (i, f, g, o) \to c' = f c + i g \to h' = o \tanh c'$$
#
# minivae has that kernel twice, with the same math: `kernels/lstm_cpu.py` (Numba on the CPU)
# and `kernels/lstm_cuda.py` (numba.cuda on the GPU, on CuPy arrays). The readable version in
# `minivae/ops/lstm.py` stays the reference; `kernel="auto" | "fused" | "array"` chooses.

# %%
import os
import subprocess
import sys
import textwrap
import time

import matplotlib.pyplot as plt
import numpy as np
from minivae_kernels.lstm_cpu import sigmoid, tanh  # noqa: E402

# %% [markdown]
# ## Why not just `math.tanh` in a Numba loop?
# Numba turns `math.exp` and `math.tanh` into calls to the C library, one number at a time,
# while NumPy's `tanh` uses SIMD instructions on 8 or 16 numbers at once. `kernels/lstm_cpu.py`
# writes $e^{-y}$ in plain arithmetic that the compiler can vectorize: split
# $y = n \ln 2 - r$, compute $e^{r}$ by a short Taylor series on $|r| \le \ln 2 / 2$, and build
# $2^{-n}$ from the bits of $n$. sigmoid and tanh follow from $e^{-|x|}$ without overflow.
# It must be as accurate as NumPy:
# %%
from numba import njit  # noqa: E402

import minivae
from minivae.backend import gpu_available
from minivae.ops.lstm import select_pointwise


@njit
def apply(x):
    out = np.empty((2, x.size))
    for k in range(x.size):
        out[0, k] = sigmoid(x[k])
        out[1, k] = tanh(x[k])
    return out


x = np.linspace(-40, 40, 100001)
got = apply(x)
err_sig = np.max(np.abs(got[0] - np.exp(-np.logaddexp(0, -x))) / np.exp(-np.logaddexp(0, -x)))
err_tanh = np.max(np.abs(got[1] - np.tanh(x)) / np.maximum(np.abs(np.tanh(x)), 1e-300))
print(f"max relative error: sigmoid {err_sig:.1e}, tanh {err_tanh:.1e}")
assert err_sig < 1e-14 and err_tanh < 1e-14

# %% [markdown]
# ## The fused CPU cell agrees with the array cell
# Same inputs, both implementations, forward and backward, float32 and float64.

# %%
rng = np.random.default_rng(0)
for dtype, tol in ((np.float32, 2e-6), (np.float64, 1e-13)):
    a = (3 * rng.standard_normal((64, 4 * 256))).astype(dtype)
    c = rng.standard_normal((64, 256)).astype(dtype)
    array_fwd, array_bwd, _ = select_pointwise("array", np)
    fused_fwd, fused_bwd, name = select_pointwise("fused", np)
    want, got = array_fwd(a, c), fused_fwd(a, c)
    for w, g in zip(want, got):
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol)
    dh, dc = rng.standard_normal((2, 64, 256)).astype(dtype)
    for w, g in zip(array_bwd(dh, dc, c, *want[2:]), fused_bwd(dh, dc, c, *want[2:])):
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol)
    print(f"{dtype.__name__}: {name} agrees with the array cell to {tol:g}")

# %% [markdown]
# ## How much faster?
# The pointwise part alone, forward + backward, for a few sizes (`minivae bench kernels` runs
# the full sweep, with memory bandwidth). On a 2-core CPU the numbers are noisy; the fused
# kernel's advantage is largest in float64, where NumPy's functions are slowest.


# %%
def best_time(fn, args, repeats=30):
    fn(*args)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return min(times)


def array_cell(a, c, dh, dc, gates, tanh_c):
    array_fwd(a, c)
    array_bwd(dh, dc, c, gates, tanh_c)


def fused_cell(a, c, dh, dc, gates, tanh_c):
    fused_fwd(a, c)
    fused_bwd(dh, dc, c, gates, tanh_c)


sizes = [(32, 128), (64, 256), (64, 512)]
speedups = {}
for dtype in (np.float32, np.float64):
    speedups[dtype.__name__] = []
    for N, H in sizes:
        a = (2 * rng.standard_normal((N, 4 * H))).astype(dtype)
        c, dh, dc = rng.standard_normal((3, N, H)).astype(dtype)
        args = (a, c, dh, dc, *array_fwd(a, c)[2:])
        t_array, t_fused = best_time(array_cell, args), best_time(fused_cell, args)
        speedups[dtype.__name__].append(t_array / t_fused)
        print(
            f"{dtype.__name__} N={N:3d} H={H:3d}: array {t_array * 1e6:6.0f} us, "
            f"fused {t_fused * 1e6:6.0f} us, speed-up {t_array / t_fused:4.1f}x"
        )

labels = [f"N={N}\nH={H}" for N, H in sizes]
plt.figure(figsize=(7, 3.5))
for k, (name, values) in enumerate(speedups.items()):
    plt.bar(np.arange(len(sizes)) + 0.4 * k - 0.2, values, width=0.4, label=name)
plt.axhline(1.0, color="gray", lw=1)
plt.xticks(range(len(sizes)), labels)
plt.ylabel("fused / array speed-up")
plt.legend()
plt.show()

# %% [markdown]
# Inside a whole training step the matrix products dominate, so the cell's speed-up shows up
# there only as a few percent. The kernel runs on the calling thread: BLAS keeps its own
# threads busy-waiting between products, and a second thread pool (`parallel=True`) fights
# them for the cores, which made a 2-core training step six times slower. `kernel="auto"`
# (the default) takes the fused kernels wherever one runs; `kernel="array"` runs the
# readable code. The same idea, one pass over memory instead of several NumPy calls, also
# gives minivae fused kernels for softmax's exponentials, the embedding's gradient and Adam.

# %% [markdown]
# ## The CUDA twin
# On a machine with a GPU the same cell runs as a `numba.cuda` kernel directly on CuPy arrays.
# Without one, Numba's CUDA simulator runs the very same kernel on NumPy arrays, one Python
# thread per CUDA thread, which is slow but checks the code. The simulator must be switched on
# before Numba is imported, so it runs in a fresh process here.

# %%
if gpu_available():
    import cupy

    fwd, bwd, name = select_pointwise("fused", cupy)
    a = cupy.asarray(rng.standard_normal((64, 4 * 512)))
    c = cupy.asarray(rng.standard_normal((64, 512)))
    want = array_fwd(cupy.asnumpy(a), cupy.asnumpy(c))
    for w, g in zip(want, fwd(a, c)):
        np.testing.assert_allclose(cupy.asnumpy(g), w, rtol=1e-12, atol=1e-12)
    print(f"GPU: {name} agrees with the CPU reference")
else:
    print("No GPU here: running the CUDA kernel under Numba's CUDA simulator on a tiny shape.")
    script = textwrap.dedent("""
        import numpy as np
        from minivae_kernels.lstm_cuda import lstm_pointwise_forward_cuda
        from minivae.ops.lstm import lstm_pointwise_forward
        rng = np.random.default_rng(0)
        a, c = rng.standard_normal((2, 12)), rng.standard_normal((2, 3))
        for w, g in zip(lstm_pointwise_forward(a, c), lstm_pointwise_forward_cuda(a, c)):
            np.testing.assert_allclose(g, w, rtol=1e-13, atol=1e-13)
        print("simulated CUDA kernel agrees with the array cell")
    """)
    root = os.path.dirname(os.path.dirname(os.path.abspath(minivae.__file__)))
    env = {
        **os.environ,
        "NUMBA_ENABLE_CUDASIM": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
    }
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    print(result.stdout or result.stderr[-2000:])
    assert result.returncode == 0
