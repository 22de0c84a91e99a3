"""One training step of a PTB-sized text VAE: minivae against PyTorch on the same model.

Both sides do the same work: embedding -> LSTM encoder -> mu, logvar -> z -> LSTM decoder
(z through the first hidden state and every input) -> softmax over V words, the summed
cross-entropy + KL, the backward pass, global-norm clipping and an Adam update.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from types import SimpleNamespace

import numpy as np

from minivae.benchmarks.timing import median_time
from minivae.interface import Step
from minivae.model import ModelConfig, init_params, loss_and_grads
from minivae.training.optim import Adam, clip_by_global_norm

PTB_SIZES = dict(vocab_size=10000, embed_dim=256, hidden_dim=256, latent_dim=32)


def make_batch(V: int, N: int, T: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return SimpleNamespace(
        tokens=rng.integers(4, V, size=(N, T)), lengths=np.full(N, T, dtype=np.int64)
    )


def minivae_step_fn(config: ModelConfig, batch, xp=np, seed: int = 0):
    params = init_params(config, seed=seed, dtype=np.float32, xp=xp)
    optimizer = Adam(lr=1e-3)
    rng = np.random.default_rng(seed) if xp is np else xp.random.default_rng(seed)

    def one_step():  # not "step": the cost split counts optimizer.step by that name
        _, grads = loss_and_grads(params, batch, config, Step(rng=rng))
        clip_by_global_norm(grads, 5.0)
        optimizer.step(params, grads)

    return one_step


def torch_step_fn(config: ModelConfig, batch, device: str = "cpu", fused_adam: bool = False):
    """The same model and optimizer in PyTorch (cuDNN/oneDNN LSTMs), or None without torch
    (or, with ``fused_adam``, without a PyTorch whose Adam has ``fused=True`` here)."""
    try:
        import torch
    except ImportError:
        return None
    from torch import nn

    V, E, H, Z = config.vocab_size, config.embed_dim, config.hidden_dim, config.latent_dim
    torch.manual_seed(0)

    class TorchVAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(V, E)
            self.enc = nn.LSTM(E, H, batch_first=True)
            self.mu, self.logvar = nn.Linear(H, Z), nn.Linear(H, Z)
            self.z_to_h = nn.Linear(Z, H)
            self.dec = nn.LSTM(E + Z, H, batch_first=True)
            self.out = nn.Linear(H, V)

        def forward(self, tokens, inputs, targets):
            _, (h, _) = self.enc(self.embed(tokens))
            mu, logvar = self.mu(h[0]), self.logvar(h[0])
            z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
            x = self.embed(inputs)
            x = torch.cat([x, z[:, None, :].expand(-1, x.shape[1], -1)], dim=2)
            h0 = torch.tanh(self.z_to_h(z))[None]
            out, _ = self.dec(x, (h0, torch.zeros_like(h0)))
            logits = self.out(out)
            rec = (
                nn.functional.cross_entropy(
                    logits.reshape(-1, V), targets.reshape(-1), reduction="sum"
                )
                / tokens.shape[0]
            )
            kl = 0.5 * (mu**2 + logvar.exp() - logvar - 1).sum(1).mean()
            return rec + kl

    model = TorchVAE().to(device)
    try:  # fused=True: one kernel for the whole update, like minivae's (PyTorch >= 2.4 on CPUs)
        optimizer = torch.optim.Adam(
            model.parameters(), lr=1e-3, **({"fused": True} if fused_adam else {})
        )
    except (TypeError, RuntimeError):
        return None
    N, T = batch.tokens.shape
    tokens = torch.as_tensor(batch.tokens, device=device)
    inputs = torch.cat([torch.full((N, 1), 2, device=device), tokens], dim=1)
    targets = torch.cat([tokens, torch.full((N, 1), 3, device=device)], dim=1)

    def step():
        optimizer.zero_grad(set_to_none=True)
        model(tokens, inputs, targets).backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()

    return step


COST_PARTS = {  # what the cost split names each op's time (cumulative, they do not nest)
    "affine_forward": "output layer and heads (matrix products)",
    "affine_backward": "output layer and heads (matrix products)",
    "lstm_forward": "LSTMs (input projections, recurrences, cell)",
    "lstm_backward": "LSTMs (input projections, recurrences, cell)",
    "softmax_cross_entropy_forward": "softmax cross-entropy",
    "softmax_cross_entropy_backward": "softmax cross-entropy",
    "embedding_forward": "embeddings",
    "embedding_backward": "embeddings",
    "step": "optimizer (Adam)",
    "clip_by_global_norm": "gradient clipping",
}


def cost_split(step, repeats: int = 5) -> dict:
    """Where a step's time goes: seconds per step of each part of ``COST_PARTS`` (from the
    profiler's cumulative times of those functions), and the rest."""
    import cProfile
    import pstats

    step()
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    for _ in range(repeats):
        step()
    profiler.disable()
    total = (time.perf_counter() - start) / repeats
    parts: dict = {}
    for (_, _, name), (_, _, _, cumulative, _) in pstats.Stats(profiler).stats.items():
        if name in COST_PARTS:
            parts[COST_PARTS[name]] = parts.get(COST_PARTS[name], 0.0) + cumulative / repeats
    parts["everything else (Python, sampling, the KL)"] = total - sum(parts.values())
    return parts


def peak_memory_mb(contender: str, N: int, T: int) -> float | None:
    """Peak resident memory (MB) of a fresh process that runs three steps of one contender:
    ``minivae``, ``torch`` or ``torch_fused``; None where it cannot run."""
    import subprocess
    import sys

    code = (
        "from minivae.benchmarks.training_step import PTB_SIZES, make_batch, minivae_step_fn, "
        "torch_step_fn\n"
        "from minivae.training.memory import peak_memory_mb\n"
        "from minivae.model import ModelConfig\n"
        f"config, batch = ModelConfig(**PTB_SIZES), make_batch(10000, {N}, {T})\n"
        f"step = minivae_step_fn(config, batch) if {contender!r} == 'minivae' else "
        f"torch_step_fn(config, batch, fused_adam={contender == 'torch_fused'})\n"
        "for _ in range(3): step()\n"
        "print(peak_memory_mb())\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    return float(proc.stdout.split()[-1]) if proc.returncode == 0 and proc.stdout else None


def run_step_bench(
    N: int = 32,
    T: int = 22,
    repeats: int = 10,
    rounds: int = 7,
    device: str = "cpu",
    log=print,
    pause: float = 0.5,
    threads: tuple | None = None,
    memory: bool = True,
) -> dict:
    """Time the steps at each thread count and print them with the ratios, the cost split
    and the peak memory; -> the figures as a dict ({threads: {...}}, plus "memory_mb").

    Against PyTorch twice: with its default Adam, and with ``Adam(fused=True)``, the one-pass
    update that matches minivae's own. At each thread count (default: 1 and every core) the
    contenders take turns for ``rounds`` rounds (``repeats`` timed steps each, the median
    kept), minivae's BLAS and PyTorch's intra-op pool both set to that many threads, with a
    pause between turns so that no one's idle thread pools (BLAS and OpenMP threads spin for
    a while after their work) slow the next one down. A machine's speed drifts over seconds;
    turns see the same drift. The summary is the median over rounds, and the spread of the
    per-round ratios.
    """
    from threadpoolctl import threadpool_limits

    threads = threads or tuple(sorted({1, os.cpu_count() or 1}))
    result: dict = {"device": device, "rounds": rounds}
    for n in threads:
        with threadpool_limits(limits=n):
            result[n] = _bench_at(N, T, repeats, rounds, device, log, pause, n)
    if memory and device == "cpu":
        result["memory_mb"] = {c: peak_memory_mb(c, N, T) for c in ("minivae", "torch")}
        mem = ", ".join(f"{c} {mb:.0f} MB" for c, mb in result["memory_mb"].items() if mb)
        log(f"peak memory of a process running three steps: {mem}")
    return result


def _bench_at(N, T, repeats, rounds, device, log, pause, threads) -> dict:
    config = ModelConfig(**PTB_SIZES)
    batch = make_batch(config.vocab_size, N, T)
    xp, sync, torch_device = np, None, "cpu"
    if device == "gpu":
        import cupy

        xp, torch_device = cupy, "cuda"
        sync = cupy.cuda.Device().synchronize
    log(
        f"PTB-sized training step: V={config.vocab_size} E={config.embed_dim} "
        f"H={config.hidden_dim} Z={config.latent_dim} N={N} T={T} float32, device {device} "
        f"({platform.processor() or platform.machine()}, {os.cpu_count()} CPUs), "
        f"{threads} thread{'s' if threads > 1 else ''}"
    )
    contenders = {"minivae": (minivae_step_fn(config, batch, xp), sync)}
    for key, fused in (("torch", False), ("torch_fused", True)):
        fn = torch_step_fn(config, batch, torch_device, fused_adam=fused)
        if fn is not None:
            import torch

            torch.set_num_threads(threads)
            contenders[key] = (fn, torch.cuda.synchronize if torch_device == "cuda" else None)
    if "torch" not in contenders:
        log("  PyTorch  not installed (pip install 'minivae[bench]' to compare)")
    labels = {"minivae": "minivae", "torch": "PyTorch", "torch_fused": "PyTorch fused Adam"}
    times: dict = {key: [] for key in contenders}
    for r in range(rounds):
        parts = []
        for key, (fn, fn_sync) in contenders.items():
            times[key].append(median_time(fn, repeats, sync=fn_sync))
            parts.append(f"{labels[key]} {times[key][-1] * 1e3:6.1f} ms")
            time.sleep(pause)
        log(f"  round {r + 1}: " + "   ".join(parts))
    result = {"rounds": rounds}
    for key in contenders:
        result[f"{key}_s"] = statistics.median(times[key])
    log(f"  {'minivae':20s} {result['minivae_s'] * 1e3:7.1f} ms/step (median of {rounds} rounds)")
    for key in ("torch", "torch_fused"):
        if key not in contenders:
            continue
        ratios = [a / b for a, b in zip(times["minivae"], times[key])]
        suffix = "" if key == "torch" else "_fused"
        result[f"ratio{suffix}"] = result["minivae_s"] / result[f"{key}_s"]
        result[f"ratio{suffix}_range"] = (min(ratios), max(ratios))
        log(
            f"  {labels[key]:20s} {result[f'{key}_s'] * 1e3:7.1f} ms/step   ratio "
            f"{result[f'ratio{suffix}']:.2f}x (per round {min(ratios):.2f}-{max(ratios):.2f}x)"
        )
    if "torch" in contenders:
        import torch

        result["torch_version"] = torch.__version__
        log(
            f"  (ratio = minivae time / PyTorch time, targets <= 0.85 and, against the fused "
            f"Adam, <= 1.0; torch {torch.__version__}, {torch.get_num_threads()} threads)"
        )
    if device == "cpu":
        split = cost_split(contenders["minivae"][0])
        result["cost_split"] = split
        log("  where minivae's step goes:")
        for part, seconds in sorted(split.items(), key=lambda kv: -kv[1]):
            log(f"    {part:48s} {seconds * 1e3:6.1f} ms")
    return result
