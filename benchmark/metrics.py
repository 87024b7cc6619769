"""Metrics as per-sample scores, their means and bootstrap confidence intervals.

Every metric returns one score per sample (so grids can keep per-sample outputs and
confidence intervals are a resampling of those scores):

- ``maze_exact``: whole-maze exact match after zeroing predictions on wall pixels (input
  pixel black in every channel), as the easy-to-hard reference scores mazes;
- ``accuracy``: classification accuracy (2-way PathFinder, 20-way clutter);
- ``iou`` and ``f1``: of the target class (1) of a segmentation, per image; an image
  where prediction and target are both empty scores 1.
"""
import numpy as np
import torch


def _np(a):
    if isinstance(a, torch.Tensor):
        return a.detach().cpu().numpy()
    return np.asarray(a)


def non_wall(images):
    """Boolean [N,H,W]: pixels where the input is not black (any channel > 0)."""
    return _np(images).max(axis=1) > 0


def maze_exact(pred, target, images):
    """1.0 for a maze whose non-wall-masked prediction equals the target everywhere."""
    pred, target = _np(pred), _np(target)
    masked = (pred.astype(bool) & non_wall(images))
    return np.all(masked == target.astype(bool), axis=(1, 2)).astype(np.float64)


def accuracy(pred, target, images=None):
    return (_np(pred) == _np(target)).astype(np.float64)


def _confusion(pred, target):
    p, t = _np(pred).astype(bool), _np(target).astype(bool)
    axes = tuple(range(1, p.ndim))
    tp = np.sum(p & t, axis=axes)
    fp = np.sum(p & ~t, axis=axes)
    fn = np.sum(~p & t, axis=axes)
    return tp, fp, fn


def iou(pred, target, images=None):
    tp, fp, fn = _confusion(pred, target)
    union = tp + fp + fn
    return np.where(union == 0, 1.0, tp / np.maximum(union, 1))


def f1(pred, target, images=None):
    tp, fp, fn = _confusion(pred, target)
    denom = 2 * tp + fp + fn
    return np.where(denom == 0, 1.0, 2 * tp / np.maximum(denom, 1))


METRICS = {"maze_exact": maze_exact, "accuracy": accuracy, "iou": iou, "f1": f1}
# Secondary metrics reported next to the primary one, per primary metric.
SECONDARY = {"iou": ("f1",)}


def predictions(logits):
    """Class decisions from logits [B,K] or [B,K,H,W] (argmax over K, ties to the lower class)."""
    if logits.dim() > 2 and logits.shape[1] == 2:
        # Same result as argmax, without torch's slow CPU reduction over a strided dim.
        return (logits[:, 1] > logits[:, 0]).long()
    return logits.argmax(dim=1)


def confidence(logits):
    """Per-sample confidence: max softmax probability (mean over pixels for masks)."""
    p = torch.softmax(logits.float(), dim=1).amax(dim=1)
    return p.flatten(1).mean(dim=1) if p.dim() > 1 else p


def bootstrap_ci(scores, n_boot=1000, level=0.95, seed=0):
    """Percentile bootstrap CI of the mean of ``scores`` along the last axis.

    ``scores`` is [..., N]; all leading cells (e.g. every step budget of one difficulty)
    share the same resamples, so cells are comparable. Returns (low, high) arrays of the
    leading shape. The resampling is a multinomial weighting, one matrix product for all
    cells.
    """
    scores = np.asarray(scores, dtype=np.float64)
    n = scores.shape[-1]
    if n == 0:
        raise ValueError("bootstrap of zero samples")
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(np.float64)
    flat = scores.reshape(-1, n)
    means = weights @ flat.T / n                          # [n_boot, cells]
    alpha = (1.0 - level) / 2
    low, high = np.quantile(means, [alpha, 1.0 - alpha], axis=0)
    return low.reshape(scores.shape[:-1]), high.reshape(scores.shape[:-1])


def summarise(scores, n_boot=1000, level=0.95, seed=0):
    """{'mean', 'ci': [low, high]} per leading cell of ``scores`` [..., N] (nested lists)."""
    scores = np.asarray(scores, dtype=np.float64)
    low, high = bootstrap_ci(scores, n_boot, level, seed)
    return scores.mean(axis=-1), low, high
