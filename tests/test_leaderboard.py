import copy
import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
import model_sources as models  # noqa: E402

from benchmark import suite  # noqa: E402
from benchmark.cli import main  # noqa: E402
from benchmark.errors import ResultsError  # noqa: E402
from benchmark.evaluate import EvalConfig, evaluate  # noqa: E402
from leaderboard import board as lb  # noqa: E402
from leaderboard import render  # noqa: E402
from benchmark import results as rs  # noqa: E402


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lb")
    root = tmp / "data"
    for d in suite.default_test_difficulties("mazes", "quick"):
        suite.ensure(suite.data_spec("mazes", "quick", d, "test"), root)
    res = {}
    for name in ("RECURRENT", "FEEDFORWARD"):
        path = models.write(tmp, name.lower(), getattr(models, name))
        res[name], _ = evaluate(EvalConfig(model=str(path), task="mazes", sets="quick", steps=[1, 2, 3],
                                           data_root=root, n_boot=50, threads=1))
    return tmp, root, res


def save(tmp, results, name="r.json"):
    path = tmp / name
    path.write_text(json.dumps(results))
    return path


def test_submit_merges_and_ranks(env, tmp_path):
    tmp, root, res = env
    board = tmp_path / "board.json"
    for name in ("RECURRENT", "FEEDFORWARD"):
        lb.submit(save(tmp_path, res[name], f"{name}.json"), board, root)
    data = lb.load_board(board)
    assert len(data["entries"]) == 2
    (key, ranked), = lb.tables(data).items()
    assert key == ("mazes", "quick")
    assert [lb.rank_score(e) for e in ranked] == sorted((lb.rank_score(e) for e in ranked), reverse=True)
    table = render.text(data)
    assert "recurrent" in table and "feedforward" in table and "d17" in table


def test_rank_prefers_higher_label_free_scores(env):
    _, _, res = env
    a, b = lb.make_entry(res["RECURRENT"]), lb.make_entry(res["FEEDFORWARD"])
    a["label_free"]["scores"] = {k: 0.9 for k in a["label_free"]["scores"]}
    b["label_free"]["scores"] = {k: 0.1 for k in b["label_free"]["scores"]}
    b["id"] = "other"
    ranked = lb.tables({"entries": [b, a]})[("mazes", "quick")]
    assert [e["id"] for e in ranked] == [a["id"], "other"]
    header, rows = render.rows("mazes", "quick", ranked)
    assert rows[0][header.index("mean")] == "90.0"


def mutate(results, fn):
    r = copy.deepcopy(results)
    fn(r)
    return r


@pytest.mark.parametrize("change, words", [
    (lambda r: r.pop("grid"), "'grid' is a required property"),
    (lambda r: r["grid"]["rows"][0]["mean"].__setitem__(0, 1.5), "fails the results schema at grid/rows/0/mean/0"),
    (lambda r: r["grid"]["rows"][0]["mean"].append(0.0), "values for 3 steps"),
    (lambda r: r["model"].__setitem__("sha256", "abc"), "model/sha256"),
    (lambda r: r["datasets"][0].__setitem__("manifest_sha256", "0" * 64), "not the suite's"),
    (lambda r: (r["datasets"].pop(), r["grid"]["rows"].pop()), "missing 17"),
    (lambda r: r["datasets"][0].__setitem__("count", 7), "evaluated on 7 samples"),
    (lambda r: r["suite"].__setitem__("version", "0.0"), "suite version"),
    (lambda r: r["grid"]["rows"][0]["mean"].__setitem__(0, float("nan")), "NaN is not a number"),
])
def test_bad_results_are_rejected_and_board_untouched(env, tmp_path, change, words):
    tmp, root, res = env
    board = tmp_path / "board.json"
    lb.submit(save(tmp_path, res["FEEDFORWARD"], "ok.json"), board, root)
    before = board.read_bytes()
    bad = save(tmp_path, mutate(res["RECURRENT"], change), "bad.json")
    with pytest.raises(ResultsError) as info:
        lb.submit(bad, board, root)
    assert words in str(info.value)
    assert "\n" not in str(info.value)
    assert board.read_bytes() == before


def test_unverifiable_data_is_rejected(env, tmp_path, monkeypatch):
    _, _, res = env
    monkeypatch.setattr(lb, "PINNED_MANIFESTS", tmp_path / "no-pins.json")
    with pytest.raises(ResultsError, match="cannot check dataset quick/mazes/9/test.*bench data prepare --task mazes --quick"):
        lb.submit(save(tmp_path, res["RECURRENT"]), tmp_path / "b.json", tmp_path / "empty-data")


def test_failed_write_leaves_board_whole(env, tmp_path, monkeypatch):
    tmp, root, res = env
    board = tmp_path / "board.json"
    lb.submit(save(tmp_path, res["FEEDFORWARD"], "a.json"), board, root)
    before = board.read_bytes()

    def crash(*a, **k):
        raise OSError("disk full")
    monkeypatch.setattr(rs.json, "dumps", crash)
    with pytest.raises(OSError):
        lb.submit(save(tmp_path, res["RECURRENT"], "b.json"), board, root)
    assert board.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".board")]


def test_bad_files_are_one_line_exit_2(env, tmp_path):
    tmp, root, res = env
    (tmp_path / "junk.json").write_text("{not json")
    (tmp_path / "board.json").write_text('{"format": "something else"}')
    runner = CliRunner()
    for args, words in [
        (["submit", str(tmp_path / "nope.json")], "no such results file"),
        (["submit", str(tmp_path / "junk.json"), "--board", str(tmp_path / "b.json")], "not valid JSON"),
        (["submit", str(save(tmp_path, res["RECURRENT"])), "--board", str(tmp_path / "board.json"),
          "--data-root", str(root)], "not a leaderboard file"),
        (["leaderboard", "--board", str(tmp_path / "missing.json")], "no such leaderboard file"),
    ]:
        result = runner.invoke(main, args)
        assert result.exit_code == 2, result.output
        assert words in result.output and len(result.output.strip().splitlines()) == 1


def test_public_board_is_valid_and_real():
    from generators.atomic import dumps

    data = lb.load_board(lb.PUBLIC_BOARD)
    assert lb.board_problems(data) == []
    assert data["entries"] == sorted(data["entries"], key=lambda e: (e["task"], e["sets"], e["id"]))
    assert lb.PUBLIC_BOARD.read_text() == dumps(data)          # written by submit, not by hand


def test_board_problems_find_entries_that_are_not_real(env):
    _, _, res = env
    good = lb.make_entry(res["RECURRENT"])
    assert lb.entry_problems(good) == []
    board = {"entries": [good, copy.deepcopy(good)]}
    assert lb.board_problems(board) == [f"entry id {good['id']} is used 2 times"]
    other_data = copy.deepcopy(good)
    other_data["datasets"]["9"] = "0" * 64
    assert "dataset quick/mazes/9/test is not the suite's pinned test set" in lb.entry_problems(other_data)[0]
    fewer = copy.deepcopy(good)
    del fewer["datasets"]["17"]
    assert "no score at difficulties 17" in lb.entry_problems(fewer)[0]
    renamed = {**good, "weights_sha256": "f" * 64}
    assert "id does not follow" in lb.entry_problems(renamed)[0]
    inflated = copy.deepcopy(good)
    inflated["label_free"]["scores"]["9"] = 1.5
    assert lb.entry_problems(inflated) == [f"entry {good['id']} (recurrent, mazes, quick sets): a score outside [0, 1]"]


def test_results_written_by_evaluate_validate_against_schema(env):
    _, _, res = env
    rs.validate(res["RECURRENT"])
    rs.validate(res["FEEDFORWARD"])


def test_html_page_has_every_entry_and_plot(env, tmp_path):
    tmp, root, res = env
    board = tmp_path / "board.json"
    for name in ("RECURRENT", "FEEDFORWARD"):
        lb.submit(save(tmp_path, res[name], f"{name}.json"), board, root)
    page = render.write_html(lb.load_board(board), tmp_path / "site")
    html = page.read_text()
    assert html.count("<img ") == 2 and "recurrent" in html and "feedforward" in html
    for png in (tmp_path / "site").glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_pinned_manifests_match_freshly_generated_quick_sets(env, tmp_path):
    """The suite's pinned hashes are reproducible: same bytes here as where they were pinned."""
    _, root, _ = env
    pinned = lb.pinned_manifests()
    for d in suite.default_test_difficulties("mazes", "quick"):
        key = f"quick/mazes/{d}/test"
        assert pinned[key] == suite.manifest_hash(suite.data_spec("mazes", "quick", d, "test"), root)


@pytest.mark.parametrize("task", ["pathfinder", "pathfinder-seg", "clutter"])
def test_pinned_manifests_of_other_tasks_are_reproducible(task, tmp_path):
    """One pinned quick test set per task regenerated here gives the pinned hash."""
    if task == "clutter":
        from generators.clutter import sources
        try:
            sources.load()
        except sources.SourceError:
            pytest.skip("MNIST/Fashion-MNIST sources not found (set RVB_SOURCES)")
    d = suite.default_test_difficulties(task, "quick")[0]
    spec = suite.data_spec(task, "quick", d, "test")
    suite.ensure(spec, tmp_path)
    assert lb.pinned_manifests()[f"quick/{task}/{d}/test"] == suite.manifest_hash(spec, tmp_path)


def test_submit_checks_pinned_hashes_without_local_data(env, tmp_path):
    _, _, res = env
    entry = lb.submit(save(tmp_path, res["RECURRENT"]), tmp_path / "b.json", tmp_path / "no-data-here")
    assert entry["datasets"]["9"] == lb.pinned_manifests()["quick/mazes/9/test"]


def test_submit_killed_while_writing_leaves_the_old_board_or_the_new_one(env, tmp_path):
    """SIGKILL of `bench submit` the moment its temporary board file appears, then a whole run."""
    import os
    import signal
    import subprocess
    import time

    from generators.atomic import write_json_atomic

    _, root, res = env
    board = tmp_path / "board.json"
    entry = lb.make_entry(res["FEEDFORWARD"])
    # A large board (about 10 MB) keeps the write open long enough to be caught in the middle.
    filler = [{**entry, "id": f"{k:016x}", "results_sha256": f"{k:064x}", "name": f"filler{k}"} for k in range(3000)]
    write_json_atomic(board, {**lb.empty_board(), "entries": filler})
    old = board.read_bytes()
    results = save(tmp_path, res["RECURRENT"])
    cmd = [sys.executable, "-m", "benchmark.cli", "submit", str(results), "--board", str(board), "--data-root", str(root)]

    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while proc.poll() is None and not list(tmp_path.glob(".board.json.tmp-*")) and time.time() < deadline:
        time.sleep(0.0005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the submit ended before it could be killed mid-write"
    assert board.read_bytes() == old                           # killed mid-write: the old board, whole
    for leftover in tmp_path.glob(".board.json.tmp-*"):
        leftover.unlink()

    assert subprocess.run(cmd, capture_output=True).returncode == 0
    new = json.loads(board.read_text())
    assert len(new["entries"]) == len(filler) + 1 and any(e["name"] == "recurrent" for e in new["entries"])
