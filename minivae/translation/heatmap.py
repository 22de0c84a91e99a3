"""The attention heat map: where the decoder looked in the source for each word it wrote."""

from __future__ import annotations

import numpy as np

# A Figure object, not pyplot: it needs no display and leaves a notebook's backend alone.
from matplotlib.figure import Figure


def plot_attention(items, out_path=None, columns: int = 2) -> Figure:
    """One panel per sentence: source words along x, output words (and <eos>) along y, each
    row the attention weights of the step that wrote that word (rows sum to 1).

    items: (source words, output words, weights (len(output) + 1, len(source)))
    out_path: where to save the PNG (None: only return the figure)
    """
    if not items:
        raise ValueError("plot_attention: no sentences to draw")
    columns = min(columns, len(items))
    rows = -(-len(items) // columns)
    widths = [max(len(src) for src, _, _ in items) * 0.42 + 1.8] * columns
    heights = [max(len(out) for _, out, _ in items) * 0.32 + 1.6] * rows
    fig = Figure(figsize=(sum(widths), sum(heights)), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False)).ravel()
    for ax, (src, out, weights) in zip(axes, items):
        ylabels = [*out, "<eos>"]
        weights = np.asarray(weights)[: len(ylabels), : len(src)]
        image = ax.imshow(weights, cmap="Blues", vmin=0.0, vmax=1.0, aspect="auto")
        ax.set_xticks(range(len(src)), src, rotation=60, ha="right", fontsize=8)
        ax.set_yticks(range(len(ylabels)), ylabels, fontsize=8)
        ax.set_xlabel("source")
        ax.set_ylabel("output")
    for ax in axes[len(items) :]:
        ax.axis("off")
    fig.colorbar(image, ax=list(axes[: len(items)]), shrink=0.6, label="attention weight")
    if out_path is not None:
        fig.savefig(out_path, dpi=110, bbox_inches="tight")
    return fig
