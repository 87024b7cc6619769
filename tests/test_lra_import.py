"""`benchgen import lra`: an LRA-layout folder back into shards (round trip with the export),
broken files and lines named, and `bench evaluate --test-data` scoring on the imported set."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

from generators.cli import main
from tests.conftest import all_arrays, bench


def invoke(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    """A generated set and its LRA export with masks (stands in for the published release)."""
    root = tmp_path_factory.mktemp("lra")
    assert invoke("pathfinder", "--preset", "lra32", "--length", 14, "-n", 60, "--shard-size", 30,
                  "--out", root / "ours", "--quiet")[0] == 0
    code, text = invoke("export", root / "ours", "--format", "lra", "--masks", "--out", root / "release", "--quiet")
    assert code == 0, text
    return root


def test_export_then_import_gives_the_same_pixels_labels_and_masks(release, tmp_path):
    code, text = invoke("import", "lra", release / "release", "--out", tmp_path / "back", "--quiet")
    assert code == 0 and "60 images" in text, text
    ours, back = all_arrays(release / "ours"), all_arrays(tmp_path / "back")
    for name in ("images", "labels", "masks"):
        assert np.array_equal(ours[name], back[name]), name
    manifest = json.loads((tmp_path / "back" / "manifest.json").read_text())
    assert manifest["params"]["length"] == 14 and manifest["params"]["size"] == 32
    assert manifest["imported"]["format"] == "lra" and manifest["split"] == "test"
    code, text = invoke("verify", tmp_path / "back")
    assert code == 0 and "imported from lra" in text
    report = json.loads(invoke("audit", tmp_path / "back", release / "ours")[1])
    assert report["cross"][0]["shared_samples"] == 60          # the same images, found from pixels


def test_broken_images_and_lines_are_named(release, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(release / "release", copy)
    folder = copy / "pathfinder32" / "curv_contour_length_14"
    (folder / "imgs" / "0" / "sample_7.png").write_bytes(b"")           # the release has empty files
    code, text = invoke("import", "lra", copy, "--out", tmp_path / "x")
    assert code == 1 and "sample_7.png: not a readable image" in text and "--skip-broken" in text
    assert not (tmp_path / "x").exists()
    code, text = invoke("import", "lra", copy, "--out", tmp_path / "x", "--skip-broken", "--quiet")
    assert code == 0 and "59 images (1 broken ones left out)" in text
    assert json.loads((tmp_path / "x" / "manifest.json").read_text())["imported"]["skipped"] == ["imgs/0/sample_7.png"]
    meta = folder / "metadata" / "0.npy"
    meta.write_text(meta.read_text() + "imgs/0 sample_99.png 99\n")
    code, text = invoke("import", "lra", copy, "--out", tmp_path / "y")
    assert code == 1 and "0.npy:61: not an LRA metadata line" in text
    code, text = invoke("import", "lra", tmp_path, "--out", tmp_path / "z")
    assert code == 1 and "need one LRA difficulty folder" in text


def test_the_harness_scores_a_model_on_an_imported_set(release, tmp_path):
    assert invoke("import", "lra", release / "release", "--out", tmp_path / "set", "--quiet")[0] == 0
    out = tmp_path / "r.json"
    code, text = bench("evaluate", "baselines:convgru", "--task", "pathfinder", "--test-data", tmp_path / "set",
                       "--steps", "1,2", "--n-boot", 20, "--out", out, "--quiet")
    assert code == 0, text
    results = json.loads(out.read_text())
    assert results["suite"]["sets"] == "custom" and results["datasets"][0]["difficulty"] == 14
    assert results["datasets"][0]["count"] == 60
    code, text = bench("submit", out, "--board", tmp_path / "board.json")
    assert code != 0 and "not board entries" in text
    code, text = bench("evaluate", "baselines:convgru", "--task", "mazes", "--test-data", tmp_path / "set")
    assert code == 2 and "holds pathfinder data; mazes is scored on mazes data" in text
