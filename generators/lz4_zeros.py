"""Shard chunks as LZ4 blocks that encode only runs of zero bytes (codec ``lz4-zeros``).

Clutter scenes are ~70% zero bytes, in ~210 runs of 5 or more a scene, between short
stretches of smooth grey values in which a general-purpose matcher finds almost nothing
else to reuse. zstd's fastest levels still spend ~9 us a scene looking. Writing each run
of >= 5 zeros as one literal zero followed by a copy at offset 1 (LZ4's way of repeating
a byte) and everything else as literals gives 4.1 KB a scene (zstd -10: 4.5 KB; the LZ4
library's own search: 4.0 KB) in ~2 us. The output is a standard LZ4 block, so any LZ4
decoder reads it, and in a shard it sits in the framing of the registered HDF5 LZ4 filter
(id 32004, decoded by ``hdf5plugin``): readers need nothing of ours.

LZ4 block format (lz4's doc/lz4_Block_format.md): sequences of a token (literal count in
the high nibble, match length - 4 in the low one, 15 = continued in bytes of up to 255),
the literals, a little-endian 2-byte offset and the rest of the match length; the last
sequence has literals only; the last 5 bytes are literals and the last match starts at
least 12 bytes before the end. HDF5 LZ4 filter framing of a chunk: big-endian uint64 raw
size, uint32 block size (here the whole chunk: one block), uint32 compressed size, the
block; a block that would not shrink is stored raw, its compressed size equal to the
raw size.
"""
import numpy as np
from numba import njit

from .intrinsics import copy16, trailing_zeros
from .noalias import njit_leaf

MIN_RUN = 5  # one zero literal + the shortest LZ4 match (4): shorter runs stay literals
END_LITERALS = 12  # no match may start in a block's last 12 bytes (nor end in its last 5)
HEADER = 16  # the HDF5 filter's framing before the block
_ONES = np.uint64(0xFFFFFFFFFFFFFFFF)
_LOW7 = np.uint64(0x7F7F7F7F7F7F7F7F)
_HIGH = np.uint64(0x8080808080808080)
_GATHER = np.uint64(0x0102040810204080)  # moves the low bit of byte i to bit 56 + i


def capacity(raw_bytes):
    """Output bytes encode_chunk may use for a chunk of ``raw_bytes``."""
    return HEADER + raw_bytes + raw_bytes // 255 + 64


@njit_leaf
def _nonzero_masks(src, masks):
    """Bit p % 64 of masks[p // 64] = (src[p] != 0); bits past the end are 0."""
    n = src.shape[0]
    whole = n - n % 8
    words = src[:whole].view(np.uint64)
    mask_bytes = masks.view(np.uint8)
    for w in range(np.uintp(whole // 8)):
        x = words[w]
        # the high bit of each byte is set iff the byte is nonzero (no carries between bytes)
        high = (((x & _LOW7) + _LOW7) | x) & _HIGH
        mask_bytes[w] = np.uint8(((high >> np.uint64(7)) * _GATHER) >> np.uint64(56))
    for w in range(np.uintp(whole // 8), np.uintp(mask_bytes.shape[0])):
        mask_bytes[w] = 0
    for p in range(whole, n):
        if src[p] != 0:
            masks[p >> 6] |= np.uint64(1) << np.uint64(p & 63)


@njit_leaf
def _run_events(masks, events):
    """Bit p of events: byte p starts a run of >= MIN_RUN zeros, or is the nonzero byte
    that ends one. Every run has both events except one that reaches past the end."""
    m = masks.shape[0]
    for k in range(np.uintp(m)):
        zero = ~masks[k]
        after = ~masks[k + 1] if k + 1 < m else _ONES
        before = ~masks[k - 1] if k > 0 else np.uint64(0)
        ahead = zero  # bytes p .. p + 4 all zero
        behind = _ONES  # bytes p - 5 .. p - 1 all zero
        for s in range(1, MIN_RUN):
            ahead &= (zero >> np.uint64(s)) | (after << np.uint64(64 - s))
        for s in range(1, MIN_RUN + 1):
            behind &= (zero << np.uint64(s)) | (before >> np.uint64(64 - s))
        previous_zero = (zero << np.uint64(1)) | (before >> np.uint64(63))
        events[k] = (ahead & ~previous_zero) | (~zero & behind)


@njit_leaf
def _event_positions(events, positions):
    """The positions of the set bits of events, in order, into positions (which needs 4
    entries of slack); returns their number. The first four bits of a word are written
    unconditionally, so most words cost no unpredictable branch."""
    count = 0
    for k in range(events.shape[0]):
        bits = events[k]
        base = k * 64
        for _ in range(4):
            positions[count] = base + np.int64(trailing_zeros(bits))
            count += bits != 0
            bits &= bits - np.uint64(1)
        while bits != 0:
            positions[count] = base + np.int64(trailing_zeros(bits))
            count += 1
            bits &= bits - np.uint64(1)
    return count


@njit(cache=True, inline="always")
def _length_field(dst, o, value):
    """Write the part of an LZ4 length (literal count, or match length - 4) that does not
    fit its 4-bit nibble at dst[o]; returns the new end. Without a branch for the usual
    value < 270: the one byte is always written, and kept only if needed."""
    rest = value - 15
    if rest >= 255:
        while rest >= 255:
            dst[np.uintp(o)] = 255
            o += 1
            rest -= 255
        dst[np.uintp(o)] = rest
        return o + 1
    dst[np.uintp(o)] = rest & 255
    return o + (rest >= 0)


@njit(cache=True, inline="always")
def _literals(src, first, stop, dst, o):
    """Copy src[first:stop] to dst[o:], in 16-byte steps (the first two unconditional:
    most runs of literals are short); dst must have 32 bytes of slack past the copy."""
    count = stop - first
    if stop + 32 <= src.shape[0]:
        copy16(dst, np.uintp(o), src, np.uintp(first))
        copy16(dst, np.uintp(o + 16), src, np.uintp(first + 16))
        for k in range(32, count, 16):
            copy16(dst, np.uintp(o + k), src, np.uintp(first + k))
    else:  # near the end of src, where 16-byte loads would read past it
        for k in range(np.uintp(count)):
            dst[np.uintp(o) + k] = src[np.uintp(first) + k]
    return o + count


@njit(cache=True, inline="always")
def _sequence(src, first, stop, match, dst, o):
    """Append the sequence 'literals src[first:stop], then ``match`` (>= 4) bytes copied
    from offset 1' at dst[o]; returns the new end."""
    count = stop - first
    dst[np.uintp(o)] = (min(count, 15) << 4) | min(match - 4, 15)
    o = _literals(src, first, stop, dst, _length_field(dst, o + 1, count))
    dst[np.uintp(o)] = 1
    dst[np.uintp(o + 1)] = 0
    return _length_field(dst, o + 2, match - 4)


@njit(cache=True, inline="always")
def _last_sequence(src, first, dst, o):
    """The closing sequence: literals src[first:] only."""
    count = src.shape[0] - first
    dst[np.uintp(o)] = min(count, 15) << 4
    return _literals(src, first, src.shape[0], dst, _length_field(dst, o + 1, count))


@njit_leaf
def encode_block(src, masks, events, positions, dst):
    """LZ4 block of the uint8 array src into dst (>= len(src) + len(src) // 255 + 48 bytes);
    returns its size. masks and events (uint64, >= ceil(len / 64)) and positions
    (int64, >= 64 * ceil(len / 64) + 4) are scratch."""
    n = src.shape[0]
    words = (n + 63) // 64
    _nonzero_masks(src, masks[:words])
    _run_events(masks[:words], events[:words])
    found = _event_positions(events[:words], positions)
    limit = n - END_LITERALS
    o = 0
    literal = 0
    for j in range(0, found, 2):
        start = positions[j]
        if start + MIN_RUN > limit:
            break
        stop = min(positions[j + 1] if j + 1 < found else limit, limit)
        o = _sequence(src, literal, start + 1, stop - start - 1, dst, o)
        literal = stop
        if stop == limit:
            break
    return _last_sequence(src, literal, dst, o)


@njit_leaf
def _put_big_endian(dst, offset, value, width):
    for b in range(width):
        dst[offset + b] = (value >> (8 * (width - 1 - b))) & 255


@njit_leaf
def encode_chunk(src, masks, events, positions, out):
    """One HDF5 LZ4-filter chunk (framing + block) of the uint8 array src into out
    (>= capacity(len(src)) bytes); returns its size. Scratch as in encode_block."""
    n = src.shape[0]
    size = encode_block(src, masks, events, positions, out[HEADER:])
    if size >= n:
        size = n
        for k in range(np.uintp(n)):
            out[np.uintp(HEADER) + k] = src[k]
    _put_big_endian(out, 0, n, 8)
    _put_big_endian(out, 8, n, 4)
    _put_big_endian(out, 12, size, 4)
    return HEADER + size


class ChunkEncoder:
    """Encodes chunks of up to ``raw_bytes`` bytes one after another, with one set of buffers."""

    def __init__(self, raw_bytes):
        words = (raw_bytes + 63) // 64
        self.masks = np.empty(words, np.uint64)
        self.events = np.empty(words, np.uint64)
        self.positions = np.empty(64 * words + 4, np.int64)
        self.out = np.empty(capacity(raw_bytes), np.uint8)

    def encode(self, raw):
        """The filter's bytes for the uint8 array ``raw`` (a view, valid until the next call)."""
        size = encode_chunk(raw, self.masks, self.events, self.positions, self.out)
        return self.out[:size]
