"""HDF5 compression choices for shard images and masks.

Default ``blosc-lz4``: Blosc with bit-shuffle and LZ4. Measured on 20,000 size-9 mazes
(perf/codecs.py): 658k samples/s written, 20.7x smaller, 508k/s read back; gzip-1 writes
122k/s at 10.7x and would cap generation below the kernel. Reading it needs the
``hdf5plugin`` package (imported here); ``gzip`` is offered for readers without plugins.
"""
import hdf5plugin

CODECS = {
    "blosc-lz4": lambda: dict(**hdf5plugin.Blosc(cname="lz4", clevel=5, shuffle=hdf5plugin.Blosc.BITSHUFFLE)),
    # Bit-shuffling only pays for near-binary images; grey images compress better and
    # faster unshuffled (clutter scenes: 4.3 vs 6.9 KB, 12.5 vs 14 us per scene).
    "blosc-lz4-noshuffle": lambda: dict(**hdf5plugin.Blosc(cname="lz4", clevel=5, shuffle=hdf5plugin.Blosc.NOSHUFFLE)),
    "zstd": lambda: dict(**hdf5plugin.Zstd(clevel=1)),
    # zstd's fast mode (negative level): a 5,000-scene clutter shard is written in 15.8 us a
    # scene against 18 for blosc-lz4-noshuffle and 23 for zstd (4.8, 4.6 and 3.8 KB a scene;
    # write_shard repeated in one process; perf/codecs.py --task clutter compares all codecs).
    "zstd-fast": lambda: dict(**hdf5plugin.Zstd(clevel=-10)),
    "gzip": lambda: dict(compression="gzip", compression_opts=1, shuffle=True),
    "lzf": lambda: dict(compression="lzf"),
    "none": lambda: {},
}
DEFAULT_CODEC = "blosc-lz4"
# Chunks of about this many bytes of one array: large enough for fast sequential reads,
# small enough that a random sample decompresses little it does not need.
CHUNK_BYTES = 96 * 1024
MAX_CHUNK_SAMPLES = 64


def filter_options(codec):
    return CODECS[codec]()


def chunk_shape(shape):
    """Chunk of whole samples for an array of ``shape`` (first dimension = samples)."""
    per_sample = 1
    for d in shape[1:]:
        per_sample *= int(d)
    samples = max(1, min(MAX_CHUNK_SAMPLES, CHUNK_BYTES // max(1, per_sample), int(shape[0])))
    return (samples,) + tuple(int(d) for d in shape[1:])
