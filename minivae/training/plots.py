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
    return two_columns(centred @ vt[:2].T)


def two_columns(xy: np.ndarray) -> np.ndarray:
    """Points with fewer than two coordinates (a single sentence has one direction, or none)
    drawn against zero."""
    if xy.shape[1] >= 2:
        return xy
    return np.concatenate([xy, np.zeros((len(xy), 2 - xy.shape[1]))], axis=1)


def lda_2d(x: np.ndarray, labels) -> np.ndarray:
    """Project rows of x onto the two directions that best separate the labelled groups
    (Fisher's linear discriminants): the top eigenvectors of S_w^-1 S_b, S_w the spread
    within groups and S_b between their means. PCA shows where the variance is; this shows
    whether the groups can be told apart linearly."""
    labels = np.asarray(labels)
    centred = x - x.mean(axis=0)
    within = np.zeros((x.shape[1], x.shape[1]))
    between = np.zeros_like(within)
    for value in np.unique(labels):
        group = centred[labels == value]
        mean = group.mean(axis=0)
        within += (group - mean).T @ (group - mean)
        between += len(group) * np.outer(mean, mean)
    within += 1e-6 * np.trace(within) / len(within) * np.eye(len(within))  # keep it invertible
    values, vectors = np.linalg.eig(np.linalg.solve(within, between))
    top = np.argsort(values.real)[::-1][:2]
    return two_columns(centred @ vectors[:, top].real)


def plot_latent(mu: np.ndarray, labels: list | None, out_path, title: str = "") -> Path:
    """Posterior means in 2-D: PCA, and (with labels of at least 3 values) the linear
    discriminant projection by those labels beside it, coloured by them. One dimension is
    drawn against zero."""
    if mu.shape[1] < 2:
        mu = np.concatenate([mu, np.zeros((len(mu), 2 - mu.shape[1]))], axis=1)
    groups = sorted(set(labels)) if labels is not None else []
    panels = [("PCA", "PC", pca_2d(mu) if mu.shape[1] > 2 else mu)]
    if len(groups) >= 3 and mu.shape[1] >= 2:
        panels.append((f"linear discriminants of {title}", "LD", lda_2d(mu, labels)))
    fig = Figure(figsize=(6.0 * len(panels), 5.2))
    for ax, (name, axis, xy) in zip(np.atleast_1d(fig.subplots(1, len(panels))), panels):
        if labels is None:
            ax.scatter(xy[:, 0], xy[:, 1], s=6, alpha=0.6)
        else:
            for value in groups:
                pick = np.array([label == value for label in labels])
                ax.scatter(xy[pick, 0], xy[pick, 1], s=6, alpha=0.6, label=str(value))
            ax.legend(markerscale=3, title=title or None)
        ax.set_xlabel(f"{axis} 1")
        ax.set_ylabel(f"{axis} 2")
        ax.set_title(f"posterior means q(z|x): {name}")
    fig.tight_layout()
    fig.savefig(out_path, dpi=110)
    return Path(out_path)
