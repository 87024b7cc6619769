"""Re-scoring a results file on fresh test sets: is the claimed score what the model does?

The board's test sets are public and pinned, so a model can be tuned to (or memorise) the
very test images. ``rescore`` runs the submitted model on fresh sets of the same suite
parameters generated from a new base seed, under the same step grid and label-free rule,
and compares each difficulty's claimed label-free score with the fresh one.

Verdict per difficulty: the 95% interval of (fresh - claimed) is the two scores' bootstrap
intervals combined (half-widths added in quadrature), widened for the number of
difficulties compared (Bonferroni), so an honest model fails the whole check with at most
5% chance. A claim is inconsistent when that interval lies entirely below zero: the model
does worse on fresh data than it claims. Also reported: whether the claimed score lies
inside the fresh interval, and whether the two intervals overlap.
"""
import dataclasses
import datetime
import math
import secrets
from pathlib import Path
from statistics import NormalDist

from generators.atomic import write_json_atomic

from . import results as rs
from .contract import file_sha256
from .errors import HarnessError
from .evaluate import EvalConfig, evaluate

FORMAT = "recurrent-vision-bench/rescore"
FORMAT_VERSION = 1
SCHEMA_PATH = Path(__file__).with_name("rescore.schema.json")
CONFIDENCE = 0.95


@dataclasses.dataclass
class RescoreConfig:
    results: Path                     # the results file whose claims are checked
    model: str = None                 # model file or baselines:NAME (default: the one the results cite)
    weights: Path = None              # required when the results cite weights
    seed: int = None                  # base seed of the fresh sets (default: from OS entropy)
    data_root: Path = None
    device: str = "cpu"
    n_boot: int = 1000
    threads: int = None
    generate_workers: int = 1
    progress: callable = dataclasses.field(default=None, repr=False)


def rescore(config):
    """(report dict, fresh results dict); the report says per difficulty whether the claim holds."""
    claimed = rs.load(config.results)
    model = claimed["model"]
    if model["weights_sha256"] and config.weights is None:
        raise HarnessError(f"{config.results} cites weights (sha256 {model['weights_sha256'][:12]}...); "
                           "pass them with --weights")
    seed, seed_source = (config.seed, "given") if config.seed is not None else (secrets.randbits(63), "os-entropy")
    if not 0 <= seed < 2 ** 64:
        raise HarnessError(f"seed {seed} is outside 0..2**64-1")
    rows = claimed["grid"]["rows"]
    fresh, _ = evaluate(EvalConfig(
        model=config.model or model["source"], task=claimed["task"], sets=claimed["suite"]["sets"],
        train_difficulty=model["train"]["difficulty"], train_steps=model["train"]["steps"],
        difficulties=[r["difficulty"] for r in rows], steps=claimed["grid"]["steps"], weights=config.weights,
        device=config.device, data_root=config.data_root, budget_rule=claimed["derived"]["label_free"]["rule"],
        name=model["name"], n_boot=config.n_boot, threads=config.threads, test_seed=seed,
        generate_workers=config.generate_workers, progress=config.progress))
    for key in ("sha256", "weights_sha256"):
        if fresh["model"][key] != model[key]:
            what = "model code" if key == "sha256" else "weights"
            raise HarnessError(f"the {what} given (sha256 {str(fresh['model'][key])[:12]}...) are not those the "
                               f"results cite ({str(model[key])[:12]}...); rescore the submitted model")
    pairs = list(zip(claimed["derived"]["label_free"]["per_difficulty"], fresh["derived"]["label_free"]["per_difficulty"]))
    z = NormalDist().inv_cdf(1 - (1 - CONFIDENCE) / (2 * len(pairs)))
    comparisons = [_compare(c, f, z) for c, f in pairs]
    report = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "results": {"path": str(config.results), "sha256": file_sha256(config.results), "task": claimed["task"],
                    "sets": claimed["suite"]["sets"], "model": model["name"], "model_sha256": model["sha256"],
                    "weights_sha256": model["weights_sha256"]},
        "fresh": {"seed": seed, "seed_source": seed_source,
                  "datasets": [{k: d[k] for k in ("difficulty", "key", "count", "manifest_sha256")}
                               for d in fresh["datasets"]]},
        "rule": claimed["derived"]["label_free"]["rule"],
        "confidence": CONFIDENCE, "correction": "bonferroni", "z": round(z, 4),
        "comparisons": comparisons,
        "passed": all(c["consistent"] for c in comparisons),
        "date": datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat(),
    }
    validate(report)
    return report, fresh


def _compare(claimed, fresh, z):
    half = math.hypot((claimed["ci"][1] - claimed["ci"][0]) / 2, (fresh["ci"][1] - fresh["ci"][0]) / 2) * z / 1.96
    diff = fresh["score"] - claimed["score"]
    return {
        "difficulty": claimed["difficulty"], "steps": claimed["steps"],
        "claimed": {"score": claimed["score"], "ci": claimed["ci"]},
        "fresh": {"score": fresh["score"], "ci": fresh["ci"]},
        "difference": {"value": round(diff, 6), "ci": [round(diff - half, 6), round(diff + half, 6)]},
        "claimed_in_fresh_interval": fresh["ci"][0] <= claimed["score"] <= fresh["ci"][1],
        "intervals_overlap": claimed["ci"][0] <= fresh["ci"][1] and fresh["ci"][0] <= claimed["ci"][1],
        "consistent": diff + half >= 0,
    }


def validate(report, origin="rescore report"):
    rs.check_schema(report, SCHEMA_PATH, origin, "rescore")
    return report


def write(report, path):
    validate(report, origin=str(path))
    write_json_atomic(path, report)
    return Path(path)


def lines(report):
    """What ``bench rescore`` prints: one line per difficulty, then the verdict."""
    out = [f"fresh test sets: seed {report['fresh']['seed']} ({report['fresh']['seed_source']}); "
           f"label-free rule {report['rule']}"]
    for c in report["comparisons"]:
        out.append(f"difficulty {c['difficulty']:>3}: claimed {100 * c['claimed']['score']:5.1f}%, "
                   f"fresh {100 * c['fresh']['score']:5.1f}% [{100 * c['fresh']['ci'][0]:.1f}, "
                   f"{100 * c['fresh']['ci'][1]:.1f}]; difference {100 * c['difference']['value']:+.1f} "
                   f"[{100 * c['difference']['ci'][0]:+.1f}, {100 * c['difference']['ci'][1]:+.1f}]"
                   f"{'' if c['consistent'] else '  CLAIM TOO HIGH'}")
    bad = [str(c["difficulty"]) for c in report["comparisons"] if not c["consistent"]]
    out.append("PASSED: the claimed scores hold on fresh data" if report["passed"] else
               f"FAILED: claimed scores above what the model does on fresh data at difficulty {', '.join(bad)}")
    return out
