"""Extrapolation plots: metric vs steps, one line per difficulty, training budget marked."""
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from generators.atomic import replacing

METRIC_LABELS = {"maze_exact": "whole-maze exact accuracy", "accuracy": "accuracy", "iou": "IoU", "f1": "F1"}


def extrapolation_plot(grid, train, path, title=None):
    """Write a PNG of ``grid`` (results['grid']); ``train`` = {'difficulty', 'steps'}."""
    path = Path(path)
    steps = grid["steps"]
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    cmap = plt.get_cmap("viridis")
    rows = sorted(grid["rows"], key=lambda r: r["difficulty"])
    for k, row in enumerate(rows):
        colour = cmap(k / max(1, len(rows) - 1))
        trained = row["difficulty"] == train["difficulty"]
        label = f"{row['difficulty']}{' (train)' if trained else ''}"
        if len(steps) == 1:
            ax.errorbar(steps, row["mean"], yerr=[[row["mean"][0] - row["ci_low"][0]],
                                                  [row["ci_high"][0] - row["mean"][0]]],
                        fmt="o", color=colour, label=label)
        else:
            ax.plot(steps, row["mean"], color=colour, lw=2.2 if trained else 1.4, label=label)
            ax.fill_between(steps, row["ci_low"], row["ci_high"], color=colour, alpha=0.15, lw=0)
        if trained and train["steps"] in steps:
            i = steps.index(train["steps"])
            ax.plot([train["steps"]], [row["mean"][i]], "o", ms=12, mfc="none", mec="crimson", mew=2,
                    label="training budget")
    if len(steps) > 1:
        ax.axvline(train["steps"], color="crimson", ls=":", lw=1)
    ax.set_xlabel("recurrent steps")
    ax.set_ylabel(METRIC_LABELS.get(grid["metric"], grid["metric"]))
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(title="difficulty", fontsize=7, title_fontsize=8, ncol=2 if len(rows) > 8 else 1,
              loc="best")
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    with replacing(path, suffix=".png") as tmp:
        fig.savefig(tmp)
    plt.close(fig)
    return path
