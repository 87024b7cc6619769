import numpy as np
from numba import njit

from generators.noalias import _LeafCompiler, njit_leaf
from generators.intrinsics import copy16, prefetch, trailing_zeros


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


def test_leaf_compilation_of_a_gather_loop_gives_the_plain_results():
    rng = np.random.default_rng(0)
    img = rng.random((30, 30))
    ys, xs = rng.uniform(0, 28.99, 1001), rng.uniform(0, 28.99, 1001)
    plain, fast = np.zeros(1001), np.zeros(1001)
    njit(_bilinear_rows)(img, ys, xs, plain)
    njit_leaf(_bilinear_rows)(img, ys, xs, fast)
    assert np.array_equal(plain, fast)
    y0, x0 = ys.astype(int), xs.astype(int)
    fy, fx = ys - y0, xs - x0
    want = ((1 - fy) * ((1 - fx) * img[y0, x0] + fx * img[y0, x0 + 1])
            + fy * ((1 - fx) * img[y0 + 1, x0] + fx * img[y0 + 1, x0 + 1]))
    assert np.allclose(fast, want, atol=1e-12)


@njit
def _doubled(a, k):
    return 2.0 * a[k]


def _scaled_sum(a, out):
    # no allocation, no array kept: fit for njit_leaf; the call passes an array on, which
    # plain numba brackets with reference counting
    total = 0.0
    for k in range(a.shape[0]):
        out[k] = _doubled(a, k)
        total += out[k]
    return total


def test_leaf_compilation_gives_the_plain_results_and_keeps_no_reference_counts():
    a = np.random.default_rng(1).random(1000)
    plain, leaf = np.zeros(1000), np.zeros(1000)
    counted = njit(_scaled_sum)
    want = counted(a, plain)
    assert njit_leaf(_scaled_sum)(a, leaf) == want and np.array_equal(plain, leaf)
    # njit_leaf caches to disk, and numba cannot show the code of a cached function
    uncached = njit(pipeline_class=_LeafCompiler)(_scaled_sum)
    uncached(a, leaf)
    ir = next(iter(uncached.inspect_llvm().values()))
    assert "NRT_incref" not in ir and "NRT_decref" not in ir
    assert "NRT_incref" in next(iter(counted.inspect_llvm().values()))


def test_prefetch_is_a_cache_hint_that_changes_nothing():
    @njit
    def read_ahead(a):
        total = 0
        for k in range(a.shape[0]):
            prefetch(a, min(k + 64, a.shape[0] - 1))
            total += a[k]
        return total

    a = np.arange(1000, dtype=np.int64)
    assert read_ahead(a) == a.sum()
    asm = next(iter(read_ahead.inspect_asm().values()))
    assert "prefetch" in asm or "prfm" in asm  # x86 or ARM


def test_trailing_zeros_counts_up_to_the_lowest_set_bit():
    @njit
    def counts(xs, out):
        for k in range(xs.shape[0]):
            out[k] = trailing_zeros(xs[k])

    xs = np.array([0, 1, 2, 3, 12, 1 << 40, 1 << 63, (1 << 64) - 1, 0xF0F0F0F000000000], dtype=np.uint64)
    out = np.zeros(xs.shape[0], np.int64)
    counts(xs, out)
    want = [64] + [(int(x) & -int(x)).bit_length() - 1 for x in xs[1:]]
    assert out.tolist() == want


def test_copy16_copies_sixteen_bytes_at_any_offset():
    @njit
    def copy(dst, do, src, so):
        copy16(dst, do, src, so)

    src = np.arange(64, dtype=np.uint8)
    for do, so in ((0, 0), (3, 17), (31, 48)):
        dst = np.zeros(64, np.uint8)
        copy(dst, do, src, so)
        want = np.zeros(64, np.uint8)
        want[do:do + 16] = src[so:so + 16]
        np.testing.assert_array_equal(dst, want)
