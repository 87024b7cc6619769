"""MNIST and Fashion-MNIST: IDX reading, checksums, where to find them, and fetching.

A source is identified by the sha256 of its files' *uncompressed* content, so the same
data gives the same identity whether it is stored gzipped or raw, and whatever folder it
sits in. Folders are searched in this order, per source:

1. ``--sources DIR`` (as ``DIR/mnist/`` and ``DIR/fashion-mnist/``),
2. the environment variable ``RVB_SOURCES`` (same layout),
3. the user cache ``$XDG_CACHE_HOME/recurrent-vision-bench/`` (default ``~/.cache/...``),
   where ``benchgen sources fetch`` puts them,
4. Debian's ``dataset-fashion-mnist`` package folder (Fashion-MNIST only).

Splits of a source (images indexed 0..n_train+n_test-1, training file first): train =
the training file less its last 5,000 images, val = those 5,000, test = the test file.
"""
import gzip
import hashlib
import os
import struct
import time
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..atomic import replacing
from ..errors import DatasetError

SOURCES = ("mnist", "fashion-mnist")
FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
ENV_VAR = "RVB_SOURCES"
DEBIAN_DIRS = {"fashion-mnist": Path("/usr/share/datasets/fashion-mnist")}
VAL_COUNT = 5000
SIDE = 28
NUM_CLASSES = 10

# sha256 of the uncompressed official files (IDX bytes as distributed, after gunzip).
KNOWN_SHA256 = {
    "mnist/train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "mnist/train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "mnist/t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "mnist/t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    "fashion-mnist/train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "fashion-mnist/train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "fashion-mnist/t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "fashion-mnist/t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}

# Download locations of the gzipped files, official first, then well-known copies.
MIRRORS = {
    "mnist": (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ),
    "fashion-mnist": (
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ),
}

# IDX magic numbers: two zero bytes, the type code (0x08 = unsigned byte), the rank.
_MAGIC = {0x00000801: 1, 0x00000803: 3}


class SourceError(DatasetError):
    """A source file is missing, unreadable or not the expected content; names the file."""


def read_idx(path):
    """Array of an IDX file (gzip or raw, detected from the content) and its raw bytes."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    return read_idx_bytes(raw, path)


def parse_idx(raw, name="<bytes>"):
    if len(raw) < 4:
        raise SourceError(f"{name}: truncated IDX file ({len(raw)} bytes, no header)")
    magic = struct.unpack(">I", raw[:4])[0]
    if magic not in _MAGIC:
        raise SourceError(f"{name}: not an IDX file of unsigned bytes (magic number 0x{magic:08x}; "
                          "allowed 0x00000801 for labels, 0x00000803 for images)")
    rank = _MAGIC[magic]
    header = 4 + 4 * rank
    if len(raw) < header:
        raise SourceError(f"{name}: truncated IDX header ({len(raw)} bytes, {header} needed)")
    shape = struct.unpack(f">{rank}I", raw[4:header])
    size = int(np.prod(shape, dtype=np.int64))
    if len(raw) != header + size:
        what = "truncated" if len(raw) < header + size else "has trailing bytes"
        raise SourceError(f"{name}: {what}: shape {tuple(shape)} needs {size} data bytes, found {len(raw) - header}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def write_idx(path, array, compress=None):
    """Write a uint8 array (rank 1 or 3) as an IDX file, gzipped when the name ends in .gz."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    magic = {1: 0x00000801, 3: 0x00000803}[array.ndim]
    data = struct.pack(f">I{array.ndim}I", magic, *array.shape) + array.tobytes()
    path = Path(path)
    if compress if compress is not None else path.suffix == ".gz":
        data = gzip.compress(data, compresslevel=1, mtime=0)
    path.write_bytes(data)
    return path


def cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "recurrent-vision-bench"


def search_dirs(source, sources_dir=None):
    """Candidate folders of one source, in lookup order."""
    dirs = []
    if sources_dir:
        dirs.append(Path(sources_dir) / source)
    if os.environ.get(ENV_VAR):
        dirs.append(Path(os.environ[ENV_VAR]) / source)
    dirs.append(cache_dir() / source)
    if source in DEBIAN_DIRS:
        dirs.append(DEBIAN_DIRS[source])
    return dirs


def _file_in(folder, name):
    for candidate in (folder / f"{name}.gz", folder / name):
        if candidate.is_file():
            return candidate
    return None


def locate(source, sources_dir=None):
    """(folder, {file: path}) of the first folder holding all four files, or (None, missing)."""
    dirs = search_dirs(source, sources_dir)
    for folder in dirs:
        paths = {name: _file_in(folder, name) for name in FILES}
        if all(paths.values()):
            return folder, paths
    return None, dirs


def missing_message(missing, dirs_by_source):
    looked = "; ".join(f"{s}: {', '.join(str(d) for d in dirs)}" for s, dirs in dirs_by_source.items())
    files = ", ".join(f"{s}/{name}.gz" for s in missing for name in FILES)
    return (f"source files not found: {files} (looked in {looked}). Provide them either by running "
            f"'benchgen sources fetch' (downloads into {cache_dir()}), or by copying the IDX files "
            f"(gzipped or raw) into DIR/mnist/ and DIR/fashion-mnist/ and passing --sources DIR "
            f"or setting {ENV_VAR}=DIR")


@dataclass
class Source:
    """One source, its training and test files concatenated (index = position)."""
    name: str
    images: np.ndarray      # uint8 [n_train + n_test, 28, 28]
    labels: np.ndarray      # uint8 [n_train + n_test]
    n_train: int
    folder: Path
    digests: dict = field(default_factory=dict)  # "source/file" -> sha256 of uncompressed bytes

    def split_range(self, split):
        """(first, count) of the images a split may use."""
        n_test = len(self.labels) - self.n_train
        return {"train": (0, self.n_train - VAL_COUNT), "val": (self.n_train - VAL_COUNT, VAL_COUNT),
                "test": (self.n_train, n_test)}[split]


def load_source(source, sources_dir=None, expected=None):
    """Read and verify one source; SourceError names the missing, corrupt or wrong file."""
    expected = KNOWN_SHA256 if expected is None else expected
    folder, found = locate(source, sources_dir)
    if folder is None:
        raise SourceError(missing_message([source], {source: found}))
    arrays, digests = {}, {}
    for name in FILES:
        path = found[name]
        array, raw = read_idx(path)
        digest = hashlib.sha256(raw).hexdigest()
        key = f"{source}/{name}"
        if digest != expected.get(key):
            raise SourceError(f"{path}: content checksum {digest[:16]}... is not the known {key} "
                              f"({str(expected.get(key))[:16]}...); the file is corrupt or another dataset")
        arrays[name], digests[key] = array, digest
    return _assemble(source, arrays, folder, digests)


def _assemble(source, arrays, folder, digests):
    parts = []
    for split in ("train", "t10k"):
        images, labels = arrays[f"{split}-images-idx3-ubyte"], arrays[f"{split}-labels-idx1-ubyte"]
        where = folder / f"{split}-images-idx3-ubyte"
        if images.ndim != 3 or images.shape[1:] != (SIDE, SIDE):
            raise SourceError(f"{where}: images are {images.shape[1:]}, expected {SIDE}x{SIDE}")
        if labels.ndim != 1 or len(labels) != len(images):
            raise SourceError(f"{where}: {len(images)} images but {len(labels)} labels")
        if labels.size and labels.max() >= NUM_CLASSES:
            raise SourceError(f"{where}: label {int(labels.max())} outside 0..{NUM_CLASSES - 1}")
        parts.append((images, labels))
    n_train = len(parts[0][1])
    if n_train <= VAL_COUNT or len(parts[1][1]) == 0:
        raise SourceError(f"{folder}: {n_train} training and {len(parts[1][1])} test images; "
                          f"need more than {VAL_COUNT} training images (the last {VAL_COUNT} are validation) "
                          "and 1 test image")
    return Source(source, np.concatenate([parts[0][0], parts[1][0]]), np.concatenate([parts[0][1], parts[1][1]]),
                  n_train, folder, digests)


@dataclass
class SourceSet:
    """Both sources, stacked for the kernels (domain 0 = MNIST, 1 = Fashion-MNIST)."""
    sources: tuple

    @property
    def digests(self):
        return {k: v for s in self.sources for k, v in sorted(s.digests.items())}

    def stacked(self):
        """(images uint8 [2, M, 28, 28], labels uint8 [2, M]); shorter sources zero-padded."""
        if not hasattr(self, "_stacked"):
            m = max(len(s.labels) for s in self.sources)
            images = np.zeros((len(self.sources), m, SIDE, SIDE), np.uint8)
            labels = np.zeros((len(self.sources), m), np.uint8)
            for d, s in enumerate(self.sources):
                images[d, : len(s.labels)] = s.images
                labels[d, : len(s.labels)] = s.labels
            self._stacked = (images, labels)
        return self._stacked

    def split_ranges(self, split):
        """int64 [2, 2]: (first, count) per domain."""
        return np.array([s.split_range(split) for s in self.sources], dtype=np.int64)


_LOADED = {}


def load(sources_dir=None, expected=None):
    """Both sources, verified; kept in memory per process (forked workers share it).

    If any source is missing the error lists every missing file at once.
    """
    expected = KNOWN_SHA256 if expected is None else expected
    sources_dir = sources_dir or None
    missing, looked = [], {}
    for name in SOURCES:
        folder, found = locate(name, sources_dir)
        if folder is None:
            missing.append(name)
            looked[name] = found
    if missing:
        raise SourceError(missing_message(missing, looked))
    key = (tuple(str(locate(name, sources_dir)[0].resolve()) for name in SOURCES),
           tuple(sorted(expected.items())))
    if key not in _LOADED:
        _LOADED.clear()  # one set at a time: each holds about 110 MB
        _LOADED[key] = SourceSet(tuple(load_source(name, sources_dir, expected) for name in SOURCES))
    return _LOADED[key]


def check(sources_dir=None, expected=None):
    """Per source: (name, folder or None, None if valid else the reason) without raising."""
    rows = []
    for name in SOURCES:
        folder, found = locate(name, sources_dir)
        if folder is None:
            rows.append((name, None, "not found in " + ", ".join(str(d) for d in found)))
            continue
        try:
            load_source(name, sources_dir, expected)
            rows.append((name, folder, None))
        except SourceError as exc:
            rows.append((name, folder, str(exc)))
    return rows


def _download(url, timeout):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def fetch(dest=None, sources=SOURCES, mirrors=None, retries=3, timeout=30.0, backoff=1.0, expected=None,
          log=None, opener=_download):
    """Download the missing or invalid source files into ``dest`` (default the user cache).

    Each file is tried on every mirror in turn, each mirror up to ``retries`` times with
    exponential backoff on network errors; a download whose content checksum is wrong
    moves on to the next mirror, and a mirror that stayed unreachable is not tried again
    for the other files (so a machine without network fails in seconds). Files are written under a temporary name and renamed
    once verified. Raises SourceError listing every file that could not be obtained.
    Returns the paths written.
    """
    expected = KNOWN_SHA256 if expected is None else expected
    mirrors = MIRRORS if mirrors is None else mirrors
    dest = Path(dest) if dest else cache_dir()
    log = log or (lambda line: None)
    written, failed = [], []
    unreachable = set()
    for source in sources:
        folder = dest / source
        for name in FILES:
            key = f"{source}/{name}"
            if _valid_file(folder, name, expected.get(key)):
                log(f"{key}: present and valid in {folder}")
                continue
            data, errors = _fetch_one(name, mirrors.get(source, ()), expected.get(key), retries, timeout,
                                      backoff, opener, log, unreachable)
            if data is None:
                failed.append((key, errors))
                continue
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{name}.gz"
            with replacing(path) as tmp:
                tmp.write_bytes(data)
            written.append(path)
            log(f"{key}: downloaded to {path}")
    if failed:
        detail = "; ".join(f"{key} ({errors[-1] if errors else 'no mirror'})" for key, errors in failed)
        raise SourceError(f"could not download {len(failed)} source files: {detail}. Provide them either by "
                          f"rerunning 'benchgen sources fetch' with network access, or by copying the IDX files "
                          f"(gzipped or raw) into DIR/mnist/ and DIR/fashion-mnist/ and passing --sources DIR "
                          f"or setting {ENV_VAR}=DIR")
    return written


def _valid_file(folder, name, digest):
    path = _file_in(folder, name)
    if path is None:
        return False
    try:
        _, raw = read_idx(path)
    except SourceError:
        return False
    return hashlib.sha256(raw).hexdigest() == digest


def _fetch_one(name, mirrors, digest, retries, timeout, backoff, opener, log, unreachable):
    errors = []
    for base in mirrors:
        url = base + name + ".gz"
        if base in unreachable:
            errors.append(f"{url}: mirror unreachable")
            continue
        for attempt in range(retries):
            try:
                data = opener(url, timeout)
            except (urllib.error.URLError, OSError, ValueError) as exc:
                if isinstance(exc, urllib.error.HTTPError):
                    reason = f"HTTP {exc.code} {exc.reason}"
                else:
                    reason = getattr(exc, "reason", None) or exc
                errors.append(f"{url}: {reason}")
                log(f"{url}: attempt {attempt + 1}/{retries} failed ({reason})")
                if isinstance(exc, urllib.error.HTTPError) and exc.code == 404:
                    break  # the file is not there; retrying will not change that
                if attempt + 1 < retries:
                    time.sleep(backoff * 2 ** attempt)
                else:
                    unreachable.add(base)
                continue
            try:
                _, raw = read_idx_bytes(data, url)
            except SourceError as exc:
                errors.append(str(exc))
                log(str(exc))
                break
            if hashlib.sha256(raw).hexdigest() != digest:
                errors.append(f"{url}: content checksum does not match")
                log(f"{url}: content checksum does not match; trying the next mirror")
                break
            return data, errors
    return None, errors


def read_idx_bytes(data, name):
    """Like read_idx, on bytes already in memory."""
    raw = data
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as exc:
            raise SourceError(f"{name}: corrupt or truncated gzip data ({exc})") from None
    return parse_idx(raw, name), raw
