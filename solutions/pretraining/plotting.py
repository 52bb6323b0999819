"""Plotting helpers for the notebooks: image grids, training curves, and mean ± std over seeds.

Each takes a title and axis labels (with units), returns the figure, and uses fonts large enough to read in a
notebook without zooming.
"""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

TITLE, LABEL, TICKS = 13, 12, 10  # font sizes


def _axes(ax, figsize):
    if ax is not None:
        return ax.figure, ax
    return plt.subplots(figsize=figsize, constrained_layout=True)


def show_images(rows: dict[str, torch.Tensor], title: str, image_shape: tuple[int, int] | None = None,
                max_columns: int = 10):
    """A grid of grey images: one row per entry of ``rows`` (its key labels the row), one column per image.

    Each value is (N, 1, H, W), (N, H, W) or flat (N, D) with ``image_shape`` = (H, W); the first
    ``max_columns`` images are shown, on one shared grey scale from 0 (black) to 1 (white), clipped.
    """
    n = min(max_columns, min(len(v) for v in rows.values()))
    fig, axes = plt.subplots(len(rows), n, figsize=(1.1 * n + 1.5, 1.2 * len(rows) + 0.6), squeeze=False,
                             constrained_layout=True)
    for i, (label, images) in enumerate(rows.items()):
        images = images.detach().cpu().float()
        images = images.reshape(len(images), *(image_shape or images.shape[-2:]))  # (N, H, W)
        for j in range(n):
            ax = axes[i, j]
            ax.imshow(images[j].clamp(0, 1), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([]), ax.set_yticks([])
        axes[i, 0].set_ylabel(label, fontsize=LABEL, rotation=0, ha="right", va="center")
    fig.suptitle(title, fontsize=TITLE)
    return fig


def plot_curves(curves: dict[str, Sequence[float]], title: str, xlabel: str = "optimizer step",
                ylabel: str = "training loss", log_y: bool = True, ax=None):
    """One line per entry of ``curves`` (label → values per step), on a log scale by default."""
    fig, ax = _axes(ax, (7, 4))
    for label, values in curves.items():
        ax.plot(np.arange(1, len(values) + 1), values, label=label, linewidth=1.5)
    if log_y:
        ax.set_yscale("log")
    ax.set_title(title, fontsize=TITLE)
    ax.set_xlabel(xlabel, fontsize=LABEL)
    ax.set_ylabel(ylabel, fontsize=LABEL)
    ax.tick_params(labelsize=TICKS)
    ax.grid(alpha=0.3)
    if len(curves) > 1:
        ax.legend(fontsize=TICKS)
    return fig


def plot_mean_std(x: Sequence[float], results: dict[str, np.ndarray], title: str, xlabel: str, ylabel: str,
                  log_x: bool = False, baselines: dict[str, float] | None = None, ax=None):
    """Mean ± standard deviation over seeds against ``x``: ``results[label]`` is (n_seeds, len(x)).

    ``baselines`` (label → value) are drawn as dashed horizontal lines, in the colour of the same label.
    """
    fig, ax = _axes(ax, (7, 4))
    colours = {}
    for label, values in results.items():
        values = np.asarray(values, dtype=float)
        line = ax.errorbar(x, values.mean(axis=0), yerr=values.std(axis=0), label=label, marker="o", capsize=3,
                           linewidth=1.5, markersize=4)
        colours[label] = line[0].get_color()
    for label, value in (baselines or {}).items():
        ax.axhline(value, linestyle="--", linewidth=1, color=colours.get(label, "grey"), alpha=0.8)
    if log_x:
        ax.set_xscale("log", base=2)
        ax.set_xticks(list(x), [str(v) for v in x])
    ax.set_title(title, fontsize=TITLE)
    ax.set_xlabel(xlabel, fontsize=LABEL)
    ax.set_ylabel(ylabel, fontsize=LABEL)
    ax.tick_params(labelsize=TICKS)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=TICKS)
    return fig


def bar_mean_std(groups: Sequence[str], results: dict[str, np.ndarray], title: str, ylabel: str,
                 ylim: tuple[float, float] | None = None, ax=None):
    """Grouped bars, mean ± standard deviation over seeds: ``results[label]`` is (n_seeds, len(groups))."""
    fig, ax = _axes(ax, (9, 4))
    width = 0.8 / len(results)
    for i, (label, values) in enumerate(results.items()):
        values = np.asarray(values, dtype=float)
        positions = np.arange(len(groups)) + (i - (len(results) - 1) / 2) * width
        ax.bar(positions, values.mean(axis=0), width, yerr=values.std(axis=0), label=label, capsize=2)
    ax.set_xticks(np.arange(len(groups)), list(groups))
    if ylim:
        ax.set_ylim(*ylim)
    ax.set_title(title, fontsize=TITLE)
    ax.set_ylabel(ylabel, fontsize=LABEL)
    ax.tick_params(labelsize=TICKS)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=TICKS, ncols=min(3, len(results)))
    return fig
