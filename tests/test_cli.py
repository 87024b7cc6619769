"""The benchgen command line: the main job, and one clear line for each bad input."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

from generators.cli import main
from tests.conftest import all_arrays


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.mark.parametrize("args,option,words", [
    (["--size", "8"], "--size", "odd and >= 3"),
    (["--size", "1"], "--size", "odd and >= 3"),
    (["--size", "9", "-n", "0"], "-n", ">= 1"),
    (["--size", "9", "--split", "dev"], "--split", "train, val, test"),
    (["--size", "9", "--workers", "0"], "--workers", ">= 1"),
    (["--size", "9", "--shard-size", "0"], "--shard-size", ">= 1"),
    (["--size", "9", "--shard-range", "3:9"], "--shard-range", "0 <= A < B <= 1"),
    (["--size", "9", "--shard-range", "x"], "--shard-range", "A:B"),
    (["--size", "3", "--disjoint"], "--disjoint", "size >= 5"),
    (["--size", "9", "--codec", "rar"], "--codec", "blosc-lz4"),
])
def test_bad_generation_options_fail_before_writing(tmp_path, args, option, words):
    out = tmp_path / "out"
    result = run("mazes", *args, *([] if "-n" in args else ["-n", "10"]), "--out", out)
    assert result.exit_code == 2, result.output
    error = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(error) == 1 and option in error[0] and words in error[0], result.output
    assert not out.exists()


def test_folder_holding_another_dataset_is_refused_untouched(tmp_path):
    out = tmp_path / "d"
    assert run("mazes", "--size", "9", "-n", "20", "--out", out, "--quiet").exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    result = run("mazes", "--size", "9", "-n", "20", "--seed", "1", "--out", out, "--quiet")
    assert result.exit_code == 2
    assert "holds a different dataset (seed = 0 there, 1 asked)" in result.output
    result = run("mazes", "--size", "11", "-n", "20", "--out", out, "--quiet")
    assert result.exit_code == 2 and "params.size = 9 there, 11 asked" in result.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_default_output_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run("mazes", "--size", "11", "-n", "5", "--split", "val", "--quiet").exit_code == 0
    assert (tmp_path / "data" / "mazes" / "11" / "val" / "manifest.json").exists()


def test_audit_reports_shared_samples_as_json(tmp_path):
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        assert run("mazes", "--size", "9", "-n", "30", "--seed", seed, "--out", tmp_path / name, "--quiet").exit_code == 0
    result = run("audit", tmp_path / "a", tmp_path / "b", tmp_path / "c", "--out", tmp_path / "audit.json")
    assert result.exit_code == 0
    report = json.loads((tmp_path / "audit.json").read_text())
    shared = {(c["a"][-1], c["b"][-1]): c["shared_samples"] for c in report["cross"]}
    assert shared[("a", "b")] == 30 and shared[("a", "c")] == 0
    assert report["datasets"][0]["count"] == 30
    assert run("audit", tmp_path / "a", tmp_path / "b", "--strict").exit_code == 1
    assert run("audit", tmp_path / "a", tmp_path / "c", "--strict").exit_code == 0


def test_export_easy_to_hard_arrays(tmp_path):
    run("mazes", "--size", "9", "-n", "25", "--shard-size", "10", "--out", tmp_path / "d", "--quiet")
    result = run("export", tmp_path / "d", "--format", "easy-to-hard", "--out", tmp_path / "e2h")
    assert result.exit_code == 0, result.output
    inputs = np.load(tmp_path / "e2h" / "inputs.npy")
    solutions = np.load(tmp_path / "e2h" / "solutions.npy")
    arrays = all_arrays(tmp_path / "d")
    assert inputs.dtype == np.float32 and inputs.shape == (25, 3, 24, 24)
    assert set(np.unique(inputs)) == {0.0, 1.0}
    assert solutions.dtype == np.int64 and np.array_equal(solutions, arrays["masks"])
    assert np.array_equal(inputs * 255, arrays["images"])
    assert sorted(p.name for p in (tmp_path / "e2h").iterdir()) == ["inputs.npy", "solutions.npy"]


def test_preview_writes_a_png(tmp_path):
    from PIL import Image

    run("mazes", "--size", "9", "-n", "8", "--out", tmp_path / "d", "--quiet")
    assert run("preview", tmp_path / "d", "-n", "4", "--out", tmp_path / "grid.png").exit_code == 0
    assert Image.open(tmp_path / "grid.png").size[0] > 200
    result = run("preview", tmp_path / "d", "--out", tmp_path / "grid.jpg")
    assert result.exit_code == 2 and not (tmp_path / "grid.jpg").exists()
