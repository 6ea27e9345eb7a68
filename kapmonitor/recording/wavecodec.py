"""Compact storage of waveform chunks in the session record (schema version 2).

A chunk is kept as quantised integers plus a per-chunk offset and step, their first differences
byte-shuffled (high bytes together) and zlib-compressed:
- integer-valued chunks (the raw counts of GE, Ivy, IntelliVue pleth) with a range under 32,000
  use step 1: stored exactly;
- any other chunk uses 4,095 steps over its own range: every value within 1/8,190 of the chunk's
  range (0.012 % of full scale), far inside the 0.1 % the record promises;
- NaN (no valid value) is kept as NaN; a chunk holding ±infinity is stored as raw float32.

`encoding` (the `waves.encoding` column) names the layout; 0 (raw little-endian float32, the only
layout of schema version 1) is read as it always was. Pure functions, safe from any thread.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
import numpy.typing as npt

F4 = 0  # little-endian float32, one value after another
Q16 = 1  # struct _HEADER, then raw deflate of the shuffled int16 first differences of the quantised values

_HEADER = struct.Struct("<ffI")  # offset, step (float32 like the values), number of values
_LEVELS = 4095  # steps over a chunk's range when its values are not integers
_EXACT_RANGE = 32_000  # integer-valued chunks up to this range are stored exactly
_NAN = -1  # the quantised code of a NaN (valid codes are 0..32,000)


def encode(values: npt.ArrayLike) -> tuple[int, bytes]:
    """(encoding, blob) for one chunk of wave values."""
    v = np.asarray(values, dtype=np.float64).ravel()
    if np.isinf(v).any():
        return F4, v.astype("<f4").tobytes()
    finite = v[np.isfinite(v)]
    if len(finite):
        low, high = float(np.float32(finite.min())), float(finite.max())  # low as stored (float32)
    else:
        low = high = 0.0
    if len(finite) and high - low <= _EXACT_RANGE and np.array_equal(finite, np.round(finite)):
        step = 1.0
    else:
        step = float(np.float32((high - low) / _LEVELS)) if high > low else 1.0
    codes = np.full(len(v), _NAN, dtype=np.int16)
    ok = np.isfinite(v)
    codes[ok] = np.clip(np.round((v[ok] - low) / step), 0, _EXACT_RANGE + _LEVELS).astype(np.int16)
    diffs = np.diff(codes, prepend=np.int16(0)).astype("<i2")  # int16 arithmetic wraps: cumsum undoes it
    shuffled = diffs.view(np.uint8).reshape(-1, 2).T.tobytes()
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)  # raw deflate: no header, no checksum (SQLite has its own)
    return Q16, _HEADER.pack(low, step, len(v)) + packer.compress(shuffled) + packer.flush()


def decode(encoding: int, blob: bytes) -> npt.NDArray[np.float32]:
    """The values of one stored chunk as float32 (NaN where no valid value). Raises ValueError for an
    unknown encoding or a damaged blob."""
    if encoding == F4:
        return np.frombuffer(blob, dtype="<f4").astype(np.float32)
    if encoding != Q16:
        raise ValueError(f"unknown wave encoding {encoding!r} (a record of a newer kapmonitor?)")
    try:
        low, step, n = _HEADER.unpack_from(blob)
        raw = zlib.decompress(blob[_HEADER.size:], -15)
    except (struct.error, zlib.error) as exc:
        raise ValueError(f"damaged wave chunk: {exc}") from None
    if len(raw) != 2 * n:
        raise ValueError(f"damaged wave chunk: {len(raw)} bytes for {n} values")
    diffs = np.frombuffer(raw, dtype=np.uint8).reshape(2, n).T.copy().view("<i2").ravel()
    codes = np.cumsum(diffs, dtype=np.int16)
    out = low + codes.astype(np.float64) * step
    out[codes == _NAN] = np.nan
    result: npt.NDArray[np.float32] = out.astype(np.float32)
    return result


def to_f4(encoding: int, blob: bytes) -> bytes:
    """A stored chunk as raw little-endian float32 bytes (the layout every reader of waves expects)."""
    if encoding == F4:
        return bytes(blob)
    return decode(encoding, blob).astype("<f4").tobytes()
