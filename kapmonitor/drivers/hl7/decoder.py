"""The IHE PCD-01 (HL7 v2 ORU^R01) decoder: messages → vital samples, plus the ACK each needs.

Pure (no I/O, no clock); one instance per monitor link, not thread-safe. Rules (hl7/SOURCES.md):
- values are found by OBX-3 code and coding system (`codes.lookup`), never by position; when a
  message carries one parameter under several codes (two SpO2 channels, ECG and oximeter pulse),
  the best-ranked valid one is used;
- the time of a value is its OBX-14, else the OBX-14 of its header OBX (the OBX-4 level above),
  else its OBR-7 (then OBR-8, OBR-14), else MSH-7, else the arrival time;
- no value (status `invalid`) for an empty OBX-5, OBX-11 `X`/`D`/`W`/`N`, negative sentinels
  (-999, -99.9, -1), text that is not a number, an unknown unit; `implausible` outside the
  parameter's range;
- OBX-8 `DEMO`: the monitor runs in demo mode; its values keep status `demo`, which the alarm
  engine, the screen and the record never treat as a patient's value, and a `demo-mode` notice says so;
- NIBP: one measurement per cuff time (the monitor repeats the last one in every message), its
  sys/dia/mean/pulse sharing one measurement id, dated at the cuff time; the one already shown
  before the first message (cuff time over 5 minutes earlier) is marked `old`;
- one bed only: the bed (PV1-3) or device id chosen in the options; without a choice the first
  sender seen, and messages from any other are acknowledged but never decoded into this record.
"""

from __future__ import annotations

import functools
import itertools
import logging
import math
import re
import zlib
from dataclasses import dataclass, field
from typing import ClassVar

from kapmonitor.drivers.base import Decoder
from kapmonitor.drivers.hl7 import codes
from kapmonitor.drivers.hl7.message import (
    HL7Error,
    Message,
    Segment,
    Separators,
    build_ack,
    parse_message,
    parse_ts,
    unescape,
)
from kapmonitor.drivers.hl7.mllp import MllpFramer
from kapmonitor.model.parameters import NIBP_PARAMETERS, Parameter, is_plausible
from kapmonitor.model.samples import DeviceNotice, Item, Source, Status, VitalSample

log = logging.getLogger(__name__)

SENTINELS = (-999.0, -99.9, -1.0)
OLD_NIBP_S = 300.0  # a first NIBP measured this long before the first message: from before we listened
_NO_VALUE_STATUSES = frozenset({"X", "D", "W", "N"})
_MESSAGE_TYPES = frozenset({"ORU", "ORF"})
_NIBP_BP = (Parameter.NIBP_SYS, Parameter.NIBP_DIA, Parameter.NIBP_MEAN)
MAX_BARE = 1 << 20
_BARE_START = re.compile(rb"(?:^|[\r\n])MSH")


@dataclass
class MessageResult:
    """What one message gave: items for this bed, and the ACK to send back."""

    items: list[Item]
    ack_code: str  # AA, AE or AR
    reason: str = ""
    message: Message | None = None
    for_this_bed: bool = False

    def ack(self, our_id: str, now: float) -> bytes:
        return build_ack(self.message, self.ack_code, our_id, now, self.reason)


@dataclass
class _Candidate:
    parameter: Parameter
    rank: int
    order: int
    value: float | None
    status: Status
    time: float
    own_time: bool  # OBX-14 (or its header's), not a fallback


@dataclass
class _BedState:
    first_message_time: float | None = None
    last_nibp: tuple[float | None, ...] | None = None
    last_nibp_time: float | None = None
    count: int = 0
    ids: set[str] = field(default_factory=set)


def _number(text: str) -> float | None:
    text = text.strip()
    if not text or len(text) > 32:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _value_of(seg: Segment) -> float | None:
    """OBX-5 as a number; None when empty or not a number (SN `>^5`: the number part)."""
    vtype = seg.field(2).upper()
    if vtype == "SN":
        parts = seg.components(5)
        comparator = parts[0].strip() if parts else ""
        if comparator not in ("", "="):
            return None  # "<5", ">300": a bound, not a measurement
        return _number(parts[1]) if len(parts) > 1 else None
    if vtype not in ("NM", "", "ST", "NA"):
        return None
    return _number(seg.field(5))


class Hl7Decoder(Decoder):
    """PCD-01 messages, from MLLP bytes or bare segments, or one message at a time."""

    name: ClassVar[str] = "hl7"

    def __init__(self, bed: str | None = None, device: str | None = None, source: Source = Source.MONITOR) -> None:
        super().__init__()
        self.bed = (bed or "").strip() or None
        self.device = (device or "").strip().upper() or None
        self.source = source
        self._locked_key: str | None = None
        self._beds: dict[str, _BedState] = {}
        self._ignored: set[str] = set()
        self.ignored_messages = 0
        self._demo = False
        self._unsupported_logged: set[str] = set()
        self._unit_logged: set[tuple[str, str]] = set()
        # stream mode for feed(): None until known, "mllp" or "bare"
        self._mode: str | None = None
        self._framer = MllpFramer()
        self._bare = bytearray()

    @property
    def in_demo_mode(self) -> bool:
        """True while the last message for this bed carried demo-mode values."""
        return self._demo

    # -- streams ------------------------------------------------------------------------------
    def feed(self, data: bytes, arrival_time: float) -> list[Item]:
        self.stats.bytes_in += len(data)
        if self._mode is None:
            self._bare += data
            if self._bare.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte order mark from a text editor
                del self._bare[:3]
            head = bytes(self._bare).lstrip(b" \t\r\n")
            if head[:1] == b"\x0b":
                self._mode = "mllp"
            elif head[:3] == b"MSH":
                self._mode = "bare"
            elif len(head) >= 3:
                start = head.find(b"\x0b")
                msh = _BARE_START.search(head)
                if start < 0 and msh is None:
                    if len(head) > 65536:
                        self.stats.resyncs += 1
                        self._bare.clear()
                    return []
                self._mode = "mllp" if start >= 0 and (msh is None or start < msh.start()) else "bare"
            else:
                return []
            data = bytes(self._bare)
            self._bare.clear()
        items: list[Item] = []
        if self._mode == "mllp":
            before = self._framer.oversized
            for message in self._framer.feed(data):
                items.extend(self.decode_message(message, arrival_time).items)
            self.stats.length_errors += self._framer.oversized - before
            return items
        self._bare += data
        starts = [m.start() + (0 if m.group().startswith(b"MSH") else 1) for m in _BARE_START.finditer(self._bare)]
        if len(starts) >= 2:
            if starts[0] > 0:
                self.stats.resyncs += 1
            for a, b in itertools.pairwise(starts):
                items.extend(self.decode_message(bytes(self._bare[a:b]), arrival_time).items)
            del self._bare[:starts[-1]]
        elif len(self._bare) > MAX_BARE:
            items.extend(self.decode_message(bytes(self._bare), arrival_time).items)
            self._bare.clear()
        return items

    def finish(self) -> list[Item]:
        if self._mode in ("bare", None) and self._bare.strip():
            data = bytes(self._bare)
            self._bare.clear()
            return self.decode_message(data, 0.0).items
        return []

    # -- one message --------------------------------------------------------------------------
    def decode_message(self, data: bytes, arrival_time: float) -> MessageResult:
        """Decode one message (no MLLP bytes); never raises."""
        try:
            return self._decode(data, arrival_time)
        except HL7Error as exc:
            self.stats.length_errors += 1
            return MessageResult([], "AR", f"not an HL7 v2 message: {exc}")
        except Exception as exc:  # a decoder bug must not stop monitoring: reject this message only
            log.exception("HL7 message could not be decoded")
            self.stats.length_errors += 1
            return MessageResult([], "AE", f"message could not be processed: {type(exc).__name__}")

    def _decode(self, data: bytes, arrival_time: float) -> MessageResult:
        msg = parse_message(data)
        mtype, event = msg.message_type
        if not msg.control_id:
            self.stats.length_errors += 1
            return MessageResult([], "AR", "MSH-10 (message control id) is empty", msg)
        if mtype not in _MESSAGE_TYPES:
            self.stats.length_errors += 1
            return MessageResult([], "AR", f"unsupported message type {mtype}^{event}: only ORU^R01 is read", msg)
        if msg.first("OBR") is None:
            self.stats.length_errors += 1
            return MessageResult([], "AE", "missing required OBR segment", msg)
        if msg.first("OBX") is None:
            self.stats.length_errors += 1
            return MessageResult([], "AE", "no OBX segment: the message carries no observation", msg)
        self.stats.frames += 1
        now_items: list[Item] = []
        key = self._sender_key(msg)
        if not self._accepts(msg, key, arrival_time, now_items):
            self.ignored_messages += 1
            return MessageResult(now_items, "AA", "", msg, False)
        bed = self._beds.setdefault(key, _BedState())
        candidates = self._candidates(msg, arrival_time)
        chosen: dict[Parameter, _Candidate] = {}
        for c in candidates:
            best = chosen.get(c.parameter)
            if best is None or (c.value is None, c.rank, c.order) < (best.value is None, best.rank, best.order):
                chosen[c.parameter] = c
        items: list[Item] = now_items
        demo = any(c.status is Status.DEMO for c in candidates)
        t_msg = parse_ts(msg.msh.field(7)) or arrival_time
        if demo != self._demo:
            self._demo = demo
            if demo:
                items.append(DeviceNotice(t_msg, "demo-mode", "the monitor is in DEMO mode: its values are not "
                                          "the patient's and are neither charted nor alarmed", {}))
            else:
                items.append(DeviceNotice(t_msg, "demo-mode-ended", "the monitor left demo mode", {}))
        for parameter, c in chosen.items():
            if parameter in NIBP_PARAMETERS:
                continue
            items.append(VitalSample(c.time, parameter, c.value, c.status, self.source))
        if bed.first_message_time is None:
            # the sender's own clock only: the arrival time is this computer's, which may differ
            obr = msg.first("OBR")
            bed.first_message_time = parse_ts(msg.msh.field(7)) or (parse_ts(obr.field(7)) if obr else None)
        items.extend(self._nibp(chosen, bed, key))
        return MessageResult(items, "AA", "", msg, True)

    # -- bed selection --------------------------------------------------------------------------
    @staticmethod
    def _pv1_3(msg: Message) -> str:
        pv1 = msg.first("PV1")
        return pv1.raw(3) if pv1 is not None else ""

    def _device_ids(self, msg: Message) -> set[str]:
        ids = {c.strip().upper() for c in msg.msh.components(3) if c.strip()}
        for seg in msg.segments:
            if seg.name == "OBX":
                ids.update(c.strip().upper() for c in seg.components(18)[:1] if c.strip())
        return ids

    def _sender_key(self, msg: Message) -> str:
        """Who sent this: the originating monitors (OBX-18) when named, else sender and bed (PV1-3)."""
        devices = sorted({c.strip().upper() for seg in msg.segments if seg.name == "OBX"
                          for c in seg.components(18)[:1] if c.strip()})
        if devices:
            return "device:" + ",".join(devices)
        return f"sender:{msg.msh.raw(3)}|{msg.msh.raw(4)}|{self._pv1_3(msg)}"

    def _accepts(self, msg: Message, key: str, t: float, notices: list[Item]) -> bool:
        if self.bed is not None:
            # the whole PV1-3 or its bed component: never a unit name that every bed shares
            pv1 = msg.first("PV1")
            names = {self._pv1_3(msg).strip(), pv1.component(3, 3).strip() if pv1 is not None else ""}
            ok = self.bed in names - {""}
        elif self.device is not None:
            ok = self.device in self._device_ids(msg)
        else:
            ok = True
        if ok:  # one sender only, even if a second one claims the same bed
            if self._locked_key is None:
                self._locked_key = key
            ok = key == self._locked_key
        if not ok and key not in self._ignored and len(self._ignored) < 100:
            self._ignored.add(key)
            bed = self._pv1_3(msg) or "no bed"
            sender = msg.msh.field(3) or msg.msh.field(4) or "unknown sender"
            chosen = (f"bed {self.bed}" if self.bed else f"device {self.device}" if self.device
                      else "the first bed that sent data")
            notices.append(DeviceNotice(parse_ts(msg.msh.field(7)) or t, "hl7-other-bed",
                                        f"ignoring HL7 data for another bed ({bed}, {sender}): showing only {chosen}",
                                        {"pv1_3": bed, "sender": sender}))
        return ok

    # -- observations -------------------------------------------------------------------------
    def _candidates(self, msg: Message, arrival_time: float) -> list[_Candidate]:
        out: list[_Candidate] = []
        t_msh = parse_ts(msg.msh.field(7))
        t_obr: float | None = None
        headers: dict[str, float] = {}
        order = 0
        for seg in msg.segments:
            if seg.name == "OBR":
                t_obr = parse_ts(seg.field(7)) or parse_ts(seg.field(8)) or parse_ts(seg.field(14))
                headers = {}
                continue
            if seg.name != "OBX":
                continue
            order += 1
            fields = seg.fields
            if len(fields) < 4 or not fields[3]:
                continue
            info = _lookup(fields[3], seg.seps)
            obx4 = seg.field(4).strip()
            t_own = parse_ts(seg.field(14))
            if info is None:
                if t_own is not None and obx4 and not seg.field(5):
                    headers[_level(obx4)] = t_own  # a header OBX dating the metrics below it
                continue
            if info.parameter is None:
                if info.unsupported and info.unsupported not in self._unsupported_logged:
                    self._unsupported_logged.add(info.unsupported)
                    log.info("HL7: %s (%s) not supported yet: skipped", info.unsupported, seg.field(3))
                continue
            parameter = info.parameter
            if t_own is None and obx4:
                t_own = _header_time(headers, obx4)
            t = t_own or t_obr or t_msh or arrival_time
            value, status = self._value(seg, parameter)
            flags = seg.raw(8)
            if flags and "DEMO" in (f.strip().upper() for f in flags.split(seg.seps.repetition)):
                status = Status.DEMO
            out.append(_Candidate(parameter, info.rank, order, value, status, t, t_own is not None))
        return out

    def _value(self, seg: Segment, parameter: Parameter) -> tuple[float | None, Status]:
        if seg.field(11).strip().upper() in _NO_VALUE_STATUSES:
            return None, Status.INVALID
        raw = _value_of(seg)
        if raw is None or raw < 0:  # every sentinel (SENTINELS) is negative, and no vital sign is
            return None, Status.INVALID
        factor = _unit_factor(parameter, seg.raw(6), seg.seps)
        if factor is None:
            text = seg.field(6)
            if (parameter.value, text) not in self._unit_logged and len(self._unit_logged) < 100:
                self._unit_logged.add((parameter.value, text))
                log.warning("HL7: unit %r is not known for %s: value skipped", text, parameter.value)
            return None, Status.INVALID
        value = raw * factor
        if not is_plausible(parameter, value):
            return None, Status.IMPLAUSIBLE
        return value, Status.OK

    def _nibp(self, chosen: dict[Parameter, _Candidate], bed: _BedState, key: str) -> list[Item]:
        group = [chosen[p] for p in NIBP_PARAMETERS if p in chosen]
        bp = [chosen[p] for p in _NIBP_BP if p in chosen]
        if not bp or all(c.value is None for c in bp):
            return []  # no measurement shown (yet): nothing to record
        lead = chosen.get(Parameter.NIBP_SYS) or bp[0]
        t = lead.time
        values = tuple(chosen[p].value if p in chosen else None for p in _NIBP_BP)
        if bed.last_nibp == values and (not lead.own_time or bed.last_nibp_time == t):
            return []  # the same measurement repeated in the next message
        bed.last_nibp, bed.last_nibp_time = values, t
        bed.count += 1
        # the measurement still shown when kapmonitor started listening (maybe the previous
        # patient's): recorded as `old`, like the GE S/5's, never as a new measurement
        first = bed.first_message_time
        old = bed.count == 1 and first is not None and t < first - OLD_NIBP_S
        mid = f"hl7-{zlib.crc32(key.encode()) % 100000:05d}-{int(t)}-{bed.count}"
        return [VitalSample(t, c.parameter, c.value, Status.OLD if old and c.status is Status.OK else c.status,
                            self.source, mid) for c in group]


def _parts3(raw: str, seps: Separators) -> tuple[str, str, str]:
    first = raw.split(seps.repetition, 1)[0] if seps.repetition in raw else raw
    parts = first.split(seps.component)
    if seps.escape and seps.escape in first:
        parts = [unescape(p, seps) for p in parts]
    parts += ["", "", ""]
    return parts[0], parts[1], parts[2]


@functools.lru_cache(maxsize=1024)
def _lookup(raw: str, seps: Separators) -> codes.CodeInfo | None:
    """`codes.lookup` of an OBX-3 as sent (cached: a monitor sends the same codes every time)."""
    return codes.lookup(*_parts3(raw, seps))


@functools.lru_cache(maxsize=512)
def _unit_factor(parameter: Parameter, raw: str, seps: Separators) -> float | None:
    return codes.unit_factor(parameter, _parts3(raw, seps))


def _level(obx4: str) -> str:
    """The containment path a header OBX stands for: `1.1.1.0` → `1.1.1`."""
    parts = obx4.split(".")
    while len(parts) > 1 and parts[-1] == "0":
        parts.pop()
    return ".".join(parts)


def _header_time(headers: dict[str, float], obx4: str) -> float | None:
    parts = obx4.split(".")
    for n in range(len(parts) - 1, 0, -1):
        t = headers.get(".".join(parts[:n]))
        if t is not None:
            return t
    return None
