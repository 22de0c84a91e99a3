"""The fused LSTM cell against the array cell: time, speed-up, and memory bandwidth.

The pointwise work moves 25 numbers per (row, unit) through memory (forward: a, c in;
h, c, gates, tanh c out; backward: dh, dc, c, gates, tanh c in; da, dc out), so its
achieved bandwidth, against the device's own copy bandwidth measured in the same run, says
how close the kernel is to the memory limit.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from minivae import ops
from minivae.benchmarks.timing import median_time
from minivae.ops.lstm import select_pointwise

NUMBERS_MOVED_PER_UNIT = 25


def copy_bandwidth(xp, sync, nbytes: int = 256 * 2**20) -> float:
    """Bytes per second of a large array copy (read + write)."""
    src = xp.ones(nbytes // 4, dtype=xp.float32)
    dst = xp.empty_like(src)
    seconds = median_time(lambda: xp.copyto(dst, src), repeats=5, warmup=1, sync=sync)
    return 2 * nbytes / seconds


def _cell_inputs(xp, N, H, D, dtype, seed=0):
    rng = np.random.default_rng(seed)

    def arr(*shape, scale=1.0):
        return xp.asarray((scale * rng.standard_normal(shape)).astype(dtype))

    return dict(
        a=arr(N, 4 * H, scale=2.0),
        c=arr(N, H),
        dh=arr(N, H),
        dc=arr(N, H),
        x=arr(N, D),
        h=arr(N, H),
        Wx=arr(D, 4 * H, scale=0.05),
        Wh=arr(H, 4 * H, scale=0.05),
        b=arr(4 * H),
    )


def _threaded_cpu_cell():
    """The fused CPU cell with its rows spread over Numba's threads (not used in training:
    see kernels/lstm_cpu.py), as a (forward, backward) pair."""
    from minivae_kernels import lstm_cpu

    return (
        partial(lstm_cpu.lstm_pointwise_forward, parallel=True),
        partial(lstm_cpu.lstm_pointwise_backward, parallel=True),
    )


def time_cell(kernel, xp, sync, N, H, dtype, repeats):
    """-> (pointwise forward+backward seconds, full step forward+backward seconds or None)

    kernel: "array", "fused" or "threads" (the CPU cell on Numba's threads: pointwise only)
    """
    v = _cell_inputs(xp, N, H, H, dtype)
    if kernel == "threads":
        forward, backward = _threaded_cpu_cell()
    else:
        forward, backward, _ = select_pointwise(kernel, xp)
    _, _, gates, tanh_c = forward(v["a"], v["c"])

    def pointwise():
        forward(v["a"], v["c"])
        backward(v["dh"], v["dc"], v["c"], gates, tanh_c)

    def step():
        h, c, cache = ops.lstm_step_forward(
            v["x"], v["h"], v["c"], v["Wx"], v["Wh"], v["b"], kernel=kernel
        )
        ops.lstm_step_backward(v["dh"], v["dc"], cache)

    pointwise_s = median_time(pointwise, repeats, sync=sync)
    return pointwise_s, None if kernel == "threads" else median_time(step, repeats, sync=sync)


def run_kernel_bench(
    sizes=None, dtypes=("float32", "float64"), repeats: int = 20, devices=("cpu",), log=print
) -> list[dict]:
    """Print a table per device; -> the rows as dicts."""
    sizes = sizes or [(N, H) for N in (32, 64, 128) for H in (128, 256, 512)]
    rows = []
    for device in devices:
        if device == "gpu":
            import cupy as xp

            sync = xp.cuda.Device().synchronize
            name = xp.cuda.runtime.getDeviceProperties(0)["name"].decode()
        else:
            xp, sync = np, None
            name = "CPU"
        bandwidth = copy_bandwidth(xp, sync)
        fused_name = select_pointwise("fused", xp)[2]
        log(f"\n{device}: {name}; copy bandwidth {bandwidth / 1e9:.1f} GB/s; fused = {fused_name}")
        threads = device == "cpu"
        if threads:
            import numba

            log(f"threads = the fused CPU cell on {numba.get_num_threads()} Numba threads")
        log(
            f"{'dtype':8s} {'N':>4s} {'H':>5s} | {'array cell':>10s} {'fused cell':>10s} "
            f"{'speed-up':>8s} {'fused GB/s':>10s} {'of copy':>7s}"
            + (f" {'threads':>10s}" if threads else "")
            + f" | {'array step':>10s} {'fused step':>10s} {'speed-up':>8s}"
        )
        for dtype in dtypes:
            itemsize = np.dtype(dtype).itemsize
            for N, H in sizes:
                arr_pw, arr_step = time_cell("array", xp, sync, N, H, dtype, repeats)
                fus_pw, fus_step = time_cell("fused", xp, sync, N, H, dtype, repeats)
                thr_pw = None
                if threads:
                    thr_pw = time_cell("threads", xp, sync, N, H, dtype, repeats)[0]
                achieved = NUMBERS_MOVED_PER_UNIT * N * H * itemsize / fus_pw
                row = dict(
                    device=device,
                    dtype=dtype,
                    N=N,
                    H=H,
                    array_cell_s=arr_pw,
                    fused_cell_s=fus_pw,
                    threaded_cell_s=thr_pw,
                    cell_speedup=arr_pw / fus_pw,
                    fused_bandwidth=achieved,
                    bandwidth_fraction=achieved / bandwidth,
                    array_step_s=arr_step,
                    fused_step_s=fus_step,
                    step_speedup=arr_step / fus_step,
                )
                rows.append(row)
                log(
                    f"{dtype:8s} {N:4d} {H:5d} | {arr_pw * 1e6:8.0f}us {fus_pw * 1e6:8.0f}us "
                    f"{row['cell_speedup']:7.2f}x {achieved / 1e9:10.1f} "
                    f"{row['bandwidth_fraction']:6.0%}"
                    + (f" {thr_pw * 1e6:8.0f}us" if threads else "")
                    + f" | {arr_step * 1e6:8.0f}us "
                    f"{fus_step * 1e6:8.0f}us {row['step_speedup']:7.2f}x"
                )
    return rows
