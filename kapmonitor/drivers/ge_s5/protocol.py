"""GE Datex-Ohmeda S/5 Computer Interface: framing, record layout, request and record builders.

Facts from the S/5 Computer Interface Specification (M1017617) and the Datex-Ohmeda Record
(DRI) specification (8005313). Everything here is pure and stateless except `FrameSplitter`,
which belongs to one reader (not thread-safe).

Wire format: `7E`, escaped(record + checksum), `7E`. Escaping replaces `7E` by `7D 5E` and `7D`
by `7D 5D`; the checksum is the 8-bit sum of the *unescaped* record bytes and is escaped too.
Records are little-endian with byte-aligned structures.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from kapmonitor.drivers.base import DriverStats

FLAG = 0x7E
ESC = 0x7D
_FLAG_B = b"\x7e"
_ESC_B = b"\x7d"

HEADER_LEN = 40
MAX_RECORD_LEN = 1450 + HEADER_LEN
EOL_SUBR_LIST = 0xFF

# main types
MT_PHDB = 0
MT_WAVE = 1
MT_ALARM = 4

# physiological subrecord types
PH_REQUEST = 0
PH_DISPL = 1
PH_10S_TREND = 2
PH_60S_TREND = 3
PH_AUX_INFO = 4

PHDB_SUBRECORD_LEN = 278  # time u32 + 270-byte class body + marker + reserved + cl_drilvl_subt
PHDB_BODY_LEN = 270
AUX_SUBRECORD_LEN = 114

# physiological classes (cl_drilvl_subt bits 8-11) and request masks (phdb_class_bf)
CLASS_BASIC, CLASS_EXT1, CLASS_EXT2, CLASS_EXT3 = 0, 1, 2, 3
CLASS_MASK_ALL = 0x0002 | 0x0004 | 0x0008  # BASIC is requested by a 0 "deny" bit

# waveform subrecord types
WF_CMD = 0
WF_ECG1 = 1
WF_PLETH = 8
WF_ENT_100 = 32
WF_REQ_CONT_START = 0
WF_REQ_CONT_STOP = 1
WF_STATUS_GAP = 0x0001
WF_RATES_HZ: dict[int, float] = {1: 300.0, 2: 300.0, 3: 300.0, 4: 100.0, 5: 100.0, 6: 100.0, 7: 100.0, 8: 100.0,
                                 9: 25.0, 10: 25.0, 11: 25.0, 12: 25.0, 13: 25.0, 14: 25.0, 15: 25.0,
                                 16: 100.0, 17: 100.0, 32: 100.0, 38: 100.0}

# offsets inside the basic class body (relative to the start of `physdata`)
ECG_GROUP = 0  # group_hdr(status u32, label u16), hr, st1, st2, st3, imp_rr
NIBP_GROUP = 72  # group_hdr, sys, dia, mean, hr (pressures in 1/100 mmHg)
SPO2_GROUP = 118  # group_hdr, SpO2 (1/100 %), pr, ir_amp, SvO2
CO2_GROUP = 132  # group_hdr, et and fi (1/100 %), rr (/min), amb_press (1/10 mmHg); label bits 0-2: RR source
ECG_IMP_RR = 14  # imp_rr (/min, from ECG impedance) inside the ECG group
CO2_RR_SOURCE_MASK = 0x7  # 0 not selected, 1 CO2, 2 ECG impedance

# NIBP label bits
NIBP_AUTO = 1 << 3
NIBP_STAT = 1 << 4
NIBP_MEASURING = 1 << 5
NIBP_STASIS = 1 << 6
NIBP_CALIBRATING = 1 << 7
NIBP_OLDER_60S = 1 << 8

STATUS_EXISTS = 0x1
STATUS_ACTIVE = 0x2

# special measurement values
DATA_INVALID = -32767
DATA_NOT_UPDATED = -32766
DATA_DISCONTINUITY = -32765
DATA_UNDER_RANGE = -32764
DATA_OVER_RANGE = -32763
DATA_NOT_CALIBRATED = -32762
SPECIAL_LIMIT = -32001  # every value <= this is a marker, never a number

HR_SOURCES: dict[int, str] = {
    0: "not selected", 1: "ECG", 2: "invasive pressure 1", 3: "invasive pressure 2",
    4: "invasive pressure 3", 5: "invasive pressure 4", 6: "SpO2 pleth", 7: "invasive pressure 5",
    8: "invasive pressure 6", 9: "ECG", 10: "invasive pressure 7", 11: "invasive pressure 8",
    12: "SpO2 pleth 2",
}

_HDR = struct.Struct("<hBBHIBBHh")  # r_len, r_nbr, dri_level, plug_id, r_time, n_subnet, res2, res3, r_maintype
_SR = struct.Struct("<hB")


# -- framing ------------------------------------------------------------------------------
def checksum(record: bytes) -> int:
    """8-bit unsigned sum of the unescaped record bytes."""
    return sum(record) & 0xFF


def escape(data: bytes) -> bytes:
    """Escape `7D` first (so the `7D` of a `7E` escape is not escaped again), then `7E`."""
    if ESC not in data and FLAG not in data:
        return data
    return data.replace(_ESC_B, b"\x7d\x5d").replace(_FLAG_B, b"\x7d\x5e")


def unescape(data: bytes) -> bytes:
    """Undo `escape`; the second byte of an escape pair is never `7D`, so the two passes cannot mix."""
    if ESC not in data:
        return data
    return data.replace(b"\x7d\x5e", _FLAG_B).replace(b"\x7d\x5d", _ESC_B)


def frame(record: bytes) -> bytes:
    """The wire bytes of one record: flag, escaped record and checksum, flag."""
    return _FLAG_B + escape(record + bytes((checksum(record),))) + _FLAG_B


class FrameSplitter:
    """Cuts a byte stream into checked records (checksum removed).

    Anything before the first flag is a partial frame (we started mid-frame) and is dropped as a
    resync. A flag always ends one frame and may start the next; empty frames are skipped. Bad
    frames are counted in `stats` (checksum errors, length mismatches) and dropped.
    """

    def __init__(self, stats: DriverStats | None = None) -> None:
        self.stats = stats if stats is not None else DriverStats()
        self._buf = bytearray()
        self._synced = False

    @property
    def pending(self) -> int:
        """Bytes held while waiting for the end of a frame."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[bytes]:
        buf = self._buf
        buf += data
        last = buf.rfind(_FLAG_B)
        if last < 0:
            if len(buf) > 2 * MAX_RECORD_LEN + 8:  # no flag for longer than any frame: noise
                buf.clear()
                self._synced = False
                self.stats.resyncs += 1
            return []
        parts = bytes(buf[:last]).split(_FLAG_B)
        del buf[: last + 1]
        if not self._synced:
            self._synced = True
            if parts[0]:
                self.stats.resyncs += 1
            parts = parts[1:]
        out: list[bytes] = []
        for part in parts:
            if part:
                record = self._check(part)
                if record is not None:
                    out.append(record)
        return out

    def finish(self) -> int:
        """Drop a frame cut off by the end of the stream; returns the bytes dropped."""
        n = len(self._buf)
        if n and self._synced:
            self.stats.length_errors += 1
        self._buf.clear()
        return n

    def _check(self, part: bytes) -> bytes | None:
        data = unescape(part)
        n = len(data) - 1
        if n < HEADER_LEN:
            self.stats.length_errors += 1
            return None
        record = data[:n]
        if sum(record) & 0xFF != data[n]:
            self.stats.checksum_errors += 1
            return None
        if int.from_bytes(record[0:2], "little", signed=True) != n:
            self.stats.length_errors += 1
            return None
        self.stats.frames += 1
        return record


# -- records ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Header:
    r_len: int
    r_nbr: int
    dri_level: int
    plug_id: int
    r_time: int
    r_maintype: int
    subrecords: tuple[tuple[int, int], ...]  # (offset from end of header, type)


def parse_header(record: bytes) -> Header:
    """The record header; the subrecord list stops at the 0xFF end-of-list marker."""
    r_len, r_nbr, level, plug, r_time, _, _, _, maintype = _HDR.unpack_from(record, 0)
    subs: list[tuple[int, int]] = []
    for i in range(8):
        off, typ = _SR.unpack_from(record, 16 + 3 * i)
        if typ == EOL_SUBR_LIST:
            break
        subs.append((off, typ))
    return Header(r_len, r_nbr, level, plug, r_time, maintype, tuple(subs))


def build_record(maintype: int, subrecords: Sequence[tuple[int, bytes]], r_time: int = 0, r_nbr: int = 0,
                 dri_level: int = 0, plug_id: int = 0) -> bytes:
    """A record from (type, body) subrecords, with the header's subrecord list and 0xFF end marker."""
    if len(subrecords) > 8:
        raise ValueError("at most 8 subrecords per record")
    descs = bytearray()
    data = bytearray()
    for typ, body in subrecords:
        descs += _SR.pack(len(data), typ)
        data += body
    if len(subrecords) < 8:
        descs += _SR.pack(0, EOL_SUBR_LIST)
    descs += bytes(24 - len(descs))
    r_len = HEADER_LEN + len(data)
    head = _HDR.pack(r_len, r_nbr & 0xFF, dri_level, plug_id, r_time & 0xFFFFFFFF, 0, 0, 0, maintype)
    return head + bytes(descs) + bytes(data)


def phdb_request(record_type: int = PH_DISPL, interval_s: int = 5, class_bf: int = CLASS_MASK_ALL) -> bytes:
    """A physiological transmission request record (interval 0 stops, -1 asks once)."""
    body = struct.pack("<BhIh", record_type, interval_s, class_bf, 0)
    return build_record(MT_PHDB, [(PH_REQUEST, body)])


def waveform_request(types: Sequence[int], stop: bool = False) -> bytes:
    """A waveform start (up to 8 types, 0xFF-terminated) or stop request record."""
    if len(types) > 8:
        raise ValueError("at most 8 waveforms per request")
    listed = bytes([] if stop else list(types))
    if len(listed) < 8:
        listed += bytes([EOL_SUBR_LIST])
    type_field = listed + bytes(8 - len(listed))
    body = struct.pack("<hh", WF_REQ_CONT_STOP if stop else WF_REQ_CONT_START, 0) + type_field + bytes(16) + bytes(4)
    return build_record(MT_WAVE, [(WF_CMD, body)])


def parse_phdb_request(body: bytes) -> tuple[int, int, int] | None:
    """(record type, interval, class bits) of a physiological request subrecord, None when short."""
    if len(body) < 9:
        return None
    rtype, ival, classes, _ = struct.unpack_from("<BhIh", body, 0)
    return rtype, ival, classes


def parse_waveform_request(body: bytes) -> tuple[int, list[int]] | None:
    """(request type, waveform types) of a waveform request subrecord, None when short."""
    if len(body) < 12:
        return None
    req, _ = struct.unpack_from("<hh", body, 0)
    types: list[int] = []
    for b in body[4:12] + body[12:28]:
        if b == EOL_SUBR_LIST:
            break
        types.append(b)
    return req, types


def group(status: int, label: int, values: Sequence[int]) -> bytes:
    """One parameter group: header (status, label) and signed 16-bit values."""
    return struct.pack(f"<IH{len(values)}h", status, label, *values)


def phdb_subrecord(t: int, body: bytes, phdb_class: int = CLASS_BASIC, marker: int = 0) -> bytes:
    """A displayed/trended subrecord; `body` is padded to the 270-byte class area."""
    if len(body) > PHDB_BODY_LEN:
        raise ValueError("class body longer than 270 bytes")
    return struct.pack("<I", t & 0xFFFFFFFF) + body + bytes(PHDB_BODY_LEN - len(body)) + struct.pack(
        "<BBH", marker, 0, (phdb_class & 0xF) << 8
    )


def basic_body(
    hr: int, hr_status: int, nibp: tuple[int, int, int, int], nibp_label: int, nibp_status: int,
    spo2: int, pulse_rate: int, spo2_status: int, ir_amp: int = 50,
) -> bytes:
    """The basic class body with the ECG, NIBP and SpO2 groups filled (others absent)."""
    body = bytearray(PHDB_BODY_LEN)
    invalid4 = (DATA_INVALID,) * 4
    body[ECG_GROUP:ECG_GROUP + 16] = group(hr_status, 0, (hr, DATA_INVALID, DATA_INVALID, DATA_INVALID, DATA_INVALID))
    for i in range(4):  # invasive pressures: not present
        off = 16 + 14 * i
        body[off:off + 14] = group(0, 0, invalid4)
    body[NIBP_GROUP:NIBP_GROUP + 14] = group(nibp_status, nibp_label, nibp)
    for i in range(4):  # temperatures: not present
        off = 86 + 8 * i
        body[off:off + 8] = group(0, 0, (DATA_INVALID,))
    body[SPO2_GROUP:SPO2_GROUP + 14] = group(spo2_status, 1, (spo2, pulse_rate, ir_amp, DATA_INVALID))
    return bytes(body)


def aux_subrecord(nibp_time: int) -> bytes:
    """The auxiliary information subrecord (only `nibp_time` filled)."""
    return struct.pack("<IhIIh", nibp_time & 0xFFFFFFFF, 0, 0, 0, 0) + bytes(98)


def wave_subrecord(samples: Sequence[int], status: int = 0, label: int = 0) -> bytes:
    """A waveform subrecord: header (act_len, status, label) and the samples."""
    return struct.pack(f"<hHH{len(samples)}h", len(samples), status, label, *samples)
