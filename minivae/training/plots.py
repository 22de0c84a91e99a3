"""Pictures of a run, saved as PNG: training curves and the latent space."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

# Figure objects, not pyplot: they need no display and leave a notebook's backend alone.
from matplotlib.figure import Figure


def read_metrics(path) -> tuple[list[dict], list[dict]]:
    """-> (training rows, validation rows) of a metrics.jsonl."""
    rows = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    return [r for r in rows if r["split"] == "train"], [r for r in rows if r["split"] == "valid"]


def plot_curves(metrics_path, out_path) -> Path:
    """Loss, reconstruction, KL and beta against training steps, validation marked per epoch."""
    train, valid = read_metrics(metrics_path)
    fig = Figure(figsize=(10, 7))
    axes = fig.subplots(2, 2, sharex=True)
    steps = [r["step"] for r in train]
    vsteps = [r["step"] for r in valid]
    panels = [
        ("loss", "loss (rec + beta KL)", "nelbo"),
        ("rec", "reconstruction (nats/sentence)", "rec"),
        ("kl", "KL (nats/sentence)", "kl"),
        ("beta", "KL weight beta", None),
    ]
    for ax, (key, title, vkey) in zip(axes.flat, panels):
        ax.plot(steps, [r[key] for r in train], lw=1, label="train")
        if vkey:
            ax.plot(vsteps, [r[vkey] for r in valid], "o-", label="valid")
            ax.legend()
        ax.set_title(title)
        ax.grid(alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("step")
    fig.tight_layout()
    fig.savefig(out_path, dpi=110)
    return Path(out_path)


def pca_2d(x: np.ndarray) -> np.ndarray:
    """Project rows of x onto their two principal directions (by SVD of the centred data)."""
    centred = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:2].T


def plot_latent(mu: np.ndarray, labels: list | None, out_path, title: str = "") -> Path:
    """Posterior means in 2-D (PCA), coloured by a known attribute when there is one."""
    if mu.shape[1] < 2:  # one dimension: drawn against zero
        mu = np.concatenate([mu, np.zeros((len(mu), 2 - mu.shape[1]))], axis=1)
    xy = pca_2d(mu) if mu.shape[1] > 2 else mu
    fig = Figure(figsize=(6.5, 5.5))
    ax = fig.subplots()
    if labels is None:
        ax.scatter(xy[:, 0], xy[:, 1], s=6, alpha=0.6)
    else:
        for value in sorted(set(labels)):
            pick = np.array([label == value for label in labels])
            ax.scatter(xy[pick, 0], xy[pick, 1], s=6, alpha=0.6, label=str(value))
        ax.legend(markerscale=3, title=title or None)
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.set_title("posterior means q(z|x), PCA" + (f", coloured by {title}" if title else ""))
    fig.tight_layout()
    fig.savefig(out_path, dpi=110)
    return Path(out_path)
