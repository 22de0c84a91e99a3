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

    def step():
        _, grads = loss_and_grads(params, batch, config, rng=rng)
        clip_by_global_norm(grads, 5.0)
        optimizer.step(params, grads)

    return step


def torch_step_fn(config: ModelConfig, batch, device: str = "cpu"):
    """The same model and optimizer in PyTorch (cuDNN/oneDNN LSTMs), or None without torch."""
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
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
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


def run_step_bench(
    N: int = 32,
    T: int = 22,
    repeats: int = 10,
    rounds: int = 5,
    device: str = "cpu",
    log=print,
    pause: float = 0.5,
) -> dict:
    """Time both steps and print them with the ratio; -> the figures as a dict.

    The two frameworks take turns for ``rounds`` rounds (``repeats`` timed steps each, the
    median kept), with a pause between turns so that neither one's idle thread pools
    (BLAS and OpenMP threads spin for a while after their work) slow the other down. A
    machine's speed drifts over seconds; turns see the same drift. The summary is the
    median over rounds, and the spread of the per-round ratios.
    """
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
        f"({platform.processor() or platform.machine()}, {os.cpu_count()} CPUs)"
    )
    ours_fn = minivae_step_fn(config, batch, xp)
    theirs_fn = torch_step_fn(config, batch, torch_device)
    torch_sync = None
    if theirs_fn is None:
        log("  PyTorch  not installed (pip install 'minivae[bench]' to compare)")
    else:
        import torch

        torch_sync = torch.cuda.synchronize if torch_device == "cuda" else None
    ours, theirs = [], []
    for r in range(rounds):
        ours.append(median_time(ours_fn, repeats, sync=sync))
        line = f"  round {r + 1}: minivae {ours[-1] * 1e3:7.1f} ms"
        if theirs_fn is not None:
            time.sleep(pause)
            theirs.append(median_time(theirs_fn, repeats, sync=torch_sync))
            line += f"   PyTorch {theirs[-1] * 1e3:7.1f} ms   ratio {ours[-1] / theirs[-1]:.2f}x"
        log(line)
        time.sleep(pause)
    result = {"minivae_s": statistics.median(ours), "device": device, "rounds": rounds}
    log(f"  minivae  {result['minivae_s'] * 1e3:8.1f} ms/step (median of {rounds} rounds)")
    if theirs_fn is None:
        return result
    ratios = [a / b for a, b in zip(ours, theirs)]
    result.update(
        torch_s=statistics.median(theirs),
        ratio=result["minivae_s"] / statistics.median(theirs),
        ratio_range=(min(ratios), max(ratios)),
        torch_version=torch.__version__,
    )
    log(
        f"  PyTorch  {result['torch_s'] * 1e3:8.1f} ms/step (torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads)"
    )
    log(
        f"  ratio    {result['ratio']:8.2f}x (minivae time / PyTorch time; target <= 1.0; "
        f"per round {min(ratios):.2f}-{max(ratios):.2f}x)"
    )
    return result
