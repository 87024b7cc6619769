"""A model's fresh results beside the board's entries for the same task and sets.

``bench evaluate`` prints this table and draws this plot after every evaluation, so a
model is compared with the bundled baselines (or any private board) with no extra step.
"""
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from benchmark.plots import METRIC_LABELS
from generators.atomic import replacing

from .board import make_entry, rank_score, tables
from .render import table

THIS_RUN = " (this run)"


def peers(board, results):
    """Board entries of the results' task and sets, ranked best first."""
    return tables(board).get((results["task"], results["suite"]["sets"]), [])


def this_run(results):
    """The results as the board would hold them, named as this run."""
    entry = make_entry(results)
    return {**entry, "name": entry["name"] + THIS_RUN}


def comparison_table(results, entries):
    """Lines of the board's table with this run ranked among the ``entries``."""
    ranked = sorted(entries + [this_run(results)], key=lambda e: (-rank_score(e), e["date"]))
    return table(results["task"], results["suite"]["sets"], ranked)


def comparison_plot(results, entries, path):
    """Label-free score vs difficulty: this run in bold, each board entry beside it."""
    path = Path(path)
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    cmap = plt.get_cmap("tab10")
    for k, entry in enumerate(entries + [this_run(results)]):
        mine = entry["name"].endswith(THIS_RUN)
        scores = sorted((int(d), s) for d, s in entry["label_free"]["scores"].items())
        ax.plot([d for d, _ in scores], [s for _, s in scores], marker="o", ms=4 if mine else 3,
                lw=2.6 if mine else 1.2, color="black" if mine else cmap(k % 10),
                label=f"{entry['name']} ({entry['recipe']})")
        ax.axvline(entry["train"]["difficulty"], color="black" if mine else cmap(k % 10), ls=":", lw=0.8)
    ax.set_xlabel("difficulty (dotted: training difficulty)")
    ax.set_ylabel(f"{METRIC_LABELS.get(results['grid']['metric'], results['grid']['metric'])}, label-free budget")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    ax.set_title(f"{results['task']} ({results['suite']['sets']} sets): this run against the board", fontsize=10)
    fig.tight_layout()
    with replacing(path, suffix=".png") as tmp:
        fig.savefig(tmp)
    plt.close(fig)
    return path
