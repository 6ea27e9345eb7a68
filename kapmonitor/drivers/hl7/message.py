"""HL7 v2 messages as text: segments, fields, escapes, MSH-18 character sets, times, ACKs.

Written for IHE PCD-01 (ORU^R01) from monitors and gateways: only what a receiver needs, no
schema. Pure functions and immutable results; safe from any thread.

Separators come from the message's own MSH (MSH-1 field separator, MSH-2 encoding characters),
so a sender using other characters than `|^~\\&` is read correctly. Field numbers follow the
standard: `segment.field(7)` is XXX-7 (for MSH, MSH-1 is the field separator itself).
"""

from __future__ import annotations

import codecs
import contextlib
import functools
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import NamedTuple

log = logging.getLogger(__name__)

DEFAULT_ENCODING = "^~\\&"

# MSH-18 (HL7 table 0211) -> Python codec; absent or unknown: UTF-8 (ASCII-compatible), Latin-1 fallback
_CHARSETS: dict[str, str] = {
    "ASCII": "ascii",
    "8859/1": "latin-1",
    "8859/2": "iso8859-2",
    "8859/3": "iso8859-3",
    "8859/4": "iso8859-4",
    "8859/5": "iso8859-5",
    "8859/6": "iso8859-6",
    "8859/7": "iso8859-7",
    "8859/8": "iso8859-8",
    "8859/9": "iso8859-9",
    "8859/15": "iso8859-15",
    "UNICODE": "utf-8",
    "UNICODE UTF-8": "utf-8",
    "UTF-8": "utf-8",
    "UNICODE UTF-16": "utf-16",
    "UNICODE UTF-32": "utf-32",
    "GB 18030-2000": "gb18030",
    "KS X 1001": "euc_kr",
    "BIG-5": "big5",
    "CNS 11643-1992": "big5",
    "ISO IR87": "iso2022_jp",
    "ISO IR159": "iso2022_jp_1",
    "ISO IR14": "shift_jis",
}


class HL7Error(ValueError):
    """The bytes are not an HL7 v2 message that can be read; the message says why."""


def charset_codec(msh18: str) -> str | None:
    """The Python codec for an MSH-18 value, None when unknown (the caller falls back)."""
    name = msh18.split("^")[0].strip().upper()
    codec = _CHARSETS.get(name)
    if codec is None:
        try:
            codec = codecs.lookup(name).name if name else None
        except LookupError:
            codec = None
    return codec


def _msh18_from_bytes(data: bytes) -> str:
    """MSH-18 read from the raw bytes (every charset in table 0211 keeps ASCII for MSH)."""
    head = data.split(b"\r", 1)[0].split(b"\n", 1)[0]
    if not head.startswith(b"MSH") or len(head) < 4:
        return ""
    sep = head[3:4]
    fields = head.split(sep)
    # fields[0] = "MSH", fields[1] = MSH-2, so MSH-n is fields[n - 1]
    return fields[17].decode("latin-1") if len(fields) > 17 else ""


def decode_text(data: bytes) -> tuple[str, str]:
    """(text, codec) of a message's bytes, honouring MSH-18; never raises."""
    codec = charset_codec(_msh18_from_bytes(data)) or "utf-8"
    try:
        return data.decode(codec), codec
    except (UnicodeDecodeError, LookupError):
        if codec == "utf-8":
            return data.decode("latin-1"), "latin-1"  # an undeclared legacy 8-bit sender
        return data.decode(codec if codec != "utf-16" else "utf-8", errors="replace"), codec


class Separators(NamedTuple):
    """The message's delimiters (a tuple: cheap to hash and compare in the decoder's caches)."""

    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"


_HEX = re.compile(r"^[0-9A-Fa-f]+$")


def unescape(text: str, seps: Separators) -> str:
    """Resolve HL7 escape sequences (\\F\\ \\S\\ \\T\\ \\R\\ \\E\\ \\Xhh\\, formatting dropped)."""
    esc = seps.escape
    if not esc or esc not in text:
        return text
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch != esc:
            out.append(ch)
            i += 1
            continue
        end = text.find(esc, i + 1)
        if end < 0:
            out.append(text[i:])
            break
        code = text[i + 1:end]
        i = end + 1
        if code == "F":
            out.append(seps.field)
        elif code == "S":
            out.append(seps.component)
        elif code == "T":
            out.append(seps.subcomponent)
        elif code == "R":
            out.append(seps.repetition)
        elif code == "E":
            out.append(esc)
        elif code.startswith("X") and _HEX.match(code[1:] or "-") and len(code) % 2 == 1:
            with contextlib.suppress(ValueError):
                out.append(bytes.fromhex(code[1:]).decode("utf-8", errors="replace"))
        elif code in (".br", "N", "H") or code.startswith((".sp", ".in", ".ti", ".fi", ".nf", ".ce", ".sk")):
            out.append(" " if code == ".br" else "")
        # anything else (e.g. \Cxxyy\ charset switches) is dropped
    return "".join(out)


STANDARD_SEPARATORS = Separators()


def escape(text: str, seps: Separators = STANDARD_SEPARATORS) -> str:
    """Escape the separator characters of free text (for ACK reasons)."""
    out = text.replace(seps.escape, "\x00E")
    for ch, code in ((seps.field, "F"), (seps.component, "S"), (seps.subcomponent, "T"), (seps.repetition, "R")):
        out = out.replace(ch, f"{seps.escape}{code}{seps.escape}")
    out = out.replace("\x00E", f"{seps.escape}E{seps.escape}")
    return "".join(c if c >= " " else " " for c in out)


class Segment:
    """One segment: its fields as sent (still escaped), read with HL7 field numbers."""

    __slots__ = ("fields", "name", "seps")

    def __init__(self, name: str, fields: list[str], seps: Separators) -> None:
        self.name = name
        self.fields = fields  # fields[n] is XXX-n (for MSH: fields[1] is MSH-1)
        self.seps = seps

    def raw(self, n: int) -> str:
        """Field n as sent (escaped, all repetitions)."""
        fields = self.fields
        return fields[n] if 0 < n < len(fields) else ""

    def field(self, n: int) -> str:
        """Field n, first repetition, unescaped (components joined by the component separator)."""
        fields = self.fields
        if not 0 < n < len(fields):
            return ""
        value = fields[n]
        if not value:
            return value
        seps = self.seps
        if (n > 2 or self.name != "MSH") and seps.repetition in value:
            value = value.split(seps.repetition, 1)[0]
        return unescape(value, seps) if seps.escape and seps.escape in value else value

    def components(self, n: int) -> list[str]:
        """Components of field n (first repetition), each unescaped."""
        value = self.raw(n)
        if self.name != "MSH" or n > 2:
            value = value.split(self.seps.repetition, 1)[0]
        parts = value.split(self.seps.component)
        if self.seps.escape in value:
            return [unescape(p, self.seps) for p in parts]
        return parts

    def component(self, n: int, c: int) -> str:
        parts = self.components(n)
        return parts[c - 1] if 0 < c <= len(parts) else ""


@dataclass(frozen=True)
class Message:
    """A parsed message: its segments in order and its separators."""

    segments: tuple[Segment, ...]
    seps: Separators
    codec: str

    @property
    def msh(self) -> Segment:
        return self.segments[0]

    @property
    def control_id(self) -> str:
        return self.msh.field(10)

    @property
    def version(self) -> str:
        return self.msh.component(12, 1)

    @property
    def message_type(self) -> tuple[str, str]:
        return self.msh.component(9, 1).upper(), self.msh.component(9, 2).upper()

    def first(self, name: str) -> Segment | None:
        for seg in self.segments:
            if seg.name == name:
                return seg
        return None


_SEGMENT_NAME = re.compile(r"^[A-Z][A-Z0-9]{2}$")


def parse_message(data: bytes) -> Message:
    """Parse one message (segments ending in CR, LF or CRLF). Raises HL7Error."""
    text, codec = decode_text(data)
    text = text.lstrip("\r\n\t \x0b")
    if not text.startswith("MSH") or len(text) < 8:
        raise HL7Error("no MSH segment at the start of the message")
    fsep = text[3]
    enc = text[4:8]
    if fsep.isalnum() or fsep in "\r\n":
        raise HL7Error("MSH has no valid field separator")
    # MSH-2 normally holds 4 characters; a shorter one ends at the next field separator
    enc = enc.split(fsep, 1)[0]
    comp = enc[0] if len(enc) > 0 else "^"
    rep = enc[1] if len(enc) > 1 else "~"
    esc = enc[2] if len(enc) > 2 else ""
    sub = enc[3] if len(enc) > 3 else "&"
    seps = Separators(fsep, comp, rep, esc, sub)
    segments: list[Segment] = []
    for line in re.split(r"\r\n|\r|\n", text):
        if not line:
            continue
        if line[0] in "\x00\x1c\x0b" or line[-1] in "\x00\x1c\x0b":
            line = line.strip("\x00\x1c\x0b")
        parts = line.split(fsep)
        name = parts[0]
        if len(name) != 3 or not name.isupper():
            name = name.strip().upper()
        if not _SEGMENT_NAME.match(name):
            continue  # a line that is not a segment (wrapped text): skipped, not fatal
        fields = ["MSH", fsep, *parts[1:]] if name == "MSH" else [name, *parts[1:]]
        segments.append(Segment(name, fields, seps))
    if not segments or segments[0].name != "MSH":
        raise HL7Error("no MSH segment at the start of the message")
    return Message(tuple(segments), seps, codec)


_TS = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,6}))?\s*(?:([+-])(\d{2})(\d{2}))?$")


@functools.lru_cache(maxsize=512)
def parse_ts(text: str) -> float | None:
    """An HL7 TS/DTM as seconds since the epoch; None when empty or not a time.

    Without a zone the time is the sender's local time, taken as this computer's local zone
    (monitor and computer stand in the same room).
    """
    text = text.split("^", 1)[0].strip()
    m = _TS.match(text)
    if not m:
        return None
    year, month, day, hour, minute, second, frac, sign, zh, zm = m.groups()
    try:
        dt = datetime(int(year), int(month or 1), int(day or 1), int(hour or 0), int(minute or 0),
                      int(second or 0))
    except ValueError:
        return None
    if not 1990 <= dt.year <= 2200:
        return None
    if sign is not None:
        offset = timedelta(hours=int(zh), minutes=int(zm))
        if offset > timedelta(hours=14):
            return None
        dt = dt.replace(tzinfo=timezone(offset if sign == "+" else -offset))
    else:
        try:
            dt = dt.astimezone()  # naive: local time
        except (OverflowError, OSError, ValueError):
            return None
    t = dt.timestamp()
    if frac:
        t += int(frac) / 10 ** len(frac)
    return t


def format_ts(t: float, with_zone: bool = True) -> str:
    """Seconds since the epoch as an HL7 DTM in local time, `YYYYMMDDHHMMSS+zzzz`."""
    dt = datetime.fromtimestamp(t, UTC).astimezone()
    text = dt.strftime("%Y%m%d%H%M%S")
    if with_zone:
        text += dt.strftime("%z")
    return text


def build_ack(message: Message | None, code: str, our_id: str, now: float, reason: str = "",
              sending_app: str = "KAPMONITOR") -> bytes:
    """An original-mode ACK (AA, AE or AR) as segment bytes (no MLLP), built like hl7/ack/.

    MSH-5/6 name the sender (its MSH-3/4), MSH-9 echoes the trigger event, MSH-12 keeps the
    sender's version, MSA-2 is the acknowledged MSH-10; an error reason goes into MSA-3 and ERR.
    """
    seps = Separators()
    if message is not None:
        msh = message.msh
        receiving_app, receiving_fac = msh.raw(3), msh.raw(4)
        trigger = msh.component(9, 2) or "R01"
        control_id = msh.raw(10)
        version = msh.raw(12) or "2.6"
        if message.seps != seps:  # re-encode the sender's fields in our separators
            receiving_app, receiving_fac = (escape(x, seps) for x in (msh.field(3), msh.field(4)))
            control_id = escape(msh.field(10), seps)
            version = escape(msh.component(12, 1), seps) or "2.6"
    else:
        receiving_app = receiving_fac = control_id = ""
        trigger, version = "R01", "2.6"
    msh_text = (f"MSH|^~\\&|{sending_app}||{receiving_app}|{receiving_fac}|{format_ts(now)}||"
                f"ACK^{escape(trigger, seps)}^ACK|{our_id}|P|{version}")
    lines = [msh_text]
    if code == "AA":
        lines.append(f"MSA|AA|{control_id}")
    else:
        text = escape(reason[:200], seps)
        lines.append(f"MSA|{code}|{control_id}|{text}")
        err_code = "200^Unsupported message type^HL70357" if code == "AR" else "207^Application internal error^HL70357"
        lines.append(f"ERR|||{err_code}|E||||{text}")
    return ("\r".join(lines) + "\r").encode("utf-8")
