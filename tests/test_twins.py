"""Clutter twins: the same scene from the same seed with one drawn value of the target
changed; checked through meta/ (only that variable moves) and the pixels (they differ, and
only where the objects concerned are drawn)."""
import numpy as np
import pytest

from generators.clutter import kernel as clutter, sources
from generators.clutter.task import ClutterTask, generate_arrays
from generators.clutter.twins import CHANGES, VARIABLES, twin_arrays
from generators.seeds import sample_seeds
from test_sources import use_fake_sources

N = 64
PER_OBJECT = ("source_index", "source_domain", "object_present", "object_scale", "object_angle", "object_center",
              "object_permutation")


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    use_fake_sources(mp, tmp_path_factory.mktemp("sources"), 5200, 200)
    found = sources.load()
    params = ClutterTask.params(found, clutter_objects=5)
    seeds = sample_seeds(3, "clutter", "t", "test", np.arange(N))
    yield found, params, seeds, generate_arrays(found, params, "test", seeds)
    mp.undo()
    sources._LOADED.clear()


def boxes(arrays, n, slots):
    """Boolean [100, 100]: where objects ``slots`` of scene n are drawn."""
    mask = np.zeros((clutter.SIDE, clutter.SIDE), bool)
    for slot in slots:
        if arrays["meta/object_present"][n, slot]:
            d = clutter.object_side(arrays["meta/object_scale"][n, slot])
            r, c = arrays["meta/object_center"][n, slot] - d // 2
            mask[max(r, 0):max(r + d, 0), max(c, 0):max(c + d, 0)] = True
    return mask


@pytest.mark.parametrize("variable", VARIABLES)
def test_a_twin_changes_that_variable_only(scenes, variable):
    found, params, seeds, original = scenes
    twin = twin_arrays(found, params, "test", seeds, variable)
    assert np.array_equal(twin["meta/seed"] if "meta/seed" in twin else seeds, seeds)
    allowed = set(CHANGES[variable]) | (set(PER_OBJECT) if variable.startswith(("location", "category")) else
                                        {"object_scale", "object_angle"})
    for name in (k for k in original if k.startswith("meta/")):
        same = np.array_equal(original[name], twin[name])
        assert same or name[5:] in allowed, f"{variable} changed {name}"
        if name[5:] in CHANGES[variable]:
            assert not same, f"{variable} left {name} as it was"
    labels_same = np.array_equal(original["labels"], twin["labels"])
    assert labels_same != variable.startswith("category")
    if variable == "category-within":
        assert np.all(original["labels"] // 10 == twin["labels"] // 10) and np.all(original["labels"] != twin["labels"])
    if variable == "category-across":
        assert np.all(original["labels"] // 10 != twin["labels"] // 10)


@pytest.mark.parametrize("variable", VARIABLES)
def test_a_twin_differs_in_pixels_only_where_the_target_is_drawn(scenes, variable):
    found, params, seeds, original = scenes
    twin = twin_arrays(found, params, "test", seeds, variable)
    for n in range(N):
        a, b = original["images"][n, 0], twin["images"][n, 0]
        assert not np.array_equal(a, b), f"scene {n}: the twin looks the same"
        slots = {int(original["meta/target_slot"][n]), int(twin["meta/target_slot"][n])}
        where = boxes(original, n, slots) | boxes(twin, n, slots)
        assert np.array_equal(a[~where], b[~where]), f"scene {n}: pixels changed away from the target"


def test_unknown_variable_is_named(scenes):
    found, params, seeds, _ = scenes
    with pytest.raises(ValueError, match="'size' is not one of location, scale"):
        twin_arrays(found, params, "test", seeds, "size")
