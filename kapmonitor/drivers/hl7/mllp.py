"""MLLP framing (HL7 v2 Appendix C): `0x0B` message `0x1C 0x0D`.

A TCP read may carry part of a message or several; `MllpFramer.feed` buffers until a frame is
complete and returns every whole message. Memory is bounded: a frame growing past `max_message`
bytes without its end is discarded (counted) and the framer waits for the next start byte.
One framer per connection; not thread-safe.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

START = b"\x0b"
END = b"\x1c\x0d"
MAX_MESSAGE = 1 << 20  # 1 MiB: a PCD-01 message is a few kB


def frame(message: bytes) -> bytes:
    """Wrap one message for the wire."""
    return START + message + END


class MllpFramer:
    """Turns a byte stream into whole MLLP messages (without the framing bytes)."""

    def __init__(self, max_message: int = MAX_MESSAGE) -> None:
        self.max_message = max(16, max_message)
        self._buf = bytearray()
        self._in_frame = False
        self.messages = 0
        self.oversized = 0  # frames discarded for exceeding max_message
        self.junk_bytes = 0  # bytes outside any frame

    @property
    def buffered(self) -> int:
        return len(self._buf)

    @property
    def in_frame(self) -> bool:
        """True while part of a message is waiting for its end."""
        return self._in_frame

    def feed(self, data: bytes) -> list[bytes]:
        out: list[bytes] = []
        pos = 0
        n = len(data)
        while pos < n:
            if not self._in_frame:
                start = data.find(START, pos)
                if start < 0:
                    self.junk_bytes += n - pos
                    break
                self.junk_bytes += start - pos
                pos = start + 1
                self._in_frame = True
                self._buf.clear()
                continue
            end = data.find(b"\x1c", pos)
            restart = data.find(START, pos, end if end >= 0 else n)
            if restart >= 0:
                # a new start before the end: the previous frame was cut off; begin again here
                self.junk_bytes += len(self._buf) + restart - pos
                self._buf.clear()
                pos = restart + 1
                continue
            if end < 0:
                self._buf += data[pos:]
                pos = n
            else:
                self._buf += data[pos:end]
                pos = end + 1
                # 0x1C must be followed by 0x0D; tolerate its loss at the very end of a read
                if pos < n and data[pos:pos + 1] == b"\r":
                    pos += 1
                out.append(bytes(self._buf))
                self.messages += 1
                self._buf.clear()
                self._in_frame = False
            if len(self._buf) > self.max_message:
                self.oversized += 1
                log.warning("MLLP frame over %d bytes without its end: discarded", self.max_message)
                self._buf.clear()
                self._in_frame = False
        return out
