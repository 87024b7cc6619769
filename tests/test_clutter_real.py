"""Scenes from the real MNIST / Fashion-MNIST files; runs when RVB_SOURCES points at them
(CI: RVB_SOURCES=../shared/data), skipped otherwise."""
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from generators.clutter import sources
from generators.clutter.task import ClutterTask, generate_arrays
from generators.seeds import sample_seeds

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "perf"))
import clutter_reference as ref  # noqa: E402


def _real_sources():
    """(SourceSet or None, why not)."""
    if not os.environ.get(sources.ENV_VAR):
        return None, f"{sources.ENV_VAR} is not set"
    try:
        return sources.load(), ""  # verified against the official checksums
    except sources.SourceError as exc:
        return None, f"{sources.ENV_VAR} does not point at the real MNIST/Fashion-MNIST: {exc}"


REAL, WHY_NOT = _real_sources()
pytestmark = pytest.mark.skipif(REAL is None, reason=WHY_NOT)


def test_real_sources_are_the_official_files():
    mnist, fashion = REAL.sources
    assert len(mnist.labels) == len(fashion.labels) == 70_000 and mnist.n_train == fashion.n_train == 60_000
    assert mnist.split_range("val") == (55_000, 5_000) and mnist.split_range("test") == (60_000, 10_000)
    assert REAL.digests == sources.KNOWN_SHA256
    # class balance of the official training files: 5421..6742 (MNIST), 6000 each (Fashion)
    assert np.bincount(mnist.labels[:60_000]).min() == 5421 and np.all(np.bincount(fashion.labels[:60_000]) == 6000)


def test_real_scenes_match_the_scipy_zoom_rotate_reference():
    """Our single-resampling scenes against the study's zoom-then-rotate (two resamplings)."""
    params = ClutterTask.params(REAL, with_target_only=True)
    a = generate_arrays(REAL, params, "test", sample_seeds(0, "clutter", "7", "test", np.arange(40)))
    images, _ = REAL.stacked()
    assert a["meta/source_index"].min() >= 60_000
    diffs, correlations = [], []
    rows, cols = np.mgrid[:100, :100]
    for i in range(40):
        meta = {k: v[i] for k, v in a.items()}
        exact = ref.compose(images, meta, method="affine")
        assert np.abs(exact.astype(int) - a["images"][i, 0]).max() <= 1
        study = ref.compose(images, meta, method="zoom-rotate", target_only=True).astype(float)
        ours = a["target_only"][i, 0].astype(float)
        ink = (study > 0) | (ours > 0)
        diffs.append(np.abs(study - ours)[ink].mean())
        correlations.append(np.corrcoef(study[ink], ours[ink])[0, 1])
        # same placement, scale and rotation: the ink centroids agree to a fraction of a pixel
        for grid in (rows, cols):
            assert abs((grid * study).sum() / study.sum() - (grid * ours).sum() / ours.sum()) < 0.5
    # the residual is the extra blur of resampling twice (gray levels over the ink, of 255)
    assert min(correlations) > 0.9 and np.mean(correlations) > 0.97 and np.mean(diffs) < 15
