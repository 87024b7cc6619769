"""PathFinder at the LRA presets: the faster placement code draws exactly what the old one did.

The placement kernels were sped up (no reference counting in the geometry code, no fit test
for a candidate that could not be chosen) without changing a single draw, so outputs are
byte-identical to the kernel before the change. The digests below were computed with that
kernel (git show a42b6f4:generators/pathfinder/kernel.py) on the same seeds and labels:
any change of the random stream or the geometry shows up here. perf/pathfinder_lra.py
--baseline REF measures the speed against any older kernel and re-checks identity. The
lra32 / lra64 presets now use the rhombus sampler (tests/test_pathfinder_rhombus.py); the
ghost sampler they used before is pinned here with ``sampler="ghost"``.
"""
import hashlib

import numpy as np
import pytest

from generators.pathfinder import kernel as pf
from generators.pathfinder.task import kernel_args, make_params
from perf.pathfinder_lra import kernel_args_for
from generators.seeds import sample_seeds

# (preset, length, markers, count) -> sha256 of every output array of generate_into, and
# the total restarts, as made by the kernel before the speed-up.
GOLDEN = {
    ("linsley2018", 14, 2, 8): ("a4127bdc065d376f4439005c5d1cd474433ab74d96daa9d1ad836090e2b78b5e", 25),
    ("lra128", 14, 2, 24): ("b6315f48cb07d12f39bf978aad2e39afd209d93ec9686b26982f8d983a68b833", 366),
    ("lra32", 9, 1, 48): ("e91daeffff45f8415301915aa83c6b1837c48fd8984b08354c54ab63fa759fb5", 1716),
    ("lra32", 14, 2, 24): ("a8120e45bb4cf8e5172fc37022cbf875a6d2c0f94ab6711d902bfaac1b64775e", 8959),
    ("lra64", 14, 2, 24): ("6fcf7a515018e3c2c136a5297cc125c38ed592c4e86bcb3e9516ba994a0bc784", 1663),
}
LAYOUT_RESTARTS = [10, 13, 8, 10, 37, 4]
OLD_REVISION = "a42b6f4"
LAYOUT_DIGEST = "5f77dd17397b9cef36b293d61330b7426d94e4bfbb1b280d85dde32838cd7bf0"


def outputs(kernel, preset, length, markers, count, seed=11):
    """sha256 of all outputs of ``kernel.generate_into`` and the total restarts."""
    params = make_params(length, preset, markers, sampler="ghost")
    side = params["size"]
    seeds = sample_seeds(seed, "pathfinder", "lra-golden", "train", np.arange(count)).astype(np.uint64)
    labels = pf.shard_labels(np.uint64(seed), count)
    out = pf.output_arrays(count, side)
    assert kernel.generate_into(seeds, labels, *kernel_args_for(kernel, params), *out) == -1
    return hashlib.sha256(b"".join(a.tobytes() for a in out)).hexdigest(), int(out[5].sum())


@pytest.mark.parametrize("key", sorted(GOLDEN))
def test_outputs_byte_identical_to_the_kernel_before_the_speedup(key):
    assert outputs(pf, *key) == GOLDEN[key]


def test_layouts_identical_seed_by_seed_and_restarts_counted():
    # the scene itself (dashes, ends, restarts, margin) of single seeds, as layout_of gives it
    params = make_params(14, "lra128")
    args = kernel_args(params)[:13]
    seeds = sample_seeds(5, "pathfinder", "lra-layout", "train", np.arange(6))
    h = hashlib.sha256()
    restarts = []
    for seed in seeds:
        dashes, ends, placed, r, margin = pf.layout_of(seed, *args)
        h.update(dashes.tobytes() + ends.tobytes() + np.array([placed, r, margin]).tobytes())
        restarts.append(r)
    assert restarts == LAYOUT_RESTARTS
    assert h.hexdigest() == LAYOUT_DIGEST


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["lra32", "lra64", "lra128"])
def test_byte_identical_to_the_old_kernel_on_more_seeds(preset):
    # the kernel before the speed-up, from git (perf/pathfinder_lra.py loads it the same way)
    import subprocess

    try:
        from perf.pathfinder_lra import load_kernel
        old = load_kernel(OLD_REVISION)
    except (ImportError, OSError, subprocess.CalledProcessError):
        pytest.skip(f"git revision {OLD_REVISION} not available")
    for length, count in ((6, 200), (9, 200), (14, 100)):
        assert outputs(pf, preset, length, 2, count, seed=23) == outputs(old, preset, length, 2, count, seed=23)
