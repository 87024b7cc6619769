import numpy as np
from numba import njit

from generators.noalias import njit_noalias


def _bilinear_rows(img, ys, xs, out):
    # a gather loop: reads through computed indices, writes another array
    w = img.shape[1]
    flat = img.reshape(-1)
    for t in range(ys.shape[0]):
        y0 = int(ys[t])
        x0 = int(xs[t])
        fy = ys[t] - y0
        fx = xs[t] - x0
        k = y0 * w + x0
        top = (1 - fx) * flat[k] + fx * flat[k + 1]
        bot = (1 - fx) * flat[k + w] + fx * flat[k + w + 1]
        out[t] = (1 - fy) * top + fy * bot


def test_noalias_compilation_gives_the_plain_results():
    rng = np.random.default_rng(0)
    img = rng.random((30, 30))
    ys, xs = rng.uniform(0, 28.99, 1001), rng.uniform(0, 28.99, 1001)
    plain, fast = np.zeros(1001), np.zeros(1001)
    njit(_bilinear_rows)(img, ys, xs, plain)
    njit_noalias(_bilinear_rows)(img, ys, xs, fast)
    assert np.array_equal(plain, fast)
    y0, x0 = ys.astype(int), xs.astype(int)
    fy, fx = ys - y0, xs - x0
    want = ((1 - fy) * ((1 - fx) * img[y0, x0] + fx * img[y0, x0 + 1])
            + fy * ((1 - fx) * img[y0 + 1, x0] + fx * img[y0 + 1, x0 + 1]))
    assert np.allclose(fast, want, atol=1e-12)
