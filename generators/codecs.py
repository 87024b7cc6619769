"""HDF5 compression choices for shard images and masks.

Default ``blosc-lz4``: Blosc with bit-shuffle and LZ4. Measured on 20,000 size-9 mazes
(perf/codecs.py): 658k samples/s written, 20.7x smaller, 508k/s read back; gzip-1 writes
122k/s at 10.7x and would cap generation below the kernel. Reading it (and the zstd and
LZ4 codecs) needs the ``hdf5plugin`` package (imported here); ``gzip`` is offered for
readers without plugins.
"""
import hdf5plugin

from .lz4_zeros import ChunkEncoder

CODECS = {
    "blosc-lz4": lambda: dict(**hdf5plugin.Blosc(cname="lz4", clevel=5, shuffle=hdf5plugin.Blosc.BITSHUFFLE)),
    # Bit-shuffling only pays for near-binary images; grey images compress better and
    # faster unshuffled (clutter scenes: 4.3 vs 6.9 KB, 12.5 vs 14 us per scene).
    "blosc-lz4-noshuffle": lambda: dict(**hdf5plugin.Blosc(cname="lz4", clevel=5, shuffle=hdf5plugin.Blosc.NOSHUFFLE)),
    "zstd": lambda: dict(**hdf5plugin.Zstd(clevel=1)),
    # For clutter scenes (grey objects on an empty background, 70% zero bytes), a 5,000-scene
    # shard of images is written in (CPU us and KB a scene; python perf/codecs.py --task
    # clutter --count 5000): lz4-zeros 7.6 and 4.12, zstd-fast 14.5 and 4.50,
    # blosc-lz4-noshuffle 16.5 and 4.25, zstd 21.6 and 3.45, none 13.0 and 9.78.
    "zstd-fast": lambda: dict(**hdf5plugin.Zstd(clevel=-10)),  # zstd's fast mode
    # The standard LZ4 filter, with chunks encoded here (generators/lz4_zeros.py): only runs
    # of zero bytes are compressed, which is most of what there is to gain in such images.
    "lz4-zeros": lambda: dict(**hdf5plugin.LZ4()),
    "gzip": lambda: dict(compression="gzip", compression_opts=1, shuffle=True),
    "lzf": lambda: dict(compression="lzf"),
    "none": lambda: {},
}
DEFAULT_CODEC = "blosc-lz4"
# Chunks of about this many bytes of one array: large enough for fast sequential reads,
# small enough that a random sample decompresses little it does not need.
CHUNK_BYTES = 96 * 1024
MAX_CHUNK_SAMPLES = 64


# Codecs whose chunks are encoded by our own code and written as they are; the filter of
# their CODECS entry decodes them.
ENCODERS = {"lz4-zeros": ChunkEncoder}


def filter_options(codec):
    return CODECS[codec]()


def chunk_encoder(codec, chunk_bytes):
    """An object whose ``encode(uint8 array)`` gives a chunk's stored bytes, or None where
    the HDF5 filter itself encodes."""
    make = ENCODERS.get(codec)
    return make(chunk_bytes) if make else None


def chunk_shape(shape):
    """Chunk of whole samples for an array of ``shape`` (first dimension = samples)."""
    per_sample = 1
    for d in shape[1:]:
        per_sample *= int(d)
    samples = max(1, min(MAX_CHUNK_SAMPLES, CHUNK_BYTES // max(1, per_sample), int(shape[0])))
    return (samples,) + tuple(int(d) for d in shape[1:])
