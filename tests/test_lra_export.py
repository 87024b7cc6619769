"""`benchgen export --format lra`: the Long Range Arena PathFinder layout, read back by a reader
written here from the published description (LRA's input pipeline and S4's PathFinderDataset
split each metadata line on whitespace and read image folder, file name and label from
fields 0, 1 and 3)."""
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from generators.cli import main
from tests.conftest import all_arrays


def lra_reader(difficulty_folder):
    """What long-range-model code does with a difficulty folder: every metadata file, every line."""
    root = Path(difficulty_folder)
    samples = []
    for meta in sorted((root / "metadata").iterdir(), key=lambda p: int(p.stem)):
        for line in meta.read_text().splitlines():
            fields = line.split()
            image = np.array(Image.open(root / fields[0] / fields[1]))
            samples.append((image, int(fields[3])))
    return samples


def invoke(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def pathfinder(tmp_path_factory):
    out = tmp_path_factory.mktemp("pf") / "ds"
    code, text = invoke("pathfinder", "--preset", "lra32", "--length", 9, "-n", 1204, "--shard-size", 400,
                        "--out", out, "--quiet")
    assert code == 0, text
    return out


def test_the_lra_reader_gets_every_image_and_label(pathfinder, tmp_path):
    out = tmp_path / "lra"
    code, text = invoke("export", pathfinder, "--format", "lra", "--out", out, "--masks", "--quiet")
    assert code == 0, text
    folder = out / "pathfinder32" / "curv_contour_length_9"
    assert text.strip().splitlines()[-1] == str(folder)
    samples = lra_reader(folder)
    arrays = all_arrays(pathfinder)
    assert len(samples) == 1204 and sorted(p.name for p in (folder / "imgs").iterdir()) == ["0", "1"]
    for i, (image, label) in enumerate(samples):
        assert image.dtype == np.uint8 and image.shape == (32, 32)
        assert np.array_equal(image, arrays["images"][i, 0]) and label == arrays["labels"][i]
    line = (folder / "metadata" / "1.npy").read_text().splitlines()[3]
    assert line.split() == ["imgs/1", "sample_3.png", "1003", str(int(arrays["labels"][1003]))]
    mask = np.array(Image.open(folder / "masks" / "1" / "sample_3.png"))
    assert np.array_equal(mask, arrays["masks"][1003] * 255)
    manifest = json.loads((out / "manifest.json").read_text())
    source = json.loads((pathfinder / "manifest.json").read_text())
    assert manifest["source"]["seed"] == source["seed"] and len(manifest["source"]["manifest_sha256"]) == 64


def test_difficulty_folders_are_named_as_the_release_names_them(tmp_path):
    from generators.pathfinder.lra import difficulty_folder

    assert [difficulty_folder(n) for n in (6, 9, 14, 20)] == \
        ["curv_baseline", "curv_contour_length_9", "curv_contour_length_14", "curv_contour_length_20"]


def test_an_existing_target_or_another_task_is_refused_and_nothing_is_left(pathfinder, tmp_path):
    (tmp_path / "taken").mkdir()
    code, text = invoke("export", pathfinder, "--format", "lra", "--out", tmp_path / "taken")
    assert code == 1 and "exists; remove it or choose another --out" in text
    assert list((tmp_path / "taken").iterdir()) == []
    maze = tmp_path / "maze"
    assert invoke("mazes", "--size", 5, "-n", 10, "--out", maze, "--quiet")[0] == 0
    code, text = invoke("export", maze, "--format", "lra", "--out", tmp_path / "x")
    assert code == 2 and "--format lra takes pathfinder only" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["maze", "taken"]       # no temporary tree left
