"""Torch datasets over shard folders, and transforms that treat masks as masks.

``ShardDataset`` is map-style. It keeps only the folder path and manifest when pickled;
the HDF5 handles (through ``generators.shards.ShardSet``) are opened lazily in whichever
process reads, so it works with ``DataLoader(num_workers > 0)`` under fork or spawn.
"""
import numpy as np
import torch

from generators.dataset import open_dataset
from generators.errors import DatasetError
from generators.integrity import check_shards

from .errors import HarnessError


class ShardDataset(torch.utils.data.Dataset):
    """Samples of one dataset folder as ``(image float32 [C,H,W] in [0,1], target)``.

    The target is the mask (int64 [H,W], 0/1) for segmentation sets and the label (int64
    scalar) otherwise; ``target="labels"`` or ``"masks"`` forces one. ``transform(image,
    target, rng)`` gets a numpy Generator seeded from (seed, epoch, index), so augmented
    data is the same whatever the worker count; call ``set_epoch`` between epochs.
    ``limit`` keeps only the first ``limit`` samples.

    Every shard is checked against the manifest's sha256 before use (``verify``):
    ``"stamp"`` hashes only files changed since they were last verified (the stamp beside
    the manifest; training sets), ``"always"`` hashes every file (test sets), ``None`` skips
    the check. ``check()`` repeats it (cheap with the stamp: one stat per shard).
    """

    VERIFY = ("stamp", "always", None)

    def __init__(self, root, target="auto", transform=None, seed=0, cache_bytes=64 << 20, limit=None,
                 verify="stamp"):
        if verify not in self.VERIFY:
            raise ValueError(f"verify must be one of {self.VERIFY}, got {verify!r}")
        try:
            ds = open_dataset(root, cache_bytes=cache_bytes)
            if verify:
                check_shards(ds.root, ds.manifest, always=verify == "always")
        except DatasetError as exc:
            raise HarnessError(str(exc)) from None
        self.root = ds.root
        self.manifest = ds.manifest
        self.cache_bytes = cache_bytes
        names = ds.shards.names()
        if target == "auto":
            target = "masks" if "masks" in names else "labels"
        if target not in names:
            raise HarnessError(f"{root}: has no {target!r} array; it has {', '.join(names)}")
        self.target = target
        self.transform = transform
        self.seed = seed
        self.epoch = 0
        self._shards = ds.shards
        self.count = min(self.manifest["count"], limit) if limit else self.manifest["count"]

    def __len__(self):
        return self.count

    def part(self, indices):
        """The samples at ``indices`` (a view that keeps ``target``)."""
        return _Part(self, [int(i) for i in indices])

    def check(self):
        """Check the shards against the manifest again (stamp: only changed files are hashed)."""
        try:
            check_shards(self.root, self.manifest)
        except DatasetError as exc:
            raise HarnessError(str(exc)) from None

    def set_epoch(self, epoch):
        self.epoch = int(epoch)

    @property
    def shards(self):
        if self._shards is None:
            self._shards = open_dataset(self.root, cache_bytes=self.cache_bytes).shards
        return self._shards

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_shards"] = None          # h5py handles never cross a process boundary
        return state

    def raw(self, index):
        """The stored uint8 image and the target array of sample ``index``."""
        if not -len(self) <= index < len(self):
            raise IndexError(f"sample index {index} outside 0..{len(self) - 1}")
        index = index % len(self)
        try:
            sample = self.shards.sample(index, names=["images", self.target])
        except DatasetError as exc:          # damaged after the check: still one line, never a wrong array
            raise HarnessError(f"{exc}; run 'benchgen verify {self.root}'") from None
        return sample["images"], sample[self.target]

    def __getitem__(self, index):
        image, target = self.raw(int(index))
        x = torch.from_numpy(image.astype(np.float32) / 255.0)
        y = torch.as_tensor(np.asarray(target, dtype=np.int64))
        if self.transform is not None:
            rng = np.random.default_rng([self.seed, self.epoch, int(index)])
            x, y = self.transform(x, y, rng)
        return x, y


class _Part(torch.utils.data.Subset):
    @property
    def target(self):
        return self.dataset.target


def loader(dataset, batch_size, shuffle=False, num_workers=0, seed=0, **kwargs):
    """A DataLoader whose shuffling order depends on ``seed`` only."""
    generator = torch.Generator().manual_seed(seed)
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=shuffle,
                                       num_workers=num_workers, generator=generator,
                                       persistent_workers=num_workers > 0, **kwargs)


# --- transforms: (image [C,H,W] float, target, rng) -> (image, target) -----------------

class Compose:
    def __init__(self, *transforms):
        self.transforms = transforms

    def __call__(self, x, y, rng):
        for t in self.transforms:
            x, y = t(x, y, rng)
        return x, y


def _is_mask(y):
    return y.dim() == 2


class RandomFlip:
    """Horizontal and/or vertical flips, the same for the image and its mask."""

    def __init__(self, horizontal=True, vertical=False, p=0.5):
        self.horizontal, self.vertical, self.p = horizontal, vertical, p

    def __call__(self, x, y, rng):
        for axis, on in ((-1, self.horizontal), (-2, self.vertical)):
            if on and rng.random() < self.p:
                x = x.flip(axis)
                if _is_mask(y):
                    y = y.flip(axis)
        return x, y


class RandomRot90:
    """Rotation by a random multiple of 90 degrees (mazes are symmetric under it)."""

    def __call__(self, x, y, rng):
        k = int(rng.integers(4))
        if k:
            x = torch.rot90(x, k, dims=(-2, -1))
            if _is_mask(y):
                y = torch.rot90(y, k, dims=(-2, -1))
        return x, y


class Resize:
    """Resize to ``size`` (h, w): bilinear for the image, nearest for a mask."""

    def __init__(self, size):
        self.size = tuple(size)

    def __call__(self, x, y, rng):
        if tuple(x.shape[-2:]) == self.size:
            return x, y
        x = torch.nn.functional.interpolate(x[None], size=self.size, mode="bilinear",
                                            align_corners=False, antialias=True)[0].clamp_(0, 1)
        if _is_mask(y):
            y = torch.nn.functional.interpolate(y[None, None].float(), size=self.size,
                                                mode="nearest-exact")[0, 0].to(torch.int64)
        return x, y
