"""The analyses' outputs: a JSON report checked against its schema, and its figure.

``stability``: per image, the state distance ||h_N - h_T|| between the trained step N and a
much later T (the C-RBP paper: 43.55 for BPTT, 1.96 for C-BPTT, 0.11 for C-RBP on
PathFinder-14 segmentation), the spectral norm of the step's Jacobian at h_T (power
iteration), convergence (relative last change below a tolerance) and the curve of
||h_t - h_t-1||. ``predictions``: the model's output after each of some step budgets for
a few test images, as one picture (rows = images, columns = steps). ``decode``: linear
decoders of the task's variables from every recorded layer at every step (decoding.py).
"""
import datetime
import math
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from generators.atomic import replacing, write_json_atomic  # noqa: E402

from .. import contract, metrics, results as rs  # noqa: E402
from . import stability  # noqa: E402
from .inputs import summary  # noqa: E402

SCHEMAS = Path(__file__).with_name("schemas")
FORMAT = "recurrent-vision-bench/analysis-{}"
RECURRENT_INPUT = "feedback"     # the trace key holding each layer's recurrent input
C_RBP_PAPER = {"figure": "state distance ||h_N - h_T||, PathFinder-14 segmentation, T >> N",
               "BPTT": 43.55, "C-BPTT": 1.96, "C-RBP": 0.11}


def _header(kind, task, sets, subject, data):
    return {"format": FORMAT.format(kind), "format_version": 1, "task": task, "sets": sets,
            "model": subject.identity(), "data": data,
            "date": datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()}


def write(report, kind, path):
    """Validate ``report`` against ``schemas/<kind>.schema.json`` and write it atomically."""
    rs.check_schema(report, SCHEMAS / f"{kind}.schema.json", str(path), f"{kind} analysis")
    write_json_atomic(path, report)
    return Path(path)


def _numbers(t):
    return [float(v) if np.isfinite(v) else None for v in t.detach().cpu().double().numpy()]


def stability_report(subject, x, task, sets, data, horizon, tolerance, iters=20):
    n = subject.info.train_steps
    with torch.enable_grad():
        got = stability.report(subject.model, x.to(subject.device), n, horizon, tolerance, iters)
    sizes = got["step_sizes"].cpu().double().numpy()
    return {
        **_header("stability", task, sets, subject, data),
        "trained_steps": n, "horizon": horizon, "tolerance": tolerance, "power_iterations": iters,
        "summary": {"distance": summary(_numbers(got["distance"])),
                    "relative_distance": summary(_numbers(got["relative_distance"])),
                    "jacobian_norm": summary(_numbers(got["jacobian_norm"])),
                    "converged_share": float(got["converged"].float().mean())},
        "per_image": {"distance": _numbers(got["distance"]), "jacobian_norm": _numbers(got["jacobian_norm"]),
                      "converged": [bool(v) for v in got["converged"]]},
        "step_sizes": {q: [float(v) if np.isfinite(v) else None for v in np.nanpercentile(sizes, p, axis=1)]
                       for q, p in (("q25", 25), ("median", 50), ("q75", 75))},
        "reference": C_RBP_PAPER,
    }


def stability_plot(report, path):
    fig, (a, b) = plt.subplots(1, 2, figsize=(9.6, 3.8), dpi=110)
    t = np.arange(1, report["horizon"] + 1)
    med = np.array([np.nan if v is None else v for v in report["step_sizes"]["median"]])
    lo = np.array([np.nan if v is None else v for v in report["step_sizes"]["q25"]])
    hi = np.array([np.nan if v is None else v for v in report["step_sizes"]["q75"]])
    a.plot(t, med, color="navy", lw=1.6, label="median over images")
    a.fill_between(t, lo, hi, color="navy", alpha=0.2, lw=0, label="25-75%")
    a.axvline(report["trained_steps"], color="crimson", ls=":", lw=1, label=f"trained steps ({report['trained_steps']})")
    a.set_yscale("log")
    a.set_xlabel("step t")
    a.set_ylabel("||h_t - h_(t-1)||")
    a.legend(fontsize=7)
    a.grid(alpha=0.3)
    norms = [v for v in report["per_image"]["jacobian_norm"] if v is not None]
    b.hist(norms, bins=20, color="gray")
    b.axvline(1.0, color="crimson", ls=":", lw=1)
    b.set_xlabel(f"spectral norm of dF/dh at h_{report['horizon']}")
    b.set_ylabel("images")
    s = report["summary"]
    fig.suptitle(f"{report['model']['name']} on {report['data']['key']}: ||h_N - h_T|| median "
                 f"{_fmt(s['distance']['median'])}, converged {100 * s['converged_share']:.0f}%", fontsize=9)
    fig.tight_layout()
    _save(fig, path)


def predictions_report(subject, x, y, task, sets, data, budgets, metric_name):
    """Outputs after each budget; per image and budget the metric and (classification) the
    predicted class with its probability."""
    metric = metrics.METRICS[metric_name]
    x = x.to(subject.device)
    cells, arrays = [], []
    with torch.inference_mode():
        for t, logits in contract.budgets_outputs(subject.model, x, budgets):
            logits = logits.float().cpu()
            pred = metrics.predictions(logits)
            score = metric(pred, y, x.cpu())
            prob = torch.softmax(logits, dim=1) if pred.dim() == 1 else None     # classifiers only
            cells.append({"steps": int(t), "score": [float(v) for v in score],
                          "predicted": [int(v) for v in pred] if pred.dim() == 1 else None,
                          "probability": ([float(prob[i, int(pred[i])]) for i in range(len(pred))]
                                          if pred.dim() == 1 else None)})
            arrays.append((int(t), pred, prob))
    report = {**_header("predictions", task, sets, subject, data), "metric": metric_name,
              "targets": [int(v) for v in y] if y.dim() == 1 else None, "budgets": cells}
    return report, arrays


def predictions_plot(report, x, y, arrays, path):
    n, cols = x.shape[0], len(arrays) + 1
    fig, axes = plt.subplots(n, cols, figsize=(1.25 * cols, 1.3 * n), dpi=110, squeeze=False)
    for i in range(n):
        image = x[i].permute(1, 2, 0).numpy() if x.shape[1] == 3 else x[i, 0].numpy()
        axes[i, 0].imshow(image, cmap=None if x.shape[1] == 3 else "gray", vmin=0, vmax=1)
        axes[i, 0].set_title("input" if i == 0 else "", fontsize=7)
        if y.dim() == 1:
            axes[i, 0].set_ylabel(f"label {int(y[i])}", fontsize=7)
        for j, (t, pred, prob) in enumerate(arrays, start=1):
            ax = axes[i, j]
            ok = report["budgets"][j - 1]["score"][i] >= 0.999
            if pred.dim() == 1:               # classification: the input, the predicted class and its probability
                ax.imshow(image, cmap=None if x.shape[1] == 3 else "gray", vmin=0, vmax=1, alpha=0.35)
                ax.text(0.5, 0.5, f"{int(pred[i])}\n{float(prob[i, int(pred[i])]):.2f}", ha="center", va="center",
                        transform=ax.transAxes, fontsize=8, color="darkgreen" if ok else "crimson")
            else:                             # segmentation: the predicted target pixels over the input
                grey = image.mean(axis=2) if image.ndim == 3 else image
                overlay = np.stack([grey] * 3, axis=2) * 0.5
                overlay[pred[i].numpy() == 1] = (1.0, 0.1, 0.8)
                ax.imshow(overlay)
            for side in ax.spines.values():
                side.set_edgecolor("darkgreen" if ok else "crimson")
                side.set_linewidth(1.5)
            if i == 0:
                ax.set_title(f"{t} step{'s' if t > 1 else ''}", fontsize=7)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"{report['model']['name']} on {report['data']['key']} (frame green: correct, red: wrong)",
                 fontsize=8)
    fig.tight_layout()
    _save(fig, path)


def _fmt(v):
    return "n/a" if v is None else f"{v:.3g}"


def _save(fig, path):
    with replacing(Path(path), suffix=".png") as tmp:
        fig.savefig(tmp, bbox_inches="tight")
    plt.close(fig)


def decode_report(subject, x, task, sets, data, variables, steps, n_train, n_test, repeats, max_features, seed,
                  jobs=1):
    from .decoding import decode, record

    t0 = time.perf_counter()
    recorded = record(subject.model, x.to(subject.device), steps, max_features)
    t1 = time.perf_counter()
    rows = decode(recorded, variables, n_train, n_test, repeats, seed, jobs)
    record_seconds, decode_seconds = t1 - t0, time.perf_counter() - t1
    return {
        **_header("decode", task, sets, subject, data),
        "decoder": "sklearn LinearSVC, default parameters", "steps": steps, "train_images": n_train,
        "test_images": n_test, "repeats": repeats, "seed": seed, "max_features": max_features,
        "layers": {name: int(f.shape[1]) for name, f in recorded[0].items()},
        # trace's "feedback" entries: each layer's recurrent input alone (lateral + top-down)
        "recurrent_input_layers": [name for name in recorded[0] if name.startswith(RECURRENT_INPUT)],
        "variables": {name: {"classes": int(np.unique(v).size)} for name, v in variables.items()},
        "rows": rows,
        "seconds": {"record": round(record_seconds, 3), "decode": round(decode_seconds, 3)},
    }


def decode_plot(report, path):
    """Accuracy over steps, one line per layer, one panel per variable; chance and the
    permuted-label baseline dashed."""
    def extras(ax, rows):
        steps = sorted({r["step"] for r in rows})
        ax.axhline(rows[0]["chance"], color="gray", ls="--", lw=1, label="chance")
        ax.plot(steps, [np.mean([r["permutation"] for r in rows if r["step"] == s]) for s in steps],
                color="crimson", ls=":", lw=1, label="permuted labels")
        ax.set_ylim(0, 1.02)

    _layer_panels(report, "accuracy", "decoding accuracy", "step", lambda layer: layer, extras,
                  f"{report['model']['name']} on {report['data']['key']}: linear decoding per layer and step", path)


def _layer_panels(report, value, ylabel, xlabel, label_of, extras, title, path):
    """One panel per variable, in it one line per layer (``value`` over steps, 95% interval
    as error bars); the legend beside the panels."""
    names = list(report["variables"])
    layers = list(report["layers"])
    cols = min(3, len(names))
    rows_n = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows_n, cols, figsize=(3.4 * cols, 2.8 * rows_n), dpi=110, squeeze=False, sharey=True)
    cmap = plt.get_cmap("viridis")
    for ax, name in zip(axes.ravel(), names):
        rows = [r for r in report["rows"] if r["variable"] == name]
        for k, layer in enumerate(layers):
            mine = sorted((r for r in rows if r["layer"] == layer), key=lambda r: r["step"])
            y = [r[value] for r in mine]
            err = [[max(0.0, v - r["ci"][0]) for v, r in zip(y, mine)], [max(0.0, r["ci"][1] - v) for v, r in zip(y, mine)]]
            ax.errorbar([r["step"] for r in mine], y, yerr=err, marker="o", ms=3, lw=1.2, elinewidth=0.6, capsize=1.5,
                        color=cmap(k / max(1, len(layers) - 1)), label=label_of(layer))
        extras(ax, rows)
        ax.set_xticks(sorted({r["step"] for r in rows}))
        ax.set_title(name, fontsize=9)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[len(names):]:
        ax.axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel(ylabel, fontsize=8)
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    _save(fig, path)


def perturb_report(subject, x, y, twins, task, sets, data, steps, repeats, seed, twin_seconds):
    from .perturb import importance

    t0 = time.perf_counter()
    rows = importance(subject.model, x.to(subject.device), y.to(subject.device),
                      {k: v.to(subject.device) for k, v in twins.items()}, steps, repeats, seed)
    return {
        **_header("perturb", task, sets, subject, data),
        "method": "twin's recurrent input injected at (layer, step); control: the same, elements permuted per "
                  "image; importance = (acc_control - acc_systematic) / acc_original, final-step category",
        "steps": steps, "repeats": repeats, "seed": seed, "variables": list(twins),
        "layers": sorted({r["layer"] for r in rows}), "rows": rows,
        "seconds": {"twins": twin_seconds, "perturb": time.perf_counter() - t0},
    }


def perturb_plot(report, path):
    """Importance over injection steps, one line per layer, one panel per variable."""
    def extras(ax, rows):
        ax.axhline(0, color="gray", lw=1)

    _layer_panels(report, "importance", "functional importance", "injection step", lambda layer: f"layer {layer}",
                  extras, f"{report['model']['name']} on {report['data']['key']}: feedback from a twin", path)
