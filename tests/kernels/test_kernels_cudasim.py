"""The CUDA LSTM kernels: under Numba's CUDA simulator everywhere, on a real GPU where there is one.

The simulator must be switched on before numba is first imported, and this test process has
imported numba already, so the simulated run happens in a child process.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from minivae.backend import gpu_available

ROOT = Path(__file__).resolve().parents[2]

SIMULATED = textwrap.dedent("""
    import numpy as np
    from minivae_kernels.lstm_cuda import lstm_pointwise_backward_cuda, lstm_pointwise_forward_cuda
    from minivae.ops.lstm import lstm_pointwise_backward, lstm_pointwise_forward

    for dtype, tol in ((np.float32, 2e-6), (np.float64, 1e-13)):
        rng = np.random.default_rng(0)
        N, H = 3, 5
        a = (4 * rng.standard_normal((N, 4 * H))).astype(dtype)
        c = rng.standard_normal((N, H)).astype(dtype)
        want = lstm_pointwise_forward(a, c)
        got = lstm_pointwise_forward_cuda(a, c)
        for w, g in zip(want, got):
            assert g.dtype == dtype
            np.testing.assert_allclose(g, w, rtol=tol, atol=tol)
        dh = rng.standard_normal((N, H)).astype(dtype)
        dc = rng.standard_normal((N, H)).astype(dtype)
        for w, g in zip(lstm_pointwise_backward(dh, dc, c, want[2], want[3]),
                        lstm_pointwise_backward_cuda(dh, dc, c, want[2], want[3])):
            np.testing.assert_allclose(g, w, rtol=tol, atol=tol)
        # out=: writing into one step's slot of a time-major buffer, as lstm_forward does.
        gates_all = np.zeros((3, N, 4 * H), dtype)
        out = (np.empty_like(c), np.empty_like(c), gates_all[1], np.empty_like(c))
        got = lstm_pointwise_forward_cuda(a, c, out=out)
        assert got[2] is out[2] and not gates_all[0].any() and not gates_all[2].any()
        np.testing.assert_allclose(gates_all[1], want[2], rtol=tol, atol=tol)
        da_all = np.zeros((2, N, 4 * H), dtype)
        lstm_pointwise_backward_cuda(dh, dc, c, want[2], want[3], out=(da_all[0], np.empty_like(c)))
        np.testing.assert_allclose(
            da_all[0], lstm_pointwise_backward(dh, dc, c, want[2], want[3])[0], rtol=tol, atol=tol
        )
    print("simulated CUDA kernels agree")
""")


def test_cuda_kernels_under_the_simulator():
    pytest.importorskip("numba.cuda", reason="numba-cuda is not installed")
    env = {
        **os.environ,
        "NUMBA_ENABLE_CUDASIM": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    result = subprocess.run(
        [sys.executable, "-c", SIMULATED],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "simulated CUDA kernels agree" in result.stdout


@pytest.mark.skipif(not gpu_available(), reason="needs CuPy and a CUDA GPU")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cuda_kernels_on_the_gpu(dtype):
    import cupy

    from minivae import ops
    from minivae.ops.lstm import select_pointwise

    forward, backward, name = select_pointwise("fused", cupy)
    assert name.startswith("fused-cuda")
    rng = np.random.default_rng(0)
    a = (4 * rng.standard_normal((64, 4 * 256))).astype(dtype)
    c = rng.standard_normal((64, 256)).astype(dtype)
    tol = 2e-6 if dtype == np.float32 else 1e-13
    want = ops.lstm_pointwise_forward(a, c)
    got = forward(cupy.asarray(a), cupy.asarray(c))
    for w, g in zip(want, got):
        np.testing.assert_allclose(cupy.asnumpy(g), w, rtol=tol, atol=tol)
    dh, dc = (
        rng.standard_normal((64, 256)).astype(dtype),
        rng.standard_normal((64, 256)).astype(dtype),
    )
    want_b = ops.lstm_pointwise_backward(dh, dc, c, want[2], want[3])
    got_b = backward(*(cupy.asarray(v) for v in (dh, dc, c, want[2], want[3])))
    for w, g in zip(want_b, got_b):
        np.testing.assert_allclose(cupy.asnumpy(g), w, rtol=tol, atol=tol)
