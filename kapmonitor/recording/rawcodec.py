"""Compact storage of the monitor's raw frames in the session record (schema version 4).

Frames of both directions are kept in arrival order in pieces of up to PIECE_SECONDS. A frame is
a record `varint(len * 2 + tx) varint(zigzag(Δµs)) bytes`, its time in whole microseconds from the
piece's `t0` (every row of the piece keeps `t0` exactly); the bytes are kept exactly.
- While a piece is open, its records go into one raw deflate stream, sync-flushed at every
  transaction; each transaction adds one small `raw_pieces` row (`ZSTREAM`) with the stream's new
  bytes. The rows committed so far always decode to every frame committed, so a crash loses no more
  than it did with one row per frame, and nothing already written is written again.
- A full piece is compressed once more, whole, with bzip2 (`BZ2`) into one row that replaces its
  stream rows in one transaction: bzip2 finds the repeats of a monitor's one-second records over the
  whole piece (a GE S/5 stream: about 12 times smaller; deflate's 32 KB window gives about 7).

Pure functions and a per-piece encoder owned by one thread (the recorder's writer); decoding is safe
from any thread.
"""

from __future__ import annotations

import bz2
import math
import zlib
from collections.abc import Iterator, Sequence

ZSTREAM = 1  # raw deflate stream of the records, sync-flushed (an open piece, or one never closed)
BZ2 = 2  # bzip2 of the records (a closed piece)

PIECE_SECONDS = 300.0  # a piece spans at most this long; longer pieces compress better
PIECE_BYTES = 1 << 20  # and holds at most this many frame bytes (a flood does not grow one blob)
DIRECTIONS = ("rx", "tx")


def check_frame(t: float, direction: str) -> None:
    """Raises ValueError for a direction other than 'rx' or 'tx' or a time that is not a finite number."""
    if direction not in DIRECTIONS:
        raise ValueError(f"raw frame direction {direction!r} is not 'rx' or 'tx'")
    if not math.isfinite(t):
        raise ValueError(f"raw frame time {t!r} is not a time")


def _varint(n: int, out: bytearray) -> None:
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


class PieceEncoder:
    """One open piece: frames added in arrival order, the stream's new bytes at each `flush`."""

    def __init__(self, t0: float) -> None:
        self.t0 = t0
        self.t1 = t0
        self.frames = 0
        self.size = 0  # frame bytes in the piece
        self.frames_flushed = 0
        self.size_flushed = 0
        self._last_us = 0
        self._plain = bytearray()  # every record, for the final compression
        self._pending = bytearray()  # records not yet given to the deflate stream
        self._deflate = zlib.compressobj(6, zlib.DEFLATED, -15)

    def fits(self, t: float, size: int) -> bool:
        """Whether a frame at `t` of `size` bytes belongs in this piece. Times may step back a little
        (a frame sent is stamped before the answer read with it): within PIECE_SECONDS of `t0`."""
        return abs(t - self.t0) <= PIECE_SECONDS and self.size + size <= PIECE_BYTES

    def add(self, t: float, direction: str, data: bytes) -> None:
        """Raises ValueError for a frame `check_frame` refuses (nothing is added)."""
        check_frame(t, direction)
        us = round((t - self.t0) * 1e6)
        delta = us - self._last_us
        self._last_us = us
        record = bytearray()
        _varint(len(data) * 2 + DIRECTIONS.index(direction), record)
        _varint(delta * 2 if delta >= 0 else -delta * 2 - 1, record)
        record += data
        self._pending += record
        self._plain += record
        self.frames += 1
        self.size += len(data)
        self.t1 = max(self.t1, t)

    @property
    def unflushed(self) -> bool:
        return bool(self._pending)

    def flush(self) -> tuple[int, bytes]:
        """(ZSTREAM, the stream's bytes for the frames added since the last flush); the stream rows of
        a piece, joined in order, decode to every frame flushed."""
        data = self._deflate.compress(bytes(self._pending)) + self._deflate.flush(zlib.Z_SYNC_FLUSH)
        self._pending.clear()
        self.frames_flushed, self.size_flushed = self.frames, self.size
        return ZSTREAM, data

    def close(self) -> tuple[int, bytes]:
        """(encoding, blob) of the whole piece, compressed once; nothing more is added after."""
        return BZ2, bz2.compress(bytes(self._plain), 9)


def decode(encoding: int, blobs: Sequence[bytes], t0: float) -> Iterator[tuple[float, str, bytes]]:
    """(time, direction, bytes) of every frame of one stored piece (its rows' blobs in order: one for
    BZ2), in arrival order (which may step back in time a little). Raises ValueError for an unknown
    encoding or a damaged piece."""
    if encoding not in (ZSTREAM, BZ2):
        raise ValueError(f"unknown raw frame encoding {encoding!r} (a record of a newer kapmonitor?)")
    if encoding == BZ2 and len(blobs) != 1:
        raise ValueError(f"damaged raw frame piece: {len(blobs)} rows of one compressed piece")
    try:
        if encoding == ZSTREAM:
            inflate = zlib.decompressobj(-15)
            plain = b"".join(inflate.decompress(b) for b in blobs)
        else:
            plain = bz2.decompress(blobs[0])
    except (zlib.error, OSError, EOFError, ValueError) as exc:
        raise ValueError(f"damaged raw frame piece: {exc}") from None
    pos, us, end = 0, 0, len(plain)
    while pos < end:
        head, pos = _read_varint(plain, pos)
        zigzag, pos = _read_varint(plain, pos)
        size = head >> 1
        if pos + size > end:
            raise ValueError("damaged raw frame piece: a frame runs past its end")
        us += zigzag >> 1 if not zigzag & 1 else -((zigzag + 1) >> 1)
        yield t0 + us / 1e6, DIRECTIONS[head & 1], plain[pos:pos + size]
        pos += size


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    n = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise ValueError("damaged raw frame piece: a frame header is cut")
        byte = buf[pos]
        pos += 1
        n |= (byte & 0x7F) << shift
        if byte < 0x80:
            return n, pos
        shift += 7
