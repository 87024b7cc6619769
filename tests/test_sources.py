"""MNIST / Fashion-MNIST sources: IDX reading, checksums, lookup order, fetch (local server only)."""
import gzip
import hashlib
import http.server
import threading
from functools import partial

import numpy as np
import pytest
from click.testing import CliRunner

from generators.clutter import sources
from generators.cli import main


def fake_source(folder, n_train=5010, n_test=20, seed=0, gz=True):
    """Write the four IDX files of a small fake source; return {file: sha256 of content}."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    digests = {}
    for split, n in (("train", n_train), ("t10k", n_test)):
        images = np.zeros((n, 28, 28), np.uint8)
        images[:, 4:24, 4:24] = rng.integers(0, 256, (n, 20, 20))
        labels = rng.integers(0, 10, n).astype(np.uint8)
        for name, array in ((f"{split}-images-idx3-ubyte", images), (f"{split}-labels-idx1-ubyte", labels)):
            path = sources.write_idx(folder / (name + (".gz" if gz else "")), array)
            raw = gzip.decompress(path.read_bytes()) if gz else path.read_bytes()
            digests[f"{folder.name}/{name}"] = hashlib.sha256(raw).hexdigest()
    return digests


def use_fake_sources(mp, root, n_train=5010, n_test=20):
    """Write fake MNIST (gzipped) and Fashion-MNIST (raw) under ``root`` and make them the
    only, known sources (through the MonkeyPatch ``mp``); the caller clears sources._LOADED
    after ``mp.undo()``."""
    digests = {**fake_source(root / "mnist", n_train, n_test, seed=10),
               **fake_source(root / "fashion-mnist", n_train, n_test, seed=11, gz=False)}
    mp.setenv(sources.ENV_VAR, str(root))
    mp.setenv("XDG_CACHE_HOME", str(root / "no-cache"))
    mp.setattr(sources, "KNOWN_SHA256", digests)
    mp.setattr(sources, "DEBIAN_DIRS", {})
    sources._LOADED.clear()


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No real sources visible: empty cache, no env var, no Debian folder."""
    monkeypatch.delenv(sources.ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(sources, "DEBIAN_DIRS", {"fashion-mnist": tmp_path / "debian" / "fashion-mnist"})
    sources._LOADED.clear()
    yield tmp_path
    sources._LOADED.clear()


def test_idx_roundtrip_gzip_and_raw(tmp_path):
    images = np.arange(3 * 28 * 28, dtype=np.int64).reshape(3, 28, 28).astype(np.uint8)
    labels = np.array([7, 0, 9], np.uint8)
    for name in ("a-idx3-ubyte.gz", "a-idx3-ubyte"):
        got, raw = sources.read_idx(sources.write_idx(tmp_path / name, images))
        assert got.dtype == np.uint8 and np.array_equal(got, images)
        assert raw[:4] == b"\x00\x00\x08\x03" and len(raw) == 16 + images.size
    got, _ = sources.read_idx(sources.write_idx(tmp_path / "l.gz", labels))
    assert np.array_equal(got, labels)


def test_idx_wrong_magic_names_file(tmp_path):
    path = tmp_path / "bad-idx3-ubyte"
    path.write_bytes(b"\x00\x00\x0d\x03" + bytes(12 + 784))  # float type code
    with pytest.raises(sources.SourceError, match=r"bad-idx3-ubyte: .*magic number 0x00000d03"):
        sources.read_idx(path)


@pytest.mark.parametrize("gz", [False, True])
def test_idx_truncated(tmp_path, gz):
    path = sources.write_idx(tmp_path / "t.gz", np.ones((5, 28, 28), np.uint8), compress=False)
    data = path.read_bytes()[:-100]
    if gz:
        data = gzip.compress(data)[:-30]  # a cut gzip stream
    path.write_bytes(data)
    with pytest.raises(sources.SourceError, match="t.gz: .*truncated"):
        sources.read_idx(path)


def test_checksum_mismatch_names_file(isolated, monkeypatch):
    digests = {**fake_source(isolated / "src" / "mnist"), **fake_source(isolated / "src" / "fashion-mnist", seed=1)}
    wrong = dict(digests, **{"fashion-mnist/t10k-labels-idx1-ubyte": "0" * 64})
    with pytest.raises(sources.SourceError, match=r"fashion-mnist/t10k-labels-idx1-ubyte.gz: content checksum"):
        sources.load(isolated / "src", expected=wrong)
    found = sources.load(isolated / "src", expected=digests)
    assert found.digests == digests


def test_lookup_order(isolated, monkeypatch):
    a = fake_source(isolated / "explicit" / "mnist", seed=1)
    b = fake_source(isolated / "env" / "mnist", seed=2)
    c = fake_source(isolated / "cache" / "recurrent-vision-bench" / "mnist", seed=3, gz=False)
    fake_source(isolated / "debian" / "fashion-mnist", seed=4)
    monkeypatch.setenv(sources.ENV_VAR, str(isolated / "env"))
    assert sources.locate("mnist", isolated / "explicit")[0] == isolated / "explicit" / "mnist"
    assert sources.locate("mnist")[0] == isolated / "env" / "mnist"
    monkeypatch.delenv(sources.ENV_VAR)
    folder, files = sources.locate("mnist")
    assert folder == isolated / "cache" / "recurrent-vision-bench" / "mnist"
    assert files["train-images-idx3-ubyte"].name == "train-images-idx3-ubyte"  # raw files are found too
    assert sources.locate("fashion-mnist")[0] == isolated / "debian" / "fashion-mnist"
    assert len({*a.values()} & {*b.values()} & {*c.values()}) == 0


def test_splits_of_a_source(isolated):
    digests = {**fake_source(isolated / "s" / "mnist", n_train=5100, n_test=30),
               **fake_source(isolated / "s" / "fashion-mnist", n_train=5200, n_test=40, seed=1)}
    found = sources.load(isolated / "s", expected=digests)
    mnist, fashion = found.sources
    assert mnist.split_range("train") == (0, 100) and mnist.split_range("val") == (100, 5000)
    assert mnist.split_range("test") == (5100, 30) and fashion.split_range("test") == (5200, 40)
    images, labels = found.stacked()
    assert images.shape == (2, 5240, 28, 28) and labels.shape == (2, 5240)
    assert np.array_equal(found.split_ranges("val"), [[100, 5000], [200, 5000]])


def test_missing_message_names_files_and_both_ways(isolated):
    fake_source(isolated / "s" / "mnist")
    with pytest.raises(sources.SourceError) as info:
        sources.load(isolated / "s")
    text = str(info.value)
    assert "fashion-mnist/train-images-idx3-ubyte.gz" in text and "mnist/train-images" not in text.split("fashion")[0]
    assert "benchgen sources fetch" in text and "--sources DIR" in text and sources.ENV_VAR in text
    assert "\n" not in text


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """A local HTTP server over tmp_path/www (no traffic leaves the machine)."""
    root = tmp_path / "www"
    root.mkdir()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def test_fetch_falls_back_across_mirrors(isolated, server):
    root, url = server
    good = fake_source(root / "good", seed=5)
    fake_source(root / "corrupt", seed=6)  # same names, other content: checksums fail
    log = []
    mirrors = {"mnist": (url + "missing/", url + "corrupt/", url + "good/")}
    written = sources.fetch(isolated / "dest", sources=("mnist",), mirrors=mirrors, expected=
                            {k.replace("good", "mnist"): v for k, v in good.items()}, retries=2, backoff=0,
                            log=log.append)
    assert sorted(p.name for p in written) == sorted(f"{name}.gz" for name in sources.FILES)
    for name in sources.FILES:
        assert sources._valid_file(isolated / "dest" / "mnist", name, good[f"good/{name}"])
    assert any("404" in line for line in log) and any("checksum" in line for line in log)
    # a second run finds everything valid and downloads nothing
    assert sources.fetch(isolated / "dest", sources=("mnist",), mirrors=mirrors,
                         expected={k.replace("good", "mnist"): v for k, v in good.items()}, backoff=0) == []


def test_fetch_retries_then_fails_cleanly(isolated, server):
    root, url = server
    calls = []

    def flaky(u, timeout):
        calls.append(u)
        raise OSError("connection reset")

    with pytest.raises(sources.SourceError) as info:
        sources.fetch(isolated / "dest", sources=("mnist",), mirrors={"mnist": (url, url + "b/")}, retries=3,
                      backoff=0, opener=flaky)
    # every retry of every mirror for the first file; unreachable mirrors are skipped afterwards
    assert len(calls) == 2 * 3
    text = str(info.value)
    assert "mnist/train-images-idx3-ubyte" in text and "--sources DIR" in text and "fetch" in text
    assert not (isolated / "dest" / "mnist").exists()  # nothing half-written


def test_cli_check_and_fetch_without_network(isolated, monkeypatch, server):
    _, url = server
    runner = CliRunner()
    result = runner.invoke(main, ["sources", "check"])
    assert result.exit_code == 1 and "mnist: MISSING" in result.output and "sources fetch" in result.output
    digests = {**fake_source(isolated / "s" / "mnist"), **fake_source(isolated / "s" / "fashion-mnist", seed=1)}
    monkeypatch.setattr(sources, "KNOWN_SHA256", digests)
    result = runner.invoke(main, ["sources", "check", "--sources", str(isolated / "s")])
    assert result.exit_code == 0, result.output
    assert "mnist: OK" in result.output and "fashion-mnist: OK" in result.output
    # no mirror reachable (a local server that has none of the files)
    monkeypatch.setattr(sources, "MIRRORS", {"mnist": (url,), "fashion-mnist": (url,)})
    result = runner.invoke(main, ["sources", "fetch", "--dir", str(isolated / "d"), "--retries", "1", "--quiet"])
    assert result.exit_code == 1
    assert "could not download 8 source files" in result.output and "--sources DIR" in result.output
    assert not (isolated / "d").exists()
