"""Baseline models: shapes per task, iterate == forward, extra steps, parameter counts."""
import pytest
import torch

import baselines
from baselines.common import count_parameters
from benchmark import taskinfo as ti

# Tiny tasks and widths keep the CPU run short; real sizes only in the parameter counts.
TINY = {"mazes": ti.mazes(5), "pathfinder": ti.pathfinder(6, side=32), "pathfinder-seg": ti.pathfinder_seg(6, side=32),
        "clutter": ti.clutter(8, side=36)}
SMALL = {
    "locrnn": dict(width=4, k_long=5, k_short=3, steps=3),
    "hgru": dict(width=4, kernel=5, steps=3),
    "hgru2018": dict(width=4, kernel=5, steps=3),
    "convgru": dict(width=4, kernel=3, steps=3),
    "convgru-relu": dict(width=4, kernel=3, steps=3),
    "rresnet": dict(width=4, steps=3),
    "dt-recall": dict(width=4, steps=3),
    "resnet12": dict(width=4), "resnet20": dict(width=4), "resnet36": dict(width=4),
    "resnet10": {}, "resnet18": {},
    "feedback-rnn": dict(steps=3), "feedback-rnn-add": dict(steps=3),
}
CLASSIFIERS_ONLY = {"feedback-rnn", "feedback-rnn-add"}
CASES = [(n, t) for n in baselines.names() for t in TINY if not (n in CLASSIFIERS_ONLY and TINY[t].output != "classification")]


def make(name, task_name):
    torch.manual_seed(0)
    model = baselines.get(name)(TINY[task_name], **SMALL[name])
    return model.eval()


def test_registry_covers_every_family():
    assert set(SMALL) == set(baselines.names())
    with pytest.raises(KeyError, match="unknown baseline"):
        baselines.get("nope")
    with pytest.raises(ValueError, match="unknown setting"):
        baselines.get("locrnn")(TINY["mazes"], widht=3)


@pytest.mark.parametrize("name,task_name", CASES)
def test_shapes_and_iterate_equals_forward(name, task_name):
    task = TINY[task_name]
    model = make(name, task_name)
    x = torch.rand(2, task.in_channels, task.height, task.width)
    with torch.no_grad():
        if not model.recurrent:
            out = model(x, 3)
            assert out.shape == task.output_shape(2)
            assert [o.shape for o in model.iterate(x, 3)] == [out.shape]
            return
        steps = model.train_steps + 2          # more steps than trained
        outs = list(model.iterate(x, steps))
        assert len(outs) == steps
        for t, o in enumerate(outs, start=1):
            assert o.shape == task.output_shape(2)
            assert torch.isfinite(o).all()
            torch.testing.assert_close(o, model(x, t), rtol=0, atol=0)


def test_mazes_models_are_fully_convolutional():
    model = make("dt-recall", "mazes")
    x = torch.rand(1, 3, 40, 40)                 # a size-17 maze
    with torch.no_grad():
        assert model(x, 2).shape == (1, 2, 40, 40)


def test_feedback_rnn_refuses_segmentation():
    with pytest.raises(ValueError, match="classifier"):
        baselines.get("feedback-rnn")(TINY["mazes"])


def test_feedback_rnn_trace_and_injection():
    task = TINY["clutter"]
    model = make("feedback-rnn", "clutter")
    x = torch.rand(2, 1, task.height, task.width)
    with torch.no_grad():
        trace = model.trace(x, 3)
        assert len(trace) == 3
        acts = trace[1]["activations"]
        assert [a.shape[1] for a in acts] == [1, 8, 16, 128]
        assert trace[1]["lateral"][0] is None and trace[1]["topdown"][3] is None
        torch.testing.assert_close(trace[-1]["logits"], model(x, 3))
        # Replacing the fc layer's feedback at step 1 changes the output; the same value does not.
        same = model.trace(x, 3, inject={(3, 1): trace[1]["feedback"][3]})
        torch.testing.assert_close(same[-1]["logits"], trace[-1]["logits"])
        other = model.trace(x, 3, inject={(3, 1): torch.full_like(trace[1]["feedback"][3], 5.0)})
        assert not torch.allclose(other[-1]["logits"], trace[-1]["logits"])
    add = make("feedback-rnn-add", "clutter")
    assert add.mode == "additive"


def test_input_modulation_is_clipped():
    model = make("feedback-rnn", "clutter")
    x = torch.rand(1, 1, 36, 36)
    with torch.no_grad():
        trace = model.trace(x, 2, inject={(0, 1): torch.full_like(x, 10.0)})
    x0 = trace[1]["activations"][0]
    assert x0.min() >= 0 and x0.max() <= 1 and x0.max() == 1


def test_hgru2018_soft_restoration_is_reproducible():
    model = make("hgru2018", "mazes")
    trained = len(model.step_norms) // 2
    assert trained == 3
    picks = [model._norms(t)[0] for t in range(3, 10)]
    again = [model._norms(t)[0] for t in range(3, 10)]
    assert all(a is b for a, b in zip(picks, again))
    assert all(p in list(model.step_norms) for p in picks)
    assert model._norms(1)[0] is model.step_norms[2]


def test_gabor_stem_is_frozen_and_computed():
    from baselines.gabor import gabor_bank
    model = baselines.get("locrnn")(ti.pathfinder(14))
    assert "stem.weight" in dict(model.named_buffers())
    assert not any(n.startswith("stem.weight") for n, _ in model.named_parameters())
    bank = gabor_bank(32, 11)
    assert bank.shape == (32, 1, 11, 11)
    torch.testing.assert_close(bank.flatten(1).norm(dim=1), torch.ones(32))
    torch.testing.assert_close(bank.flatten(1).sum(dim=1), torch.zeros(32), atol=1e-5, rtol=0)
    # Distinct orientations give distinct filters.
    assert (bank[0] - bank[1]).abs().max() > 0.1


def test_parameter_counts_match_the_published_scale():
    counts = {}
    for name, task in [("locrnn", ti.pathfinder(14)), ("hgru", ti.pathfinder_seg(14)), ("resnet18", ti.pathfinder(14)),
                       ("resnet10", ti.pathfinder(14)), ("locrnn", ti.mazes(11)), ("dt-recall", ti.mazes(9)),
                       ("convgru", ti.mazes(11)), ("resnet20", ti.mazes(9))]:
        counts[(name, task.name)] = count_parameters(baselines.get(name)(task))
    r18 = counts[("resnet18", "pathfinder")]
    assert 11.0e6 < r18 < 11.4e6                        # ResNet-18 with one input channel
    assert 4.8e6 < counts[("resnet10", "pathfinder")] < 5.0e6
    assert counts[("locrnn", "pathfinder")] < r18 / 20
    assert counts[("hgru", "pathfinder-seg")] < r18 / 20
    # hGRU: two 25x25x15x15 kernels dominate (2 x 140,625).
    assert 281_250 < counts[("hgru", "pathfinder-seg")] < 300_000
    # LocRNN on PathFinder: W_L 64->32 9x9 + W_S 64->32 5x5 = 217,088 of the total.
    assert 217_088 < counts[("locrnn", "pathfinder")] < 260_000
    # DT-R width 128: recall conv 131->128 + four 128x128 3x3 convs = 740,736 of the total.
    assert 740_736 < counts[("dt-recall", "mazes")] < 800_000
    assert 500_000 < counts[("resnet20", "mazes")] < 650_000


def test_steps_follow_the_recipe_unless_declared():
    import dataclasses
    task = ti.mazes(9)                                  # TaskInfo default: 30 steps
    assert baselines.get("locrnn")(task, width=4).train_steps == 15      # LocRNN recipe
    assert baselines.get("dt-recall")(task, width=4).train_steps == 30
    declared = dataclasses.replace(task, train_steps=20)
    assert baselines.get("locrnn")(declared, width=4).train_steps == 20
    assert baselines.get("locrnn")(declared, width=4, steps=7).train_steps == 7
    assert len(baselines.get("hgru2018")(declared, width=4, kernel=3).step_norms) == 40
    assert baselines.get("resnet20")(task, width=4).recurrent is False
