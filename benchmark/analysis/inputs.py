"""What every analysis starts from: a built model (weights loaded) and a batch of test images."""
import dataclasses

import numpy as np
import torch

from .. import contract, suite
from ..data import ShardDataset
from ..devices import resolve_device
from ..errors import HarnessError


@dataclasses.dataclass
class Subject:
    model: torch.nn.Module
    info: object                  # the TaskInfo the model was built with
    source: object                # contract.ModelSource
    weights_sha256: str
    device: torch.device

    def identity(self):
        return {"name": self.source.name, "source": self.source.spec, "sha256": self.source.sha256,
                "weights_sha256": self.weights_sha256,
                "train": {"difficulty": self.info.difficulty, "steps": self.info.train_steps}}


def subject(model, task, weights=None, train_difficulty=None, train_steps=None, device="cpu"):
    """The model of ``model`` (file or REGISTRY:NAME) built for ``task``, in eval mode."""
    info = suite.train_info(task, train_difficulty, train_steps)
    source = contract.load_source(model)
    built = contract.build(source, info)
    info = dataclasses.replace(info, train_steps=int(getattr(built, "train_steps", None) or info.train_steps))
    weights_sha = contract.load_weights(built, weights) if weights else None
    device = resolve_device(device)
    return Subject(built.to(device).eval(), info, source, weights_sha, device)


def test_batch(task, sets, difficulty, n, data_root, workers=1):
    """The first ``n`` images of a suite test set (generated if missing, hashed before use):
    (x [n, C, H, W] float, targets [n, ...] int64, description of the set, the ShardDataset)."""
    data = suite.data_spec(task, sets, difficulty, "test")
    folder = suite.ensure(data, data_root, workers=workers)
    ds = ShardDataset(folder, target=suite.get(task).target, verify="always")
    if not 1 <= n <= len(ds):
        raise HarnessError(f"-n {n}: the {data.key} set has {len(ds)} images; allowed 1..{len(ds)}")
    items = [ds[i] for i in range(n)]
    x = torch.stack([a for a, _ in items])
    y = torch.stack([b for _, b in items])
    return x, y, {"key": data.key, "difficulty": int(difficulty), "images": n,
                  "manifest_sha256": suite.manifest_hash(data, data_root)}, ds


def summary(values):
    """Mean, median, min and max of a 1-d array (non-finite values counted apart)."""
    v = np.asarray(values, dtype=np.float64)
    finite = v[np.isfinite(v)]
    if not finite.size:
        return {"mean": None, "median": None, "min": None, "max": None, "non_finite": int(v.size)}
    return {"mean": float(finite.mean()), "median": float(np.median(finite)), "min": float(finite.min()),
            "max": float(finite.max()), "non_finite": int(v.size - finite.size)}
