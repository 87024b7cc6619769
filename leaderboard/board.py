"""The leaderboard file: submit (validate, check data, reject duplicates, merge) and rank.

A board is a JSON file (the public ``leaderboard/leaderboard.json`` or any private path)
holding entries built from results files. Every write is atomic.
"""
import hashlib
import json
from pathlib import Path

from benchmark import results as rs, suite
from benchmark.contract import file_sha256
from benchmark.errors import HarnessError, ResultsError
from generators.atomic import write_json_atomic

BOARD_FORMAT = "recurrent-vision-bench/leaderboard"
BOARD_FORMAT_VERSION = 1
PUBLIC_BOARD = Path(__file__).with_name("leaderboard.json")
PINNED_MANIFESTS = Path(__file__).with_name("suite_manifests.json")


def empty_board():
    return {"format": BOARD_FORMAT, "format_version": BOARD_FORMAT_VERSION, "entries": []}


def load_board(path, create=False):
    path = Path(path)
    if not path.exists():
        if create:
            return empty_board()
        raise ResultsError(f"{path}: no such leaderboard file")
    try:
        board = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ResultsError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(board, dict) or board.get("format") != BOARD_FORMAT or not isinstance(board.get("entries"), list):
        raise ResultsError(f"{path}: not a leaderboard file (expected format {BOARD_FORMAT!r} with a list of entries)")
    return board


def canonical_sha256(obj):
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def entry_id(results):
    """Same model code, weights, task, sets and training setting = the same entry."""
    m = results["model"]
    return canonical_sha256({"task": results["task"], "sets": results["suite"]["sets"], "model": m["sha256"],
                             "weights": m["weights_sha256"], "train": m["train"]})[:16]


def pinned_manifests():
    if not PINNED_MANIFESTS.is_file():
        return {}
    return json.loads(PINNED_MANIFESTS.read_text()).get("manifests", {})


def expected_manifest(key, data_root):
    """The suite's manifest sha256 for a set key: pinned first, else the local standard data."""
    pinned = pinned_manifests()
    if key in pinned:
        return pinned[key]
    regime, task, difficulty, split = key.split("/")
    return suite.manifest_hash(suite.DataSpec(task, regime, int(difficulty), split), data_root)


def check_data(results, data_root=suite.DEFAULT_DATA_ROOT):
    """Every cited dataset must be the suite's set, byte for byte (manifest sha256)."""
    task, sets = results["task"], results["suite"]["sets"]
    if sets == "custom":
        raise ResultsError("results on --test-data sets are not board entries; the board takes the suite's "
                           "standard or quick sets")
    if results["suite"]["version"] != suite.SUITE_VERSION:
        raise ResultsError(f"results cite suite version {results['suite']['version']}, this board takes "
                           f"{suite.SUITE_VERSION}")
    try:
        spec = suite.get(task)
    except HarnessError as exc:
        raise ResultsError(str(exc)) from None
    cited = {d["difficulty"] for d in results["datasets"]}
    missing = [d for d in suite.default_test_difficulties(task, sets) if d not in cited]
    if missing:
        raise ResultsError(f"results must cover the {sets} {task} test difficulties "
                           f"{', '.join(map(str, suite.default_test_difficulties(task, sets)))}; "
                           f"missing {', '.join(map(str, missing))}")
    for d in results["datasets"]:
        key = f"{sets}/{task}/{d['difficulty']}/test"
        if d["key"] != key or d["difficulty"] not in spec.test_difficulties:
            raise ResultsError(f"dataset {d['key']!r} is not a test set of the {sets} {task} suite")
        if d["count"] != spec.count(sets, "test", d["difficulty"]):
            raise ResultsError(f"dataset {key} was evaluated on {d['count']} samples, the suite has "
                               f"{spec.count(sets, 'test', d['difficulty'])}")
        expected = expected_manifest(key, data_root)
        if expected is None:
            raise ResultsError(f"cannot check dataset {key}: no pinned manifest and no local copy under "
                               f"{data_root}; run: bench data prepare --task {task}"
                               f"{' --quick' if sets == 'quick' else ''}")
        if d["manifest_sha256"] != expected:
            raise ResultsError(f"dataset {key}: manifest sha256 {d['manifest_sha256'][:12]}... is not the suite's "
                               f"({expected[:12]}...); the results were computed on other data")


def make_entry(results):
    m = results["model"]
    derived = results["derived"]
    return {
        "id": entry_id(results),
        "results_sha256": canonical_sha256(results),
        "task": results["task"], "sets": results["suite"]["sets"], "suite_version": results["suite"]["version"],
        "name": m["name"], "source": m["source"], "recipe": m["recipe"],
        "model_sha256": m["sha256"], "weights_sha256": m["weights_sha256"],
        "parameters": m["parameters"], "recurrent": m["recurrent"], "train": m["train"],
        "in_distribution": derived["in_distribution"]["score"] if derived["in_distribution"] else None,
        "label_free": {"rule": derived["label_free"]["rule"],
                       "scores": {str(r["difficulty"]): r["score"] for r in derived["label_free"]["per_difficulty"]}},
        "oracle": {str(r["difficulty"]): {"steps": r["steps"], "score": r["score"]}
                   for r in derived["oracle"]["per_difficulty"]},
        "grid": results["grid"],
        "datasets": {str(d["difficulty"]): d["manifest_sha256"] for d in results["datasets"]},
        "flops_per_step": results["compute"]["flops"]["per_step"],
        "device": results["provenance"]["device"], "date": results["provenance"]["date"],
        "rescored": None,
    }


def check_submission(results_path, board_path=PUBLIC_BOARD, data_root=suite.DEFAULT_DATA_ROOT):
    """Validate, check data, reject duplicates; return (board, new entry) without writing."""
    results = rs.load(results_path)
    board = load_board(board_path, create=Path(board_path) != PUBLIC_BOARD)
    check_data(results, data_root)
    entry = make_entry(results)
    for other in board["entries"]:
        if other["id"] == entry["id"] or other["results_sha256"] == entry["results_sha256"]:
            raise ResultsError(f"{results_path}: duplicate of board entry {other['id']} ({other['name']}, "
                               f"{other['date']}): same model code, weights, task, sets and training setting")
    return board, entry


def submit(results_path, board_path=PUBLIC_BOARD, data_root=suite.DEFAULT_DATA_ROOT, rescore=None):
    """Validate, check data, reject duplicates, merge; return the new entry. ``rescore``: the
    passed report of ``bench rescore`` on these results, recorded in the entry."""
    board, entry = check_submission(results_path, board_path, data_root)
    if rescore is not None:
        if not rescore["passed"] or rescore["results"]["sha256"] != file_sha256(results_path):
            raise ResultsError(f"{results_path}: the rescore report given is not a passed rescore of this file")
        entry["rescored"] = {"seed": rescore["fresh"]["seed"], "date": rescore["date"],
                             "fresh": {str(c["difficulty"]): c["fresh"]["score"] for c in rescore["comparisons"]}}
    board["entries"].append(entry)
    board["entries"].sort(key=lambda e: (e["task"], e["sets"], e["id"]))
    write_json_atomic(board_path, board)
    return entry


def entry_problems(entry):
    """What is wrong with one board entry (empty when it is sound): its id must follow from
    its model, weights, task, sets and training setting; it must cite the suite's pinned
    test set at every default difficulty; its scores must lie in [0, 1]."""
    task, sets = entry["task"], entry["sets"]
    where = f"entry {entry['id']} ({entry['name']}, {task}, {sets} sets)"
    problems = []
    expected_id = canonical_sha256({"task": task, "sets": sets, "model": entry["model_sha256"],
                                    "weights": entry["weights_sha256"], "train": entry["train"]})[:16]
    if entry["id"] != expected_id:
        problems.append(f"{where}: id does not follow from its model, weights and setting ({expected_id})")
    pinned = pinned_manifests()
    wanted = suite.default_test_difficulties(task, sets) if task in suite.TASKS else ()
    missing = [d for d in wanted if str(d) not in entry["datasets"]]
    if missing:
        problems.append(f"{where}: no score at difficulties {', '.join(map(str, missing))}")
    for d, digest in sorted(entry["datasets"].items()):
        key = f"{sets}/{task}/{d}/test"
        if pinned.get(key) != digest:
            problems.append(f"{where}: dataset {key} is not the suite's pinned test set")
    scores = list(entry["label_free"]["scores"].values()) + [entry["in_distribution"]]
    if any(v is not None and not 0 <= v <= 1 for v in scores):
        problems.append(f"{where}: a score outside [0, 1]")
    return problems


def board_problems(board):
    """Every entry's problems, and ids used twice."""
    problems = [p for e in board["entries"] for p in entry_problems(e)]
    ids = [e["id"] for e in board["entries"]]
    problems += [f"entry id {i} is used {ids.count(i)} times" for i in sorted(set(ids)) if ids.count(i) > 1]
    return problems


def rank_score(entry):
    """Mean label-free score over the suite's default test difficulties for the entry's sets."""
    ds = suite.default_test_difficulties(entry["task"], entry["sets"]) if entry["task"] in suite.TASKS else []
    scores = [entry["label_free"]["scores"].get(str(d), 0.0) for d in ds] or list(entry["label_free"]["scores"].values())
    return sum(scores) / len(scores)


def tables(board):
    """{(task, sets): [entries ranked best first]}."""
    out = {}
    for e in board["entries"]:
        out.setdefault((e["task"], e["sets"]), []).append(e)
    for key in out:
        out[key].sort(key=lambda e: (-rank_score(e), e["date"]))
    return dict(sorted(out.items()))
