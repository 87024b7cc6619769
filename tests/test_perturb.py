"""`bench analyze perturb` against known answers: a hand-built model whose output follows the
location code in its feedback is hurt by a twin's location (importance about 1) and by no
other variable (about 0); a model that ignores its feedback scores about 0 everywhere."""
import hashlib
import json

import numpy as np
import pytest
from PIL import Image

from benchmark import suite
from generators.clutter import sources
from generators.clutter.twins import VARIABLES, twin_arrays
from generators.dataset import open_dataset
from tests.conftest import bench as run_cli
from test_sources import use_fake_sources

N = 60

MEMO = """
import hashlib
from pathlib import Path

import numpy as np
import torch

TABLE = dict(np.load(Path(__file__).with_suffix(".npz")))   # image digest -> (category, quadrant)
BLOCK = 16


def digest(image):
    return hashlib.sha256((image * 255).round().to(torch.uint8).numpy().tobytes()).hexdigest()[:16]


def clean_quadrant(code):
    \"\"\"The quadrant a code names when it is one whole block of ones, else -1 (noise).\"\"\"
    blocks = code.view(4, BLOCK)
    full = (blocks == 1).all(1)
    if code.sum() == BLOCK and full.sum() == 1:
        return int(full.nonzero()[0, 0])
    return -1


class Memo(torch.nn.Module):
    recurrent = True
    train_steps = 2

    def __init__(self, listens):
        super().__init__()
        self.listens = listens
        self.unused = torch.nn.Linear(1, 1)

    def forward(self, x, steps):
        return self.trace(x, steps)[-1]["logits"]

    def trace(self, x, steps, inject=None):
        inject = inject or {}
        known = [TABLE[digest(image)] for image in x]
        own = torch.zeros(x.shape[0], 4 * BLOCK)
        for i, (_, quadrant) in enumerate(known):
            own[i, quadrant * BLOCK:(quadrant + 1) * BLOCK] = 1
        misled = torch.zeros(x.shape[0], dtype=torch.bool)
        out = []
        for t in range(steps):
            feedback = inject.get((0, t), own)
            for i, (_, quadrant) in enumerate(known):
                heard = clean_quadrant(feedback[i])
                misled[i] |= bool(self.listens and heard >= 0 and heard != quadrant)
            logits = torch.zeros(x.shape[0], 20)
            for i, (category, _) in enumerate(known):
                logits[i, (category + int(misled[i])) % 20] = 1
            out.append({"feedback": [feedback, None], "logits": logits})
        return out


def build_model(task):
    return Memo({listens})
"""


@pytest.fixture(scope="module")
def clutter_root(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    use_fake_sources(mp, tmp_path_factory.mktemp("sources"), 5010, 100)
    root = tmp_path_factory.mktemp("data")
    folder = suite.ensure(suite.data_spec("clutter", "quick", 8, "test"), root)
    yield root, folder
    mp.undo()
    sources._LOADED.clear()


def digest(images):
    return [hashlib.sha256(np.ascontiguousarray(im).tobytes()).hexdigest()[:16] for im in images]


def write_model(tmp_path, folder, listens):
    """The model file and its table of every original and twin image's category and quadrant."""
    ds = open_dataset(folder)
    arrays = {k: np.concatenate([ds.shards.sample(i, [k])[k][None] for i in range(N)])
              for k in ("images", "labels", "meta/seed", "meta/target_slot")}
    table = dict(zip(digest(arrays["images"]), zip(arrays["labels"], arrays["meta/target_slot"] % 4)))
    for variable in VARIABLES:
        twin = twin_arrays(sources.load(), ds.manifest["params"], "test", arrays["meta/seed"], variable)
        table.update(zip(digest(twin["images"]), zip(twin["labels"], twin["meta/target_slot"] % 4)))
    path = tmp_path / ("memo.py" if listens else "deaf.py")
    path.write_text(MEMO.replace("{listens}", str(listens)))
    np.savez(path.with_suffix(".npz"), **{k: np.array(v, np.int64) for k, v in table.items()})
    return path


def perturb(model, root, out, *extra):
    return run_cli("analyze", "perturb", model, "--task", "clutter", "--quick", "-n", N, "--repeats", 3,
                   "--data-root", root, "--out", out, *extra)


def test_importance_follows_what_the_output_depends_on(clutter_root, tmp_path):
    root, folder = clutter_root
    code, out = perturb(write_model(tmp_path, folder, True), root, tmp_path / "p.json")
    assert code == 0, out
    report = json.loads((tmp_path / "p.json").read_text())
    assert report["layers"] == [0] and report["variables"] == list(VARIABLES)
    for row in report["rows"]:
        assert row["accuracy"]["original"] == 1.0
        if row["variable"] == "location":
            assert row["importance"] > 0.5 and row["accuracy"]["systematic"] == 0.0
        else:
            assert abs(row["importance"]) < 0.05, row
    assert Image.open(tmp_path / "p.png").size[0] > 500


def test_a_model_that_ignores_feedback_scores_zero(clutter_root, tmp_path):
    root, folder = clutter_root
    code, out = perturb(write_model(tmp_path, folder, False), root, tmp_path / "p.json",
                        "--variables", "location,scale")
    assert code == 0, out
    assert all(abs(r["importance"]) < 1e-9 for r in json.loads((tmp_path / "p.json").read_text())["rows"])


def test_bad_input_is_one_line_exit_2(clutter_root, tmp_path):
    root, folder = clutter_root
    model = write_model(tmp_path, folder, True)
    cases = [(["--variables", "size"], "--variables 'size': size; allowed: location, scale"),
             (["--task", "mazes"], "perturbation takes --task clutter")]
    for extra, words in cases:
        code, out = perturb(model, root, tmp_path / "x.json", *extra)
        assert code == 2 and words in out and len(out.strip().splitlines()) == 1, (extra, out)
    code, out = perturb("baselines:convgru", root, tmp_path / "x.json")
    assert code == 2 and "perturbation needs trace(x, steps, inject=None)" in out, out
    assert not (tmp_path / "x.json").exists()
