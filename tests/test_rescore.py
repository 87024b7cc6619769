"""Re-scoring on fresh test sets: an honest model passes, inflated claims and a model that
memorised the pinned test images fail, and the board records what was re-scored."""
import copy
import json
from pathlib import Path

import pytest

from benchmark import results as rs, suite
from benchmark.evaluate import EvalConfig, evaluate
from benchmark.rescore import RescoreConfig, rescore
from tests.conftest import bench as run_cli

REFERENCE = Path(__file__).resolve().parents[1] / "benchmark" / "examples" / "dead_end_filling.py"
QUICK = suite.default_test_difficulties("mazes", "quick")
STEPS = [20, 30, 40, 50, 60]
SEED = 1234

MEMORISER = """
import hashlib
import numpy as np
import torch
from benchmark.data import ShardDataset

# The solution of every image of the pinned test sets, keyed by the image's bytes.
TABLE = {{}}
for root in {roots!r}:
    ds = ShardDataset(root, verify=None)
    for i in range(len(ds)):
        x, y = ds[i]
        TABLE[hashlib.sha256(x.numpy().tobytes()).hexdigest()] = y


class Memoriser(torch.nn.Module):
    recurrent = False

    def forward(self, x, steps=None):
        out = torch.zeros(x.shape[0], 2, x.shape[2], x.shape[3])
        for b in range(x.shape[0]):
            mask = TABLE.get(hashlib.sha256(x[b].cpu().numpy().tobytes()).hexdigest())
            if mask is not None:
                out[b, 1] = mask.float() * 20 - 10
            else:
                out[b, 0] = 10.0                # unknown image: no path at all
        return out


def build_model(task):
    return Memoriser()
"""


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("rescore")
    root = tmp / "data"
    for d in QUICK:
        suite.ensure(suite.data_spec("mazes", "quick", d, "test"), root)
    honest, _ = evaluate(EvalConfig(model=str(REFERENCE), task="mazes", sets="quick", steps=STEPS, data_root=root,
                                    n_boot=200, threads=1))
    rs.write(honest, tmp / "honest.json")
    folders = [str(suite.data_spec("mazes", "quick", d, "test").plan(root).out) for d in QUICK]
    memo = tmp / "memoriser.py"
    memo.write_text(MEMORISER.format(roots=folders))
    memorised, _ = evaluate(EvalConfig(model=str(memo), task="mazes", sets="quick", data_root=root, n_boot=200,
                                       threads=1))
    rs.write(memorised, tmp / "memorised.json")
    return tmp, root, honest, memorised


def test_an_honest_model_passes_on_fresh_sets(env):
    tmp, root, honest, _ = env
    report, fresh = rescore(RescoreConfig(results=tmp / "honest.json", seed=SEED, data_root=root, n_boot=200))
    assert report["passed"], report["comparisons"]
    assert report["fresh"]["seed"] == SEED and report["fresh"]["seed_source"] == "given"
    pinned = {d["difficulty"]: d["manifest_sha256"] for d in honest["datasets"]}
    for d in report["fresh"]["datasets"]:
        assert d["key"].endswith(f"@seed{SEED}") and d["manifest_sha256"] != pinned[d["difficulty"]]
        assert d["count"] == suite.get("mazes").count("quick", "test", d["difficulty"])
    assert [c["claimed"]["score"] for c in report["comparisons"]] == \
        [r["score"] for r in honest["derived"]["label_free"]["per_difficulty"]]
    # The fresh sets are other mazes of the same law: the reference's scores differ a little.
    assert [c["fresh"]["score"] for c in report["comparisons"]] != [c["claimed"]["score"] for c in report["comparisons"]]
    assert fresh["model"]["sha256"] == honest["model"]["sha256"]


def test_an_inflated_claim_fails(env, tmp_path):
    tmp, root, honest, _ = env
    inflated = copy.deepcopy(honest)
    for row in inflated["derived"]["label_free"]["per_difficulty"]:
        row["score"] = min(1.0, row["score"] + 0.3)
        row["ci"] = [min(1.0, v + 0.3) for v in row["ci"]]
    rs.write(inflated, tmp_path / "inflated.json")
    code, text = run_cli("rescore", tmp_path / "inflated.json", "--seed", SEED, "--data-root", root)
    assert code == 1, text
    assert "CLAIM TOO HIGH" in text and text.strip().splitlines()[-2].startswith("FAILED")
    report = json.loads((tmp_path / "inflated.rescore.json").read_text())
    assert not report["passed"] and not any(c["claimed_in_fresh_interval"] for c in report["comparisons"][:3])


def test_a_model_that_memorised_the_pinned_sets_scores_high_there_and_fails_the_rescore(env):
    tmp, root, _, memorised = env
    assert all(r["score"] == 1.0 for r in memorised["derived"]["label_free"]["per_difficulty"])
    report, _ = rescore(RescoreConfig(results=tmp / "memorised.json", seed=SEED, data_root=root, n_boot=200))
    assert not report["passed"]
    # Fresh mazes are new to it (a few small ones repeat a pinned maze by chance).
    assert all(c["fresh"]["score"] < 0.05 and not c["consistent"] for c in report["comparisons"])


def test_submit_with_rescore_marks_the_entry_and_refuses_a_failing_one(env, tmp_path):
    tmp, root, _, _ = env
    board = tmp_path / "board.json"
    code, text = run_cli("submit", tmp / "memorised.json", "--board", board, "--rescore", "--seed", SEED,
                         "--data-root", root)
    assert code == 1 and "not added" in text and not board.exists()
    code, text = run_cli("submit", tmp / "honest.json", "--board", board, "--rescore", "--seed", SEED,
                         "--data-root", root)
    assert code == 0 and "(re-scored)" in text, text
    entry = json.loads(board.read_text())["entries"][0]
    assert entry["rescored"]["seed"] == SEED and set(entry["rescored"]["fresh"]) == {str(d) for d in QUICK}
    code, text = run_cli("leaderboard", "--board", board)
    assert "dead_end_filling [re-scored]" in text


def test_rescore_refuses_other_weights_or_missing_ones_in_one_line(env, tmp_path):
    tmp, root, honest, _ = env
    cited = copy.deepcopy(honest)
    cited["model"]["weights_sha256"] = "ab" * 32
    rs.write(cited, tmp_path / "cited.json")
    code, text = run_cli("rescore", tmp_path / "cited.json", "--data-root", root)
    assert code == 2 and "cites weights" in text and len(text.strip().splitlines()) == 1
    other = tmp_path / "other.py"
    other.write_text(REFERENCE.read_text() + "\n# another file\n")
    code, text = run_cli("rescore", tmp / "honest.json", "--model", other, "--seed", SEED, "--data-root", root)
    assert code == 2 and "model code given" in text and len(text.strip().splitlines()) == 1
