"""The zero-run LZ4 encoder: checked by the LZ4 library's own decoder (through HDF5's LZ4
filter in hdf5plugin) and by a strict decoder written here from the block format spec."""
import h5py
import hdf5plugin
import numpy as np
import pytest

from generators.lz4_zeros import HEADER, MIN_RUN, ChunkEncoder
from generators.shards import read_all, sha256_file, write_shard


def strict_decode(block, size):
    """Decode one LZ4 block of ``size`` bytes, failing on anything the format forbids;
    returns (bytes, [(start, length) of every match])."""
    out = bytearray()
    matches = []
    i = 0

    def length(nibble):
        nonlocal i
        value = nibble
        if nibble == 15:
            while True:
                byte = block[i]
                i += 1
                value += byte
                if byte != 255:
                    break
        return value

    while True:
        token = block[i]
        i += 1
        count = length(token >> 4)
        out += block[i:i + count]
        i += count
        if i == len(block):  # the last sequence: literals only
            assert len(out) == size
            return bytes(out), matches
        offset = block[i] | (block[i + 1] << 8)
        i += 2
        assert 1 <= offset <= len(out), "offset outside the decoded data"
        match = length(token & 15) + 4
        assert len(out) <= size - 12, "a match starts in the last 12 bytes"
        matches.append((len(out), match))
        for _ in range(match):
            out.append(out[-offset])
        assert len(out) <= size - 5, "a match covers the last 5 bytes"


def parts(chunk):
    """(raw size, block size, stored size, block) of one HDF5 LZ4-filter chunk."""
    b = bytes(chunk)
    raw, block, stored = (int.from_bytes(b[s:e], "big") for s, e in ((0, 8), (8, 12), (12, 16)))
    return raw, block, stored, b[HEADER:]


def decoded(chunk):
    """(bytes, matches) of one chunk; no matches if it was stored raw."""
    raw, block, stored, body = parts(chunk)
    assert block == raw and stored == len(body)
    return (body, []) if stored == raw else strict_decode(body, raw)


def zero_run_matches(raw):
    """What the encoder promises: every run of >= MIN_RUN zeros (cut off 12 bytes before
    the end) is one match at offset 1 after its first zero, and nothing else is."""
    limit = raw.size - 12
    zero = np.concatenate([[False], raw == 0, [False]])
    edges = np.flatnonzero(zero[1:] != zero[:-1])
    out = []
    for start, stop in zip(edges[::2], edges[1::2]):
        stop = min(stop, limit)
        if stop - start >= MIN_RUN:
            out.append((int(start) + 1, int(stop - start) - 1))
    return out


def runs_of(lengths, rng):
    """Alternating nonzero stretches and zero runs of the given lengths."""
    pieces = []
    for k, n in enumerate(lengths):
        pieces.append(np.zeros(n, np.uint8) if k % 2 else rng.integers(1, 256, n, dtype=np.uint8))
    return np.concatenate(pieces) if pieces else np.zeros(0, np.uint8)


def cases():
    rng = np.random.default_rng(3)
    yield "one byte", np.array([7], np.uint8)
    yield "twelve zeros", np.zeros(12, np.uint8)
    yield "thirteen zeros", np.zeros(13, np.uint8)
    yield "all zero", np.zeros(10_000, np.uint8)
    yield "no zero", rng.integers(1, 256, 777, dtype=np.uint8)
    yield "zeros first", np.concatenate([np.zeros(40, np.uint8), rng.integers(1, 256, 30, dtype=np.uint8)])
    yield "zeros last", np.concatenate([rng.integers(1, 256, 30, dtype=np.uint8), np.zeros(40, np.uint8)])
    # run lengths around MIN_RUN and the 15 / 255 steps of the length fields
    yield "length steps", runs_of([1, 4, 2, 5, 3, 6, 15, 18, 14, 19, 20, 20, 270, 273, 300, 600, 9], rng)
    for seed in range(30):
        r = np.random.default_rng(seed)
        lengths = r.choice([1, 2, 3, 4, 5, 6, 7, 13, 17, 33, 64, 65, 130, 300], size=r.integers(1, 40))
        yield f"random runs {seed}", runs_of(lengths, r)
    # sparse noise: zero runs cross the 64-byte mask words at every offset
    yield "sparse", (rng.random(5_003) < 0.15).astype(np.uint8) * rng.integers(1, 256, 5_003, dtype=np.uint8)


CASES = list(cases())


@pytest.mark.parametrize("name,raw", CASES, ids=[name for name, _ in CASES])
def test_blocks_decode_to_the_input_under_the_format_rules(name, raw):
    chunk = ChunkEncoder(raw.size).encode(raw)
    data, matches = decoded(chunk)
    assert data == raw.tobytes()
    if parts(chunk)[2] < raw.size:
        assert matches == zero_run_matches(raw)
    else:  # stored raw: where nothing can be matched, and for some short random cases
        assert name not in ("all zero", "zeros first", "zeros last", "length steps", "sparse")
    if not zero_run_matches(raw):
        assert parts(chunk)[2] == raw.size


def test_zero_runs_are_compressed_and_nothing_else_is():
    rng = np.random.default_rng(0)
    assert len(ChunkEncoder(90_000).encode(np.zeros(90_000, np.uint8))) < HEADER + 400
    dense = rng.integers(1, 256, 5_000, dtype=np.uint8)
    raw, _, stored, _ = parts(ChunkEncoder(5_000).encode(dense))
    assert stored == raw == 5_000  # incompressible: stored as it is


def test_one_encoder_serves_chunks_of_any_size_up_to_its_own():
    encoder = ChunkEncoder(4_096)
    rng = np.random.default_rng(1)
    for n in (4_096, 1, 100, 4_095, 63, 64, 65):
        raw = (rng.random(n) < 0.4).astype(np.uint8) * rng.integers(1, 256, n, dtype=np.uint8)
        assert decoded(encoder.encode(raw))[0] == raw.tobytes()


def test_the_lz4_library_reads_the_chunks_through_hdf5(tmp_path):
    rng = np.random.default_rng(2)
    images = (rng.random((23, 1, 30, 30)) < 0.3).astype(np.uint8) * rng.integers(1, 256, (23, 1, 30, 30),
                                                                                   dtype=np.uint8)
    images[5] = 0
    images[6] = 255
    arrays = {"images": images, "labels": np.arange(23), "meta/x": rng.random(23)}
    digest = write_shard(tmp_path / "s.h5", arrays, {"task": "t"}, "lz4-zeros")
    assert digest == sha256_file(tmp_path / "s.h5")
    with h5py.File(tmp_path / "s.h5", "r") as f:
        plist = f["images"].id.get_create_plist()
        assert [plist.get_filter(i)[0] for i in range(plist.get_nfilters())] == [hdf5plugin.LZ4_ID]
        np.testing.assert_array_equal(f["images"][3:17], images[3:17])  # partial chunks
    back = read_all(tmp_path / "s.h5")
    np.testing.assert_array_equal(back["images"], images)  # includes the padded last chunk
    again = write_shard(tmp_path / "t.h5", arrays, {"task": "t"}, "lz4-zeros")
    assert again == digest
