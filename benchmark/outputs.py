"""Files of one evaluation: results JSON (schema-checked), extrapolation plot, per-sample scores."""
from pathlib import Path

import numpy as np

from generators.atomic import replacing
from . import results as rs
from .plots import extrapolation_plot


def companion(out, suffix):
    out = Path(out)
    return out.with_name(out.stem + suffix)


def write_samples(samples, steps, path):
    """Per-sample score and confidence at every step: ``scores_<d>``, ``confidence_<d>`` [steps, N]."""
    arrays = {"steps": np.asarray(steps, np.int32)}
    for d, (scores, conf) in samples.items():
        arrays[f"scores_{d}"] = scores.astype(np.float32)
        arrays[f"confidence_{d}"] = conf.astype(np.float32)
    with replacing(path, suffix=".npz") as tmp:
        np.savez_compressed(tmp, **arrays)
    return path


def write_all(results, samples, out):
    """Validate and write the results, then the plot and per-sample file beside them."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rs.validate(results, origin=str(out))
    plot = companion(out, ".png")
    extrapolation_plot(results["grid"], results["model"]["train"], plot,
                       title=f"{results['model']['name']} on {results['task']} ({results['suite']['sets']} sets)")
    per_sample = write_samples(samples, results["grid"]["steps"], companion(out, ".samples.npz"))
    rs.write(results, out)
    return [out, plot, per_sample]
