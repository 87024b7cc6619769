import numpy as np
import pytest
import torch

from benchmark import metrics


def _maze(n=3, side=6):
    images = np.zeros((n, 3, side, side), np.uint8)
    images[:, :, 1:-1, 1:-1] = 255            # open interior, black border = wall
    target = np.zeros((n, side, side), np.uint8)
    target[:, 2, 1:4] = 1
    return images, target


def test_maze_exact_ignores_predictions_on_walls():
    images, target = _maze()
    pred = target.copy()
    pred[0, 0, 0] = 1            # on the border wall: zeroed, still exact
    pred[1, 3, 3] = 1            # extra path pixel inside: wrong
    pred[2, 2, 1] = 0            # missing path pixel: wrong
    assert metrics.maze_exact(pred, target, images).tolist() == [1.0, 0.0, 0.0]


def test_maze_exact_by_loop_oracle():
    rng = np.random.default_rng(1)
    images = (rng.random((20, 3, 8, 8)) > 0.3).astype(np.uint8) * 255
    target = (rng.random((20, 8, 8)) > 0.9).astype(np.uint8) * (images.max(1) > 0)
    pred = target.copy()
    flip = rng.random((20, 8, 8)) > 0.97
    pred = np.where(flip, 1 - pred, pred)
    expected = []
    for i in range(20):
        ok = True
        for y in range(8):
            for x in range(8):
                p = pred[i, y, x] if images[i, :, y, x].max() > 0 else 0
                ok &= p == target[i, y, x]
        expected.append(float(ok))
    assert metrics.maze_exact(pred, target, images).tolist() == expected
    assert 0 < sum(expected) < 20


def test_iou_and_f1_by_hand():
    target = np.array([[[1, 1, 0, 0]], [[0, 0, 0, 0]], [[1, 0, 0, 0]]])
    pred = np.array([[[1, 0, 1, 0]], [[0, 0, 0, 0]], [[0, 1, 0, 0]]])
    # image 0: tp 1, fp 1, fn 1 -> IoU 1/3, F1 2/4; image 1: both empty -> 1; image 2: 0
    assert metrics.iou(pred, target) == pytest.approx([1 / 3, 1.0, 0.0])
    assert metrics.f1(pred, target) == pytest.approx([0.5, 1.0, 0.0])


def test_accuracy_and_predictions():
    logits = torch.tensor([[0.1, 2.0], [3.0, -1.0], [0.0, 0.5]])
    pred = metrics.predictions(logits)
    assert metrics.accuracy(pred, torch.tensor([1, 0, 0])).tolist() == [1.0, 1.0, 0.0]
    conf = metrics.confidence(logits)
    assert conf[1].item() == pytest.approx(torch.softmax(logits[1], 0).max().item())


def test_bootstrap_ci_brackets_mean_and_shares_resamples():
    rng = np.random.default_rng(0)
    scores = (rng.random((3, 400)) < np.array([[0.2], [0.5], [0.9]])).astype(float)
    mean, low, high = metrics.summarise(scores, n_boot=500)
    assert np.all(low <= mean) and np.all(mean <= high)
    # normal approximation of a proportion's 95% interval as an independent check
    half = 1.96 * np.sqrt(mean * (1 - mean) / 400)
    assert np.allclose(high - low, 2 * half, rtol=0.25)
    # identical rows get identical intervals (same resamples for every cell)
    lo2, hi2 = metrics.bootstrap_ci(np.stack([scores[0], scores[0]]), n_boot=200)
    assert lo2[0] == lo2[1] and hi2[0] == hi2[1]


def test_bootstrap_of_constant_scores_is_degenerate():
    low, high = metrics.bootstrap_ci(np.ones(50))
    assert low == high == 1.0


def test_predictions_equal_argmax_with_ties():
    g = torch.Generator().manual_seed(0)
    logits = torch.randint(-2, 3, (4, 2, 5, 5), generator=g).float()     # many ties
    assert torch.equal(metrics.predictions(logits), logits.argmax(dim=1))
    cls = torch.randn(6, 20, generator=g)
    assert torch.equal(metrics.predictions(cls), cls.argmax(dim=1))
