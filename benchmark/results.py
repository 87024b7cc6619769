"""Results files: JSON Schema validation plus the consistency checks a schema cannot say."""
import json
from functools import lru_cache
from pathlib import Path

import jsonschema

from generators.atomic import write_json_atomic

from .errors import ResultsError

SCHEMA_PATH = Path(__file__).with_name("results.schema.json")


@lru_cache(maxsize=None)
def load_schema(path):
    return json.loads(Path(path).read_text())


def schema():
    return load_schema(SCHEMA_PATH)


def check_schema(document, schema_path, origin, what):
    """Raise ResultsError naming the first place where ``document`` fails the schema."""
    validator = jsonschema.Draft202012Validator(load_schema(schema_path), format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path) or "(top level)"
        raise ResultsError(f"{origin}: fails the {what} schema at {where}: {errors[0].message}")


def validate(results, origin="results"):
    """Raise ResultsError naming the first problem; return ``results`` when valid."""
    check_schema(results, SCHEMA_PATH, origin, "results")
    grid = results["grid"]
    n_steps = len(grid["steps"])
    if grid["steps"] != sorted(set(grid["steps"])):
        raise ResultsError(f"{origin}: grid/steps must be strictly increasing")
    for row in grid["rows"]:
        for key in ("mean", "ci_low", "ci_high"):
            if len(row[key]) != n_steps:
                raise ResultsError(f"{origin}: grid row of difficulty {row['difficulty']} has {len(row[key])} "
                                   f"{key} values for {n_steps} steps")
        if any(lo > m + 1e-9 or m > hi + 1e-9 for lo, m, hi in zip(row["ci_low"], row["mean"], row["ci_high"])):
            raise ResultsError(f"{origin}: grid row of difficulty {row['difficulty']} has a mean outside its CI")
    grid_d = sorted(row["difficulty"] for row in grid["rows"])
    data_d = sorted(d["difficulty"] for d in results["datasets"])
    if grid_d != data_d or len(set(grid_d)) != len(grid_d):
        raise ResultsError(f"{origin}: grid difficulties {grid_d} do not match the datasets cited {data_d}")
    return results


def _no_constant(name):
    raise ValueError(f"{name} is not a number a results file may hold")


def load(path):
    path = Path(path)
    if not path.is_file():
        raise ResultsError(f"{path}: no such results file")
    try:
        results = json.loads(path.read_text(), parse_constant=_no_constant)
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as exc:
        raise ResultsError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(results, dict):
        raise ResultsError(f"{path}: a results file holds one JSON object")
    return validate(results, origin=str(path))


def write(results, path):
    validate(results, origin=str(path))
    write_json_atomic(path, results)
    return Path(path)
