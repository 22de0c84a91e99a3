"""One training step of the Multi30k-sized translation model: minivae against PyTorch on the
same architecture, in the same process.

Both sides do the same work: source embedding -> bidirectional LSTM (PyTorch: packed, so
each direction reads only the real words, like minivae's reversal within length) -> the
keys' projection; the target's LSTM -> q(z|x,y), the prior network p(z|x), z; the decoder
LSTM cell step by step with additive attention from its last state, [word; context; z] as
its input; tanh([h; context] W) -> dropout -> softmax over V words; the summed
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
from minivae.training.optim import Adam, clip_by_global_norm
from minivae.translation.config import NMTConfig
from minivae.translation.nmt import TranslationVAE

# Multi30k German -> English: vocabularies of lower-cased words seen twice, ~13 words a side.
MULTI30K_SIZES = dict(vocab_size=5900, src_vocab_size=7900)
DROPOUT = 0.3  # ``minivae nmt train``'s default: the masks are part of a training step's cost
LABEL_SMOOTHING = 0.1  # its default too: the smoothed loss costs a sweep over the logits


def make_batch(config: NMTConfig, N: int = 64, S: int = 13, T: int = 14, seed: int = 0):
    """Random sentence pairs, the longest of each side S and T words, the others up to 4
    shorter (a bucketed batch)."""
    rng = np.random.default_rng(seed)
    src_lengths, lengths = rng.integers(S - 4, S + 1, N), rng.integers(T - 4, T + 1, N)
    src_lengths[0], lengths[0] = S, T
    src = rng.integers(4, config.src_vocab_size, (N, S))
    src[np.arange(S)[None, :] >= src_lengths[:, None]] = 0
    tokens = rng.integers(4, config.vocab_size, (N, T))
    tokens[np.arange(T)[None, :] >= lengths[:, None]] = 0
    return SimpleNamespace(tokens=tokens, lengths=lengths, src=src, src_lengths=src_lengths)


def minivae_step_fn(config: NMTConfig, batch, xp=np, seed: int = 0):
    model = TranslationVAE(config)
    params = model.init_params(seed=seed, dtype=np.float32, xp=xp)
    optimizer = Adam(lr=1e-3)
    rng = np.random.default_rng(seed) if xp is np else xp.random.default_rng(seed)

    def step():
        train = Step(rng=rng, dropout=DROPOUT, label_smoothing=LABEL_SMOOTHING)
        _, grads = model.loss_and_grads(params, batch, train)
        clip_by_global_norm(grads, 5.0)
        optimizer.step(params, grads)

    return step


def torch_step_fn(config: NMTConfig, batch, device: str = "cpu"):
    """The same model and optimizer in PyTorch, or None without torch."""
    try:
        import torch
    except ImportError:
        return None
    from torch import nn

    model = torch_model(config).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    args = torch_batch(batch)

    def step():
        optimizer.zero_grad(set_to_none=True)
        sum(model(*args)).backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()

    return step


def torch_batch(batch) -> tuple:
    """A minivae batch as the PyTorch model's arguments (teacher forcing, as minivae's)."""
    import torch

    N, T = batch.tokens.shape
    tokens, lengths = torch.as_tensor(batch.tokens), torch.as_tensor(batch.lengths)
    inputs = torch.cat([torch.full((N, 1), 2), tokens], dim=1)
    targets = torch.cat([tokens, torch.zeros((N, 1), dtype=tokens.dtype)], dim=1)
    targets[torch.arange(N), lengths] = 3
    mask = torch.arange(T + 1)[None, :] <= lengths[:, None]
    args = (torch.as_tensor(batch.src), torch.as_tensor(batch.src_lengths), tokens, lengths)
    return (*args, inputs, targets, mask)


def torch_model(config: NMTConfig):
    """The translation model in PyTorch (its default initialization): forward(*torch_batch)
    -> (reconstruction, KL), nats per sentence."""
    import torch
    from torch import nn
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    c = config
    V, Vs, E, Hs, H = c.vocab_size, c.src_vocab_size, c.embed_dim, c.enc_hidden_dim, c.hidden_dim
    K, A, O, Z, P = c.key_dim, c.attention_dim, c.out_dim, c.latent_dim, c.prior_dim
    torch.manual_seed(0)

    class TorchNMT(nn.Module):
        def __init__(self):
            super().__init__()
            self.src_embed, self.embed = nn.Embedding(Vs, E), nn.Embedding(V, E)
            self.enc = nn.LSTM(E, Hs, batch_first=True, bidirectional=True)
            self.att_Wk, self.att_Wq = nn.Linear(K, A, bias=False), nn.Linear(H, A, bias=False)
            self.att_v = nn.Linear(A, 1, bias=False)
            self.tgt_enc = nn.LSTM(E, Hs, batch_first=True)
            self.mu, self.logvar = nn.Linear(Hs + K, Z), nn.Linear(Hs + K, Z)
            self.prior = nn.Sequential(nn.Linear(K, P), nn.Tanh())
            self.prior_mu, self.prior_logvar = nn.Linear(P, Z), nn.Linear(P, Z)
            self.init = nn.Linear(K + Z, H)
            self.dec = nn.LSTMCell(E + K + Z, H)
            self.hid, self.out = nn.Linear(H + K, O), nn.Linear(O, V)
            self.drop = nn.Dropout(DROPOUT)

        def forward(self, src, src_lengths, tokens, lengths, inputs, targets, mask):
            N, S = src.shape
            packed = pack_padded_sequence(
                self.drop(self.src_embed(src)), src_lengths, batch_first=True, enforce_sorted=False
            )
            out, (h_n, _) = self.enc(packed)
            keys, _ = pad_packed_sequence(out, batch_first=True, total_length=S)
            summary = torch.cat([h_n[0], h_n[1]], dim=1)
            keys_proj = self.att_Wk(keys)
            src_mask = torch.arange(S)[None, :] < src_lengths[:, None]
            packed_y = pack_padded_sequence(
                self.embed(tokens), lengths, batch_first=True, enforce_sorted=False
            )
            _, (h_y, _) = self.tgt_enc(packed_y)
            hc = torch.cat([h_y[0], summary], dim=1)
            mu, logvar = self.mu(hc), self.logvar(hc)
            hidden = self.prior(summary)
            pmu, plogvar = self.prior_mu(hidden), self.prior_logvar(hidden)
            z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
            h = torch.tanh(self.init(torch.cat([summary, z], dim=1)))
            cell = torch.zeros_like(h)
            e = self.drop(self.embed(inputs))
            hs, contexts = [], []
            for t in range(inputs.shape[1]):
                scores = self.att_v(torch.tanh(keys_proj + self.att_Wq(h)[:, None])).squeeze(2)
                weights = torch.softmax(scores.masked_fill(~src_mask, float("-inf")), dim=1)
                context = torch.bmm(weights[:, None], keys)[:, 0]
                h, cell = self.dec(torch.cat([e[:, t], context, z], dim=1), (h, cell))
                hs.append(h)
                contexts.append(context)
            o = torch.tanh(self.hid(torch.cat([torch.stack(hs, 1), torch.stack(contexts, 1)], 2)))
            logits = self.out(self.drop(o))
            nll = nn.functional.cross_entropy(
                logits.reshape(-1, V),
                targets.reshape(-1),
                reduction="none",
                label_smoothing=LABEL_SMOOTHING,
            )
            rec = (nll * mask.reshape(-1)).sum() / N
            kl = 0.5 * (
                plogvar - logvar + (logvar.exp() + (mu - pmu) ** 2) / plogvar.exp() - 1
            ).sum(1)
            return rec, kl.mean()

    return TorchNMT()


def run_nmt_step_bench(
    N: int = 64,
    S: int = 13,
    T: int = 14,
    repeats: int = 3,
    rounds: int = 5,
    log=print,
    pause: float = 0.5,
    threads: int | None = None,
    **sizes,
) -> dict:
    """Time the steps in turns (``rounds`` turns of ``repeats`` steps each, the median kept)
    and print them with the ratio; -> the figures as a dict. ``sizes``: NMTConfig fields;
    ``threads``: PyTorch's intra-op threads, as many as minivae's BLAS threads (None: as
    PyTorch is set)."""
    config = NMTConfig(**{**MULTI30K_SIZES, **sizes})
    batch = make_batch(config, N, S, T)
    tokens = int(batch.lengths.sum()) + N
    log(
        f"Multi30k-sized translation step: V={config.vocab_size} Vs={config.src_vocab_size} "
        f"E={config.embed_dim} encoder 2x{config.enc_hidden_dim} H={config.hidden_dim} "
        f"A={config.attention_dim} O={config.out_dim} Z={config.latent_dim} N={N} S={S} T={T} "
        f"float32 ({platform.processor() or platform.machine()}, {os.cpu_count()} CPUs)"
    )
    contenders = {"minivae": minivae_step_fn(config, batch)}
    fn = torch_step_fn(config, batch)
    if fn is not None and threads is not None:
        import torch

        torch.set_num_threads(threads)
    if fn is None:
        log("  PyTorch  not installed (pip install 'minivae[bench]' to compare)")
    else:
        contenders["torch"] = fn
    times: dict = {key: [] for key in contenders}
    for r in range(rounds):
        parts = []
        for key, step in contenders.items():
            times[key].append(median_time(step, repeats))
            parts.append(f"{key} {times[key][-1] * 1e3:6.0f} ms")
            time.sleep(pause)
        log(f"  round {r + 1}: " + "   ".join(parts))
    result = {key + "_s": statistics.median(t) for key, t in times.items()}
    result["tokens_per_step"] = tokens
    for key in contenders:
        log(
            f"  {key:8s} {result[key + '_s'] * 1e3:7.0f} ms/step, "
            f"{tokens / result[key + '_s']:6.0f} target tokens/s"
        )
    if "torch" in contenders:
        import torch

        ratios = [a / b for a, b in zip(times["minivae"], times["torch"])]
        result["ratio"] = result["minivae_s"] / result["torch_s"]
        log(
            f"  ratio minivae / PyTorch {result['ratio']:.2f}x (per round "
            f"{min(ratios):.2f}-{max(ratios):.2f}x; torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads)"
        )
    return result
