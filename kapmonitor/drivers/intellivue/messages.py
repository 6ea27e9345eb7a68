"""IntelliVue Data Export messages as bytes: the client's requests, the monitor's answers (for the
emulator), and parsing of the message envelope (session header, ROSE header, event/action header).

Everything is big-endian. Layouts and fixed building blocks are from the Programming Guide
(chapter 5-7 and the protocol examples on pp. 291-304). Pure functions, thread-safe.
"""

from __future__ import annotations

import datetime as dt
import math
import struct
from dataclasses import dataclass, field

# -- session (association control) header types ----------------------------------------------
CN_SPDU_SI = 0x0D  # association request (client)
AC_SPDU_SI = 0x0E  # association accepted (monitor)
RF_SPDU_SI = 0x0C  # refuse (monitor)
FN_SPDU_SI = 0x09  # release request
DN_SPDU_SI = 0x0A  # release response
AB_SPDU_SI = 0x19  # abort
DATA_EXPORT = 0xE1  # first byte of every Data Export command (SPpdu session_id 0xE100)

# -- remote operation types and commands ---------------------------------------------------------
ROIV_APDU = 1
RORS_APDU = 2
ROER_APDU = 3
ROLRS_APDU = 5
CMD_EVENT_REPORT = 0
CMD_CONFIRMED_EVENT_REPORT = 1
CMD_GET = 3
CMD_SET = 4
CMD_CONFIRMED_SET = 5
CMD_CONFIRMED_ACTION = 7

# -- nomenclature ------------------------------------------------------------------------------
NOM_MOC_VMS_MDS = 0x0021
NOM_MOC_VMO_METRIC_NU = 0x0006
NOM_MOC_VMO_METRIC_SA_RT = 0x0009
NOM_MOC_VMO_AL_MON = 0x0036
NOM_MOC_PT_DEMOG = 0x002A
NOM_PART_OBJ = 1
NOM_PART_SCADA = 2
NOM_NOTI_MDS_CREAT = 0x0D06
NOM_ACT_POLL_MDIB_DATA = 0x0C16
NOM_ACT_POLL_MDIB_DATA_EXT = 0xF13B
NOM_POLL_PROFILE_SUPPORT = 0x0001
NOM_ATTR_POLL_PROFILE_EXT = 0xF001

ATTR_ID_HANDLE = 0x0921
ATTR_ID_TYPE = 0x092F
ATTR_NU_CMPD_VAL_OBS = 0x094B
ATTR_NU_VAL_OBS = 0x0950
ATTR_PT_ID = 0x095A
ATTR_PT_NAME_GIVEN = 0x095D
ATTR_PT_NAME_FAMILY = 0x095C
ATTR_SA_CMPD_VAL_OBS = 0x0967
ATTR_SA_SPECN = 0x096D
ATTR_SA_VAL_OBS = 0x096E
ATTR_SCALE_SPECN_I16 = 0x096F
ATTR_TIME_ABS = 0x0987
ATTR_TIME_PD_SAMP = 0x098D
ATTR_TIME_REL = 0x098F
ATTR_TIME_STAMP_ABS = 0x0990
ATTR_TIME_STAMP_REL = 0x0991
ATTR_UNIT_CODE = 0x0996
ATTR_TIME_PD_POLL = 0xF13E

# physiological ids (SCADA partition)
NOM_ECG_CARD_BEAT_RATE = 0x4182
NOM_PULS_OXIM_SAT_O2 = 0x4BB8
NOM_PLETH_PULS_RATE = 0x4822
NOM_RESP_RATE = 0x500A  # respiration rate (ECG impedance, or the best source the monitor chose)
NOM_AWAY_RESP_RATE = 0x5012  # airway respiration rate (from the CO2 measurement)
NOM_AWAY_CO2_ET = 0x50B0  # end-tidal CO2
NOM_PRESS_BLD_NONINV = 0x4A04
NOM_PRESS_BLD_NONINV_SYS = 0x4A05
NOM_PRESS_BLD_NONINV_DIA = 0x4A06
NOM_PRESS_BLD_NONINV_MEAN = 0x4A07
NOM_PRESS_BLD_NONINV_PULS_RATE = 0xF0E5
NOM_PLETH = 0x4BB4

# units (dimension partition)
NOM_DIM_PERCENT = 0x0220
NOM_DIM_BEAT_PER_MIN = 0x0AA0
NOM_DIM_MMHG = 0x0F20
NOM_DIM_KILO_PASCAL = 0x0F03
NOM_DIM_DIMLESS = 0x0200

# measurement state bits
STATE_INVALID = 0x8000
STATE_QUESTIONABLE = 0x4000
STATE_UNAVAILABLE = 0x2000
STATE_CALIBRATION_ONGOING = 0x1000
STATE_TEST_DATA = 0x0800
STATE_DEMO_DATA = 0x0400
STATE_MSMT_ONGOING = 0x0020

# FLOAT special mantissas
FLOAT_NAN = 0x7FFFFF
FLOAT_NRES = 0x800000
FLOAT_PINF = 0x7FFFFE
FLOAT_NINF = 0x800002

TICKS_PER_SECOND = 8000  # RelativeTime: 1/8 ms
SPPDU = b"\xe1\x00\x00\x02"  # session 0xE100, presentation context 2

_SESSION_DATA = bytes.fromhex("0508130100160102800014020002")
_ASSOC_REQ_PRES_HEADER = bytes.fromhex(
    "31 80 A0 80 80 01 01 00 00 A2 80 A0 03 00 00 01 A4 80 30 80 02 01 01 06 04 52 01 00 01 30"
    " 80 06 02 51 01 00 00 00 00 30 80 02 01 02 06 0C 2A 86 48 CE 14 02 01 00 00 00 01 01 30 80"
    " 06 0C 2A 86 48 CE 14 02 01 00 00 00 02 01 00 00 00 00 00 00 61 80 30 80 02 01 01 A0 80 60"
    " 80 A1 80 06 0C 2A 86 48 CE 14 02 01 00 00 00 03 01 00 00 BE 80 28 80 06 0C 2A 86 48 CE 14"
    " 02 01 00 00 00 01 01 02 01 02 81"
)
_ASSOC_RESP_PRES_HEADER = bytes.fromhex(
    "31 80 A0 80 80 01 01 00 00 A2 80 A0 03 00 00 01 A5 80 30 80 80 01 00 81 02 51 01 00 00 30"
    " 80 80 01 00 81 0C 2A 86 48 CE 14 02 01 00 00 00 02 01 00 00 00 00 61 80 30 80 02 01 01 A0"
    " 80 61 80 A1 80 06 0C 2A 86 48 CE 14 02 01 00 00 00 03 01 00 00 A2 03 02 01 00 A3 05 A1 03"
    " 02 01 00 BE 80 28 80 02 01 02 81"
)
_PRES_TRAILER = bytes(16)

RELEASE_REQUEST = bytes.fromhex("09 18 c1 16 61 80 30 80 02 01 01 a0 80 62 80 80 01 00 00 00 00 00 00 00 00 00")
RELEASE_RESPONSE = bytes.fromhex("0a 18 c1 16 61 80 30 80 02 01 01 a0 80 63 80 80 01 00 00 00 00 00 00 00 00 00")
ABORT = bytes.fromhex(
    "19 2e 11 01 03 c1 29 a0 80 a0 80 30 80 02 01 01 06 02 51 01 00 00 00 00 61 80 30 80 02 01 01"
    " a0 80 64 80 80 01 01 00 00 00 00 00 00 00 00 00 00"
)
REFUSE = bytes.fromhex("0c 03 32 01 00")

MDDL_VERSION1 = 0x80000000
NOMEN_VERSION = 0x40000000
SYST_CLIENT = 0x80000000
SYST_SERVER = 0x00800000
COLD_START = 0x20000000
POLL_PROFILE_REV_0 = 0x80000000
POLL_EXT_PERIOD_NU_1SEC = 0x80000000
POLL_EXT_PERIOD_RTSA = 0x08000000


# -- small encoders -------------------------------------------------------------------------------
def _li(n: int) -> bytes:
    """Session/presentation length indicator: one byte up to 254, else FF + u16."""
    return bytes((n,)) if n <= 254 else b"\xff" + struct.pack(">H", n)


def _asn_length(n: int) -> bytes:
    if n <= 127:
        return bytes((n,))
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(raw),)) + raw


def attribute(attr_id: int, value: bytes) -> bytes:
    """One AVAType: id, length, value."""
    return struct.pack(">HH", attr_id, len(value)) + value


def attribute_list(attrs: list[bytes]) -> bytes:
    """An AttributeList of already encoded AVATypes."""
    body = b"".join(attrs)
    return struct.pack(">HH", len(attrs), len(body)) + body


def encode_float(value: float | None, special: int = FLOAT_NAN) -> bytes:
    """FLOATType: signed 8-bit exponent, signed 24-bit mantissa. None -> `special` (NaN by default)."""
    if value is None or not math.isfinite(value):
        return struct.pack(">I", special & 0xFFFFFF)
    for exp in (0, -1, -2, -3, -4):
        m = value * 10 ** (-exp)
        if abs(m - round(m)) < 1e-6 and abs(round(m)) < 0x7FFFF0:
            return struct.pack(">I", ((exp & 0xFF) << 24) | (round(m) & 0xFFFFFF))
    exp = -2
    while abs(value * 10 ** (-exp)) >= 0x7FFFF0:
        exp += 1
    return struct.pack(">I", ((exp & 0xFF) << 24) | (round(value * 10 ** (-exp)) & 0xFFFFFF))


def _bcd(v: int) -> int:
    return ((v // 10) << 4) | (v % 10)


def encode_absolute_time(t: float, utc_offset_s: float = 0.0) -> bytes:
    """AbsoluteTime (BCD century, year, month, day, hour, minute, second, fraction) of epoch `t`,
    as the monitor's local wall clock `utc_offset_s` ahead of UTC."""
    d = dt.datetime.fromtimestamp(t + utc_offset_s, dt.UTC)
    return bytes(
        (
            _bcd(d.year // 100),
            _bcd(d.year % 100),
            _bcd(d.month),
            _bcd(d.day),
            _bcd(d.hour),
            _bcd(d.minute),
            _bcd(d.second),
            0,
        )
    )


INVALID_ABSOLUTE_TIME = b"\xff" * 8


def nu_obs_value(physio_id: int, state: int, unit: int, value: float | None, special: int = FLOAT_NAN) -> bytes:
    """NuObsValue (10 bytes)."""
    return struct.pack(">HHH", physio_id, state, unit) + encode_float(value, special)


def nu_obs_value_cmp(values: list[bytes]) -> bytes:
    body = b"".join(values)
    return struct.pack(">HH", len(values), len(body)) + body


def sa_obs_value(physio_id: int, state: int, samples: list[int]) -> bytes:
    """SaObsValue with 16-bit samples."""
    arr = struct.pack(f">{len(samples)}H", *samples)
    return struct.pack(">HHH", physio_id, state, len(arr)) + arr


# -- association control ---------------------------------------------------------------------------
def mdse_user_info(
    system_type: int,
    min_poll_period_ticks: int,
    ext_options: int,
    max_mtu: int = 1000,
    startup: int = COLD_START,
) -> bytes:
    """MDSEUserInfoStd with a poll profile and the Poll Profile Extensions optional package."""
    ext = struct.pack(">I", ext_options) + attribute_list([])
    support = struct.pack(
        ">IIIIII", POLL_PROFILE_REV_0, min_poll_period_ticks, max_mtu, max_mtu, 0xFFFFFFFF, 0x60000000
    )
    support += attribute_list([attribute(NOM_ATTR_POLL_PROFILE_EXT, ext)])
    head = struct.pack(">IIIII", MDDL_VERSION1, NOMEN_VERSION, 0, system_type, startup)
    return head + attribute_list([]) + attribute_list([attribute(NOM_POLL_PROFILE_SUPPORT, support)])


def _assoc_message(spdu: int, pres_header: bytes, user_info: bytes) -> bytes:
    user = _asn_length(len(user_info)) + user_info
    pres_rest = pres_header + user + _PRES_TRAILER
    pres = b"\xc1" + _li(len(pres_rest)) + pres_rest
    body = _SESSION_DATA + pres
    return bytes((spdu,)) + _li(len(body)) + body


def association_request(min_poll_period_s: float = 1.0, waves: bool = True) -> bytes:
    """The client's Association Request: Data Export, real-time numerics (1 s), optionally waves."""
    ext = POLL_EXT_PERIOD_NU_1SEC | (POLL_EXT_PERIOD_RTSA if waves else 0)
    info = mdse_user_info(SYST_CLIENT, round(min_poll_period_s * TICKS_PER_SECOND), ext)
    return _assoc_message(CN_SPDU_SI, _ASSOC_REQ_PRES_HEADER, info)


def association_response(min_poll_period_ticks: int, ext_options: int) -> bytes:
    """The monitor's Association Response (emulator)."""
    info = mdse_user_info(SYST_SERVER, min_poll_period_ticks, ext_options)
    return _assoc_message(AC_SPDU_SI, _ASSOC_RESP_PRES_HEADER, info)


# -- data export --------------------------------------------------------------------------------
def _rose(ro_type: int, invoke_id: int, command: int, body: bytes) -> bytes:
    inner = struct.pack(">HHH", invoke_id, command, len(body)) + body
    return SPPDU + struct.pack(">HH", ro_type, len(inner)) + inner


def _mds_object() -> bytes:
    return struct.pack(">HHH", NOM_MOC_VMS_MDS, 0, 0)


def mds_create_event_result(invoke_id: int, event_time: int) -> bytes:
    """The client's answer to the MDS Create Event: same invoke id and event time."""
    body = _mds_object() + struct.pack(">IHH", event_time & 0xFFFFFFFF, NOM_NOTI_MDS_CREAT, 0)
    return _rose(RORS_APDU, invoke_id, CMD_CONFIRMED_EVENT_REPORT, body)


def extended_poll_request(invoke_id: int, poll_number: int, obj_code: int, period_s: float | None) -> bytes:
    """Extended Poll Data Request for all attribute groups of `obj_code` objects; with a period,
    the monitor sends periodic results for `period_s` seconds (NOM_ATTR_TIME_PD_POLL)."""
    attrs = []
    if period_s is not None:
        attrs.append(attribute(ATTR_TIME_PD_POLL, struct.pack(">I", round(period_s * TICKS_PER_SECOND))))
    req = struct.pack(">HHHH", poll_number, NOM_PART_OBJ, obj_code, 0) + attribute_list(attrs)
    body = _mds_object() + struct.pack(">IHH", 0, NOM_ACT_POLL_MDIB_DATA_EXT, len(req)) + req
    return _rose(ROIV_APDU, invoke_id, CMD_CONFIRMED_ACTION, body)


def single_poll_request(invoke_id: int, poll_number: int, obj_code: int) -> bytes:
    req = struct.pack(">HHHH", poll_number, NOM_PART_OBJ, obj_code, 0)
    body = _mds_object() + struct.pack(">IHH", 0, NOM_ACT_POLL_MDIB_DATA, len(req)) + req
    return _rose(ROIV_APDU, invoke_id, CMD_CONFIRMED_ACTION, body)


def mds_create_event(invoke_id: int, event_time: int, attrs: list[bytes]) -> bytes:
    """The monitor's MDS Create Event (emulator)."""
    info = _mds_object() + attribute_list(attrs)
    body = _mds_object() + struct.pack(">IHH", event_time & 0xFFFFFFFF, NOM_NOTI_MDS_CREAT, len(info)) + info
    return _rose(ROIV_APDU, invoke_id, CMD_CONFIRMED_EVENT_REPORT, body)


def observation(handle: int, attrs: list[bytes]) -> bytes:
    return struct.pack(">H", handle) + attribute_list(attrs)


def poll_info_list(contexts: list[tuple[int, list[bytes]]]) -> bytes:
    """PollInfoList of SingleContextPolls: (context_id, [ObservationPoll bytes])."""
    parts = []
    for context_id, observations in contexts:
        obs = b"".join(observations)
        parts.append(struct.pack(">HHH", context_id, len(observations), len(obs)) + obs)
    body = b"".join(parts)
    return struct.pack(">HH", len(parts), len(body)) + body


def extended_poll_result(
    invoke_id: int,
    poll_number: int,
    sequence_no: int,
    rel_time: int,
    abs_time: bytes,
    obj_code: int,
    info_list: bytes,
) -> bytes:
    """The monitor's Extended Poll Data Result (emulator)."""
    reply = struct.pack(">HHI", poll_number, sequence_no, rel_time & 0xFFFFFFFF) + abs_time
    reply += struct.pack(">HHH", NOM_PART_OBJ, obj_code, 0) + info_list
    body = _mds_object() + struct.pack(">HH", NOM_ACT_POLL_MDIB_DATA_EXT, len(reply)) + reply
    return _rose(RORS_APDU, invoke_id, CMD_CONFIRMED_ACTION, body)


def remote_error(invoke_id: int, error_value: int) -> bytes:
    inner = struct.pack(">HHH", invoke_id, error_value, 0)
    return SPPDU + struct.pack(">HH", ROER_APDU, len(inner)) + inner


# -- parsing of the envelope ----------------------------------------------------------------------
class ParseError(ValueError):
    """A message that does not fit the layout; the decoder counts and skips it."""


@dataclass(slots=True)
class Message:
    """One parsed message envelope; `body` is what follows the command-specific header."""

    kind: str  # assoc_request, assoc_result, refuse, release_request, release_response, abort,
    #            event_report, action, action_result, linked_result, error, get_result, other, unknown
    ro_type: int = 0
    invoke_id: int = 0
    command: int = 0
    event_type: int = 0
    event_time: int = 0
    action_type: int = 0
    obj_class: int = 0
    error_value: int = 0
    linked_state: int = 0
    body: bytes = b""
    extra: dict[str, int] = field(default_factory=dict)


_SESSION_KINDS = {
    CN_SPDU_SI: "assoc_request",
    AC_SPDU_SI: "assoc_result",
    RF_SPDU_SI: "refuse",
    FN_SPDU_SI: "release_request",
    DN_SPDU_SI: "release_response",
    AB_SPDU_SI: "abort",
}


def parse_message(payload: bytes) -> Message:
    """Classify one frame's user data. Raises ParseError when the layout does not hold."""
    if not payload:
        raise ParseError("empty message")
    first = payload[0]
    if first in _SESSION_KINDS:
        msg = Message(_SESSION_KINDS[first])
        if first == CN_SPDU_SI:
            msg.extra.update(_parse_assoc_user_info(payload))
        return msg
    if first != DATA_EXPORT or len(payload) < 8:
        return Message("unknown")
    ro_type, ro_len = struct.unpack_from(">HH", payload, 4)
    if 8 + ro_len > len(payload):
        raise ParseError("remote operation longer than message")
    p = 8
    if ro_type == ROER_APDU:
        if ro_len < 6:
            raise ParseError("short error")
        invoke_id, error_value, _ = struct.unpack_from(">HHH", payload, p)
        return Message("error", ro_type, invoke_id, error_value=error_value)
    linked_state = 0
    if ro_type == ROLRS_APDU:
        if ro_len < 8:
            raise ParseError("short linked result")
        linked_state = payload[p]
        p += 2
    if ro_type not in (ROIV_APDU, RORS_APDU, ROLRS_APDU):
        return Message("other", ro_type)
    if len(payload) < p + 6:
        raise ParseError("short remote operation")
    invoke_id, command, length = struct.unpack_from(">HHH", payload, p)
    p += 6
    end = p + length
    if end > len(payload):
        raise ParseError("command longer than message")
    msg = Message("other", ro_type, invoke_id, command, linked_state=linked_state)
    if command in (CMD_CONFIRMED_EVENT_REPORT, CMD_EVENT_REPORT):
        if end - p < 14:
            raise ParseError("short event report")
        obj_class, _ctx, _handle, t, ev, ln = struct.unpack_from(">HHHIHH", payload, p)
        msg.obj_class, msg.event_time, msg.event_type = obj_class, t, ev
        if ro_type == ROIV_APDU:
            msg.kind = "event_report"
            if p + 14 + ln > end:
                raise ParseError("event report longer than command")
            msg.body = payload[p + 14 : p + 14 + ln]
        else:
            msg.kind = "event_result"
        return msg
    if command == CMD_CONFIRMED_ACTION:
        if ro_type == ROIV_APDU:
            if end - p < 14:
                raise ParseError("short action")
            obj_class, _ctx, _handle, _scope, action, ln = struct.unpack_from(">HHHIHH", payload, p)
            msg.kind, msg.obj_class, msg.action_type = "action", obj_class, action
            msg.body = payload[p + 14 : min(end, p + 14 + ln)]
            return msg
        if end - p < 10:
            raise ParseError("short action result")
        obj_class, _ctx, _handle, action, ln = struct.unpack_from(">HHHHH", payload, p)
        msg.kind = "action_result" if ro_type == RORS_APDU else "linked_result"
        msg.obj_class, msg.action_type = obj_class, action
        if p + 10 + ln > end:
            raise ParseError("action result longer than command")
        msg.body = payload[p + 10 : p + 10 + ln]
        return msg
    msg.body = payload[p:end]
    return msg


def _parse_assoc_user_info(payload: bytes) -> dict[str, int]:
    """Best-effort: min_poll_period and the extension options of an association request."""
    out: dict[str, int] = {}
    i = payload.find(struct.pack(">I", POLL_PROFILE_REV_0), 20)
    # the poll profile support follows its AVA header 00 01 00 LL
    while i >= 0:
        if i >= 4 and payload[i - 4 : i - 2] == b"\x00\x01" and len(payload) >= i + 24:
            out["min_poll_period"] = struct.unpack_from(">I", payload, i + 4)[0]
            j = payload.find(struct.pack(">H", NOM_ATTR_POLL_PROFILE_EXT), i + 24)
            if j >= 0 and len(payload) >= j + 8:
                out["ext_options"] = struct.unpack_from(">I", payload, j + 4)[0]
            return out
        i = payload.find(struct.pack(">I", POLL_PROFILE_REV_0), i + 1)
    return out


@dataclass(slots=True)
class PollRequest:
    poll_number: int
    obj_code: int
    period_ticks: int | None


def parse_poll_request(msg: Message) -> PollRequest | None:
    """The fields of a (single or extended) poll request, or None."""
    b = msg.body
    if msg.action_type not in (NOM_ACT_POLL_MDIB_DATA, NOM_ACT_POLL_MDIB_DATA_EXT) or len(b) < 8:
        return None
    poll_number, _part, code, _grp = struct.unpack_from(">HHHH", b, 0)
    period: int | None = None
    if msg.action_type == NOM_ACT_POLL_MDIB_DATA_EXT and len(b) >= 12:
        count, _length = struct.unpack_from(">HH", b, 8)
        p = 12
        for _ in range(count):
            if p + 4 > len(b):
                break
            aid, ln = struct.unpack_from(">HH", b, p)
            if aid == ATTR_TIME_PD_POLL and ln == 4 and p + 8 <= len(b):
                period = struct.unpack_from(">I", b, p + 4)[0]
            p += 4 + ln
    return PollRequest(poll_number, code, period)
