"""`benchgen export --format parquet | webdataset | imagefolder`: every export read back by the
library that consumes it (datasets, webdataset, torchvision; skipped where absent) and by a
reader written here from the format's description, against the stored arrays."""
import importlib
import io
import json
import sys
import tarfile

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from generators.cli import main
from generators.clutter import sources
from tests.conftest import all_arrays
from test_sources import use_fake_sources


def invoke(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


def optional(name):
    """The consumer library, or a skip: an absent or broken install (e.g. a torchvision
    built for another torch) must not fail the suite."""
    try:
        return importlib.import_module(name)
    except Exception as exc:  # noqa: BLE001 - any failure to import means "not available here"
        pytest.skip(f"{name} not usable here ({type(exc).__name__}); install the optional extra to run this test")


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    root = tmp_path_factory.mktemp("sets")
    mp = pytest.MonkeyPatch()
    use_fake_sources(mp, tmp_path_factory.mktemp("sources"), 5010, 100)
    commands = {
        "mazes": ("mazes", "--size", 5, "-n", 30, "--shard-size", 20, "--split", "val"),
        "pathfinder": ("pathfinder", "--preset", "lra32", "--length", 6, "--markers", 1, "-n", 40,
                       "--shard-size", 20),
        "pathfinder-labels": ("pathfinder", "--preset", "lra32", "--length", 6, "-n", 40, "--shard-size", 20),
        "clutter": ("clutter", "-n", 60, "--shard-size", 25, "--split", "test", "--with-target-only"),
    }
    for name, args in commands.items():
        code, text = invoke(*args, "--out", root / name, "--quiet")
        assert code == 0, text
    yield root
    mp.undo()
    sources._LOADED.clear()


def decoded(png):
    return np.array(Image.open(io.BytesIO(png)) if isinstance(png, bytes) else png)


def as_stored(image):
    """A decoded PNG in the shards' [C, H, W] layout."""
    return image[None] if image.ndim == 2 else image.transpose(2, 0, 1)


def export(sets, name, fmt, tmp_path):
    out = tmp_path / f"{name}-{fmt}"
    code, text = invoke("export", sets / name, "--format", fmt, "--out", out, "--quiet")
    assert code == 0, text
    manifest = json.loads((out / "manifest.json").read_text())
    source = json.loads((sets / name / "manifest.json").read_text())
    assert manifest["export_format"] == fmt and manifest["source"]["seed"] == source["seed"]
    assert manifest["count"] == source["count"] and len(manifest["source"]["manifest_sha256"]) == 64
    return out, all_arrays(sets / name)


def check_sample(arrays, i, image, mask=None, fields=None):
    assert np.array_equal(as_stored(decoded(image)), arrays["images"][i])
    if mask is not None:
        assert np.array_equal(decoded(mask), arrays["masks"][i] * 255)
    if fields is not None:
        assert fields["index"] == i
        if "labels" in arrays:
            assert fields["label"] == arrays["labels"][i]
        for name in (k for k in arrays if k.startswith("meta/")):
            assert np.array_equal(np.asarray(fields[name[5:]]), arrays[name][i]), name


@pytest.mark.parametrize("name", ["mazes", "pathfinder", "clutter"])
def test_parquet_opens_in_hugging_face_datasets_with_images_as_images(sets, name, tmp_path):
    optional("pyarrow")
    datasets = optional("datasets")
    out, arrays = export(sets, name, "parquet", tmp_path)
    split = json.loads((sets / name / "manifest.json").read_text())["split"]
    table = datasets.load_dataset("parquet", data_files=str(out / "data" / f"{split}-*.parquet"), split="train")
    assert type(table.features["image"]).__name__ == "Image"
    assert len(table) == len(arrays["images"])
    for i in (0, len(table) - 1):
        row = table[i]
        check_sample(arrays, i, row["image"], row.get("mask"), row)
        if "target_only" in arrays:
            assert np.array_equal(np.array(row["target_only"])[None], arrays["target_only"][i])
    by_folder = datasets.load_dataset(str(out), split=split)      # the Hub's file naming names the split
    assert len(by_folder) == len(arrays["images"])


def test_parquet_columns_keep_their_types(sets, tmp_path):
    pq = optional("pyarrow.parquet")
    out, arrays = export(sets, "clutter", "parquet", tmp_path)
    tables = [pq.read_table(p) for p in sorted((out / "data").iterdir())]
    assert [t.num_rows for t in tables] == [25, 25, 10]
    schema = tables[0].schema
    assert str(schema.field("seed").type) == "uint64" and str(schema.field("label").type) == "int64"
    perm = schema.field("object_permutation").type                  # [8 objects][9 cells] int8
    assert (perm.list_size, perm.value_type.list_size, str(perm.value_type.value_type)) == (8, 9, "int8")
    row = tables[1].slice(3, 1).to_pylist()[0]
    check_sample(arrays, 28, row["image"]["bytes"], fields=row)


@pytest.mark.parametrize("name", ["mazes", "pathfinder", "clutter"])
def test_webdataset_streams_every_sample(sets, name, tmp_path):
    wds = optional("webdataset")
    out, arrays = export(sets, name, "webdataset", tmp_path)
    pattern = json.loads((out / "manifest.json").read_text())["pattern"]
    seen = 0
    for sample in wds.WebDataset(str(out / pattern), shardshuffle=False, empty_check=False):
        i = int(sample["__key__"])
        check_sample(arrays, i, sample["png"], sample.get("mask.png"), json.loads(sample["json"]))
        assert i == seen
        seen += 1
    assert seen == len(arrays["images"])


def test_webdataset_tars_by_the_format_and_byte_identical(sets, tmp_path):
    out, arrays = export(sets, "pathfinder", "webdataset", tmp_path)
    tars = sorted(out.glob("*.tar"))
    assert [t.name for t in tars] == ["train-000000.tar", "train-000001.tar"]
    with tarfile.open(tars[1]) as tar:
        names = tar.getnames()
        assert names[:3] == ["00000020.png", "00000020.mask.png", "00000020.json"] and len(names) == 60
        assert {m.mtime for m in tar.getmembers()} == {0}
        fields = json.loads(tar.extractfile("00000025.json").read())
        check_sample(arrays, 25, tar.extractfile("00000025.png").read(),
                     tar.extractfile("00000025.mask.png").read(), fields)
    again, _ = export(sets, "pathfinder", "webdataset", tmp_path / "again")
    assert [p.read_bytes() for p in tars] == [p.read_bytes() for p in sorted(again.glob("*.tar"))]


@pytest.mark.parametrize("name,classes", [("pathfinder-labels", ["0", "1"]), ("clutter", None)])
def test_imagefolder_class_folders_are_the_labels(sets, name, classes, tmp_path):
    out, arrays = export(sets, name, "imagefolder", tmp_path)
    split = json.loads((out / "manifest.json").read_text())["split"]
    found = sorted(p.name for p in (out / split).iterdir())
    assert found == (classes or sorted(f"{label:02d}" for label in set(arrays["labels"].tolist())))
    for folder in (out / split).iterdir():
        for png in folder.iterdir():
            i = int(png.stem)
            assert int(folder.name) == arrays["labels"][i]
            check_sample(arrays, i, png.read_bytes())
    assert sum(len(list(f.iterdir())) for f in (out / split).iterdir()) == len(arrays["labels"])


def test_torchvision_image_folder_reads_the_labels(sets, tmp_path):
    tv = optional("torchvision.datasets")
    out, arrays = export(sets, "pathfinder-labels", "imagefolder", tmp_path)
    folder = tv.ImageFolder(str(out / "train"))
    assert folder.class_to_idx == {"0": 0, "1": 1} and len(folder) == len(arrays["labels"])
    for path, target in folder.samples:
        assert target == arrays["labels"][int(path.rsplit("/", 1)[1][:-4])]


def test_bad_exports_say_what_is_allowed_and_leave_nothing(sets, tmp_path):
    code, text = invoke("export", sets / "mazes", "--format", "imagefolder", "--out", tmp_path / "x")
    assert code == 2 and "--format imagefolder takes pathfinder or clutter only" in text
    code, text = invoke("export", sets / "mazes", "--format", "webdataset", "--out", tmp_path / "x", "--masks")
    assert code == 2 and "--masks is for --format lra" in text
    (tmp_path / "taken").mkdir()
    code, text = invoke("export", sets / "mazes", "--format", "webdataset", "--out", tmp_path / "taken")
    assert code == 1 and "exists; remove it or choose another --out" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_an_interrupted_export_leaves_no_target(sets, tmp_path, monkeypatch):
    from generators.exports import tree

    def broken(array, name):
        raise KeyboardInterrupt

    monkeypatch.setattr(tree, "picture", broken)
    monkeypatch.setattr("generators.exports.imagefolder.picture", broken)
    code, _ = invoke("export", sets / "clutter", "--format", "imagefolder", "--out", tmp_path / "x")
    assert code != 0 and list(tmp_path.iterdir()) == []


def test_parquet_without_pyarrow_names_the_extra(sets, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)            # as if it were not installed
    code, text = invoke("export", sets / "mazes", "--format", "parquet", "--out", tmp_path / "x")
    assert code == 1 and "--format parquet needs pyarrow; install it with: pip install -e '.[hf]'" in text
    assert list(tmp_path.iterdir()) == []
