"""The analyses' pictures in README.md and docs/analyses.md: three quick-set clutter scenes
beside their five twins (clutter-twins.png); `bench analyze perturb` on the known-answer
model of tests/test_perturb.py, whose output follows the location code in its feedback
(analysis-perturb.png); `bench analyze decode` on the untrained feedback RNN
(analysis-decode.png) and `bench analyze stability` on the untrained ConvGRU
(analysis-stability.png), both on quick sets.

Usage: RVB_SOURCES=../shared/data python docs/previews/make_analyses.py   (about 3 min on 2 cores)
"""
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE.parents[1] / "tests")]

from benchmark import suite  # noqa: E402
from generators.clutter import sources  # noqa: E402
from generators.clutter.twins import VARIABLES, twin_arrays  # noqa: E402
from generators.dataset import open_dataset  # noqa: E402


def twins_picture(folder, out, n=3, zoom=2, pad=6, top=18):
    ds = open_dataset(folder)
    original = np.stack([ds.shards.sample(i, ["images"])["images"] for i in range(n)])
    seeds = np.stack([ds.shards.sample(i, ["meta/seed"])["meta/seed"] for i in range(n)]).ravel()
    columns = [("original", original)] + [
        (v, twin_arrays(sources.load(), ds.manifest["params"], ds.manifest["split"], seeds, v)["images"])
        for v in VARIABLES]
    side = original.shape[-1] * zoom
    picture = Image.new("L", (pad + len(columns) * (side + pad), top + n * (side + pad) + pad), 255)
    draw = ImageDraw.Draw(picture)
    for j, (name, images) in enumerate(columns):
        x = pad + j * (side + pad)
        draw.text((x, 3), name, fill=0)
        for i in range(n):
            picture.paste(Image.fromarray(images[i, 0]).resize((side, side), Image.NEAREST),
                          (x, top + i * (side + pad)))
    picture.save(out, optimize=True)


def analyze(tmp, picture, *args):
    """Run one `bench analyze` command and keep its figure as ``picture``."""
    from tests.conftest import bench

    code, text = bench("analyze", *args, "--quick", "--data-root", tmp / "data", "--out", tmp / "report.json")
    if code:
        raise SystemExit(text)
    shutil.copy(tmp / "report.png", HERE / picture)


def main():
    import test_perturb

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        folder = suite.ensure(suite.data_spec("clutter", "quick", 8, "test"), tmp / "data")
        twins_picture(folder, HERE / "clutter-twins.png")
        model = test_perturb.write_model(tmp, folder, True)
        analyze(tmp, "analysis-perturb.png", "perturb", model, "--task", "clutter", "-n", 60, "--repeats", 3)
        analyze(tmp, "analysis-decode.png", "decode", "baselines:feedback-rnn", "--task", "clutter", "-n", 200,
                "--split", "150:50", "--repeats", 3)
        analyze(tmp, "analysis-stability.png", "stability", "baselines:convgru", "--task", "mazes", "-n", 16,
                "--horizon", 60)


if __name__ == "__main__":
    main()
