"""The README's perturbation pictures: three quick-set clutter scenes beside their five twins
(clutter-twins.png), and `bench analyze perturb` on the known-answer model of
tests/test_perturb.py, whose output follows the location code in its feedback
(analysis-perturb.png).

Usage: RVB_SOURCES=../shared/data python docs/previews/make_perturb.py
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


def main():
    import test_perturb
    from tests.conftest import bench

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        folder = suite.ensure(suite.data_spec("clutter", "quick", 8, "test"), tmp / "data")
        twins_picture(folder, HERE / "clutter-twins.png")
        model = test_perturb.write_model(tmp, folder, True)
        code, text = bench("analyze", "perturb", model, "--task", "clutter", "--quick", "-n", 60, "--repeats", 3,
                           "--data-root", tmp / "data", "--out", tmp / "memo.json")
        if code:
            raise SystemExit(text)
        shutil.copy(tmp / "memo.png", HERE / "analysis-perturb.png")


if __name__ == "__main__":
    main()
