"""Fixed-baud framing of the IntelliVue MIB/RS232 port (Programming Guide pp. 30-32).

A frame is ``C0`` + escaped(``11 01 LEN_hi LEN_lo`` + user data + FCS LSB first) + ``C1``. Bytes
``C0 C1 7D`` are sent as ``7D, b ^ 0x20``; ``7D C1`` aborts a frame. The FCS is CRC-16/X-25
(reflected poly 0x1021, init and xorout 0xFFFF) over the unescaped header and user data.

Real monitors have been seen to send a bare ``C0`` inside a frame (see the demographics capture),
so a ``C0`` in the middle of a frame does not simply restart it: every ``C0`` since the last
complete frame is kept as a candidate start, and at ``C1`` the earliest candidate whose header
length and FCS check out wins. Pure and single-threaded (one FrameReader per stream).
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass

from kapmonitor.drivers.base import DriverStats

BOF = 0xC0
EOF_ = 0xC1
ESC = 0x7D
PROTOCOL_ID = 0x11
MSG_TYPE_COMMAND = 0x01
MAX_FRAME_WIRE = 4096  # the MTU is at most 1000 bytes of user data; escaping can double it

_REV = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def fcs(data: bytes) -> int:
    """CRC-16/X-25 of `data` (the value sent, LSB first). check(b"123456789") == 0x906E.

    Computed through the C implementation of the non-reflected CRC on bit-reversed bytes, which
    keeps decoding of long captures fast.
    """
    crc = binascii.crc_hqx(data.translate(_REV), 0xFFFF)
    rev = (_REV[crc & 0xFF] << 8) | _REV[crc >> 8]
    return rev ^ 0xFFFF


def escape(data: bytes) -> bytes:
    """Transparency: each of C0, C1, 7D becomes 7D, b ^ 0x20."""
    if b"\x7d" not in data and b"\xc0" not in data and b"\xc1" not in data:
        return data
    out = bytearray()
    for b in data:
        if b in (BOF, EOF_, ESC):
            out.append(ESC)
            out.append(b ^ 0x20)
        else:
            out.append(b)
    return bytes(out)


def unescape(data: bytes) -> bytes | None:
    """Inverse of `escape`; None when an escape byte ends the data."""
    j = data.find(b"\x7d")
    if j < 0:
        return data
    out = bytearray()
    i = 0
    n = len(data)
    while j >= 0:
        if j + 1 >= n:
            return None
        out += data[i:j]
        out.append(data[j + 1] ^ 0x20)
        i = j + 2
        j = data.find(b"\x7d", i)
    out += data[i:]
    return bytes(out)


def build_frame(user_data: bytes, protocol_id: int = PROTOCOL_ID, msg_type: int = MSG_TYPE_COMMAND) -> bytes:
    """The wire bytes of one frame carrying `user_data`."""
    n = len(user_data)
    body = bytes((protocol_id, msg_type, n >> 8, n & 0xFF)) + user_data
    crc = fcs(body)
    return b"\xc0" + escape(body + bytes((crc & 0xFF, crc >> 8))) + b"\xc1"


def build_bare_frame(data: bytes) -> bytes:
    """A frame without the Hdr, as in the guide's FCS examples."""
    crc = fcs(data)
    return b"\xc0" + escape(data + bytes((crc & 0xFF, crc >> 8))) + b"\xc1"


@dataclass(frozen=True, slots=True)
class Frame:
    """One checked frame: `wire` exactly as received (C0..C1), `payload` the unescaped user data."""

    wire: bytes
    payload: bytes
    protocol_id: int
    msg_type: int


class FrameReader:
    """Splits a byte stream into checked frames; counts what it had to drop in `stats`."""

    def __init__(self, stats: DriverStats | None = None) -> None:
        self.stats = stats if stats is not None else DriverStats()
        self._buf = bytearray()
        self.aborted = 0
        self.unknown_type = 0

    def feed(self, data: bytes) -> list[Frame]:
        self.stats.bytes_in += len(data)
        buf = self._buf
        buf += data
        frames: list[Frame] = []
        while True:
            end = buf.find(b"\xc1")
            if end < 0:
                break
            chunk = bytes(buf[: end + 1])
            del buf[: end + 1]
            frame = self._check(chunk)
            if frame is not None:
                frames.append(frame)
        # keep only what can still become a frame
        start = buf.find(b"\xc0")
        if start < 0:
            if buf:
                self.stats.resyncs += 1
                buf.clear()
        elif start > 0:
            self.stats.resyncs += 1
            del buf[:start]
        if len(buf) > MAX_FRAME_WIRE:
            self.stats.length_errors += 1
            nxt = buf.find(b"\xc0", len(buf) - MAX_FRAME_WIRE // 2)
            if nxt < 0:
                buf.clear()
            else:
                del buf[:nxt]
        return frames

    def _check(self, chunk: bytes) -> Frame | None:
        first = chunk.find(b"\xc0")
        if first < 0:
            self.stats.resyncs += 1  # C1 without any C0: noise or a mid-frame start
            return None
        if first > 0:
            self.stats.resyncs += 1
        if len(chunk) >= 2 and chunk[-2] == ESC:  # 7D C1: the sender aborted the frame
            self.aborted += 1
            return None
        # Every C0 is a candidate start. The escape pairs after a candidate are the same whichever
        # earlier C0 the parse began at (a C0 never opens a pair), so the whole chunk is unescaped
        # once and each candidate is a suffix of it: linear time, even for a stream of bare C0s.
        indexed = _unescape_indexed(chunk[first + 1 : -1])
        if indexed is None:
            self.stats.length_errors += 1
            return None
        body_all, starts = indexed
        total = len(body_all)
        saw_length_ok = False
        for k, (wire_pos, offset) in enumerate(((first, 0), *((first + 1 + p, u) for p, u in starts))):
            size = total - offset
            if size < 6 or ((body_all[offset + 2] << 8) | body_all[offset + 3]) != size - 6:
                continue
            saw_length_ok = True
            body = body_all[offset:]
            crc = body[-2] | (body[-1] << 8)
            if fcs(body[:-2]) != crc:
                continue
            if k > 0:
                self.stats.resyncs += 1
            if body[0] != PROTOCOL_ID or body[1] != MSG_TYPE_COMMAND:
                self.unknown_type += 1
            self.stats.frames += 1
            return Frame(chunk[wire_pos:], body[4:-2], body[0], body[1])
        if saw_length_ok:
            self.stats.checksum_errors += 1
        else:
            self.stats.length_errors += 1
        return None


def _unescape_indexed(data: bytes) -> tuple[bytes, list[tuple[int, int]]] | None:
    """`unescape(data)` and, for every C0 at wire index p in `data`, (p, the offset in the unescaped
    bytes where a frame starting at that C0 would begin its body). None when an escape ends the data."""
    body = unescape(data)
    if body is None:
        return None
    escapes: list[int] = []
    j = data.find(b"\x7d")
    while j >= 0:
        escapes.append(j)
        j = data.find(b"\x7d", j + 2)
    starts: list[tuple[int, int]] = []
    done = 0  # escape pairs that end before the current C0
    p = data.find(b"\xc0")
    while p >= 0:
        while done < len(escapes) and escapes[done] < p:
            done += 1
        starts.append((p, p + 1 - done))
        p = data.find(b"\xc0", p + 1)
    return body, starts
