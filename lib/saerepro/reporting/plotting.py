"""One figure style for the whole suite, and the figure types several sections share."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import seaborn as sns
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from saerepro.core.atomic import atomic_write_bytes
from saerepro.metrics import matched_latent_order

COSINE_CMAP = "RdBu_r"


def use_style() -> None:
    """The suite's seaborn theme: white grid, colour-blind palette, paper-sized fonts."""
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    plt.rcParams.update(
        {
            "figure.dpi": 100,
            "savefig.dpi": 150,
            "savefig.bbox": "tight",
            "axes.titlesize": "medium",
            "figure.autolayout": False,
        }
    )


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Save ``fig`` as PNG atomically."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return atomic_write_bytes(path, buffer.getvalue())


def caption(fig: Figure, text: str) -> None:
    """A caption line under the figure, as in a paper."""
    fig.text(0.5, -0.01, text, ha="center", va="top", fontsize="small", wrap=True)


def cosine_heatmap(ax: Axes, cosines: torch.Tensor, title: str, colorbar: bool = True) -> None:
    """Decoder-latent x true-feature cosines, latents reordered to face their best feature."""
    order = matched_latent_order(cosines)
    sns.heatmap(
        cosines[order].numpy(),
        ax=ax,
        cmap=COSINE_CMAP,
        vmin=-1,
        vmax=1,
        center=0,
        cbar=colorbar,
        xticklabels=10,
        yticklabels=10,
        cbar_kws={"label": "cosine similarity"} if colorbar else None,
    )
    ax.set_xlabel("true feature")
    ax.set_ylabel("SAE latent (matched order)")
    ax.set_title(title)


def cosine_heatmaps(cosines: Sequence[torch.Tensor], titles: Sequence[str]) -> Figure:
    """A row of :func:`cosine_heatmap` panels sharing one colour bar."""
    fig, axes = plt.subplots(
        1, len(cosines), figsize=(4.2 * len(cosines) + 0.8, 4), layout="constrained"
    )
    axes = [axes] if len(cosines) == 1 else list(axes)
    for i, (ax, cos, title) in enumerate(zip(axes, cosines, titles, strict=True)):
        cosine_heatmap(ax, cos, title, colorbar=i == len(axes) - 1)
        if i:
            ax.set_ylabel("")
    return fig


def mark_true_l0(ax: Axes, true_l0: float, horizontal: bool = False) -> None:
    """The dotted line at the true L0 used in SBW's figures (vertical on an L0 x-axis)."""
    line = ax.axhline if horizontal else ax.axvline
    line(true_l0, color="0.3", linestyle=":", label=f"true L0 = {true_l0:.2f}")
