"""IntelliVue attribute values and the code tables the decoder maps them with (pure functions).

The nomenclature codes the decoder turns into parameters, the FLOATType, AbsoluteTime (BCD),
String and NuObsValue layouts, attribute lists, the poll result structure, and a numeric's value
and status from its measurement state. Codes and layouts: Philips IntelliVue Data Export
Interface Programming Guide; the codes themselves are in messages.py. Thread-safe (no state).
"""

from __future__ import annotations

import calendar
import math
import struct
from dataclasses import dataclass

from kapmonitor.drivers.intellivue import messages as m
from kapmonitor.model.parameters import Parameter, is_plausible
from kapmonitor.model.samples import Status

MMHG_PER_KPA = 7.500617
STANDARD_PRESSURE_MMHG = 760.0

NUMERIC_PARAMETERS: dict[int, Parameter] = {
    m.NOM_ECG_CARD_BEAT_RATE: Parameter.HR,
    m.NOM_PULS_OXIM_SAT_O2: Parameter.SPO2,
    m.NOM_PLETH_PULS_RATE: Parameter.PULSE_RATE,
    m.NOM_AWAY_CO2_ET: Parameter.ETCO2,
}
# two sources of one respiratory rate: the airway (CO2) one is preferred when it has a value
RESP_RATE_IDS: tuple[int, ...] = (m.NOM_AWAY_RESP_RATE, m.NOM_RESP_RATE)
NIBP_PARAMETERS: dict[int, Parameter] = {
    m.NOM_PRESS_BLD_NONINV_SYS: Parameter.NIBP_SYS,
    m.NOM_PRESS_BLD_NONINV_DIA: Parameter.NIBP_DIA,
    m.NOM_PRESS_BLD_NONINV_MEAN: Parameter.NIBP_MEAN,
}


@dataclass(frozen=True, slots=True)
class FloatValue:
    """A decoded FLOATType: `value` is None for the special values, `special` names them."""

    value: float | None
    special: str = ""  # "", "nan", "nres", "+inf", "-inf"


def decode_float(raw: int) -> FloatValue:
    """FLOATType: signed 8-bit exponent, signed 24-bit mantissa, value = mantissa * 10**exponent."""
    mant = raw & 0xFFFFFF
    if mant == m.FLOAT_NAN:
        return FloatValue(None, "nan")
    if mant == m.FLOAT_NRES:
        return FloatValue(None, "nres")
    if mant == m.FLOAT_PINF:
        return FloatValue(None, "+inf")
    if mant == m.FLOAT_NINF:
        return FloatValue(None, "-inf")
    exp = raw >> 24
    if exp >= 128:
        exp -= 256
    if mant >= 0x800000:
        mant -= 0x1000000
    # divide for negative exponents: 996 / 10 is exactly 99.6, 996 * 0.1 is not
    return FloatValue(mant / 10.0**-exp if exp < 0 else mant * 10.0**exp)


def decode_bcd_time(raw: bytes, utc_offset_s: float = 0.0) -> float | None:
    """AbsoluteTime (8 BCD bytes) as epoch seconds; None when invalid (all 0xFF) or not BCD."""
    if len(raw) < 8 or raw[:7] == b"\xff" * 7:
        return None
    digits = []
    for b in raw[:7]:
        hi, lo = b >> 4, b & 0x0F
        if hi > 9 or lo > 9:
            return None
        digits.append(hi * 10 + lo)
    century, year, month, day, hour, minute, second = digits
    try:
        t = calendar.timegm((century * 100 + year, month, day, hour, minute, second, 0, 0, 0))
    except (ValueError, OverflowError):
        return None
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 61):
        return None
    return float(t) - utc_offset_s


def bcd_fields(raw: bytes) -> tuple[int, ...]:
    """The BCD digits of an AbsoluteTime as numbers: (century, year, month, day, h, min, s)."""
    return tuple((b >> 4) * 10 + (b & 0x0F) for b in raw[:7])


@dataclass(frozen=True, slots=True)
class NuObs:
    physio_id: int
    state: int
    unit: int
    value: FloatValue


def decode_nu_obs(raw: bytes, offset: int = 0) -> NuObs:
    physio, state, unit, fv = struct.unpack_from(">HHHI", raw, offset)
    return NuObs(physio, state, unit, decode_float(fv))


def decode_attribute(attr_id: int, raw: bytes) -> object:
    """Decode one attribute value this decoder understands (for tests and diagnostics).

    Returns NuObs, list[NuObs], (physio_id, state, samples) for sample arrays, a string, an
    epoch time for absolute times (UTC as on the monitor), an int for relative times, else `raw`.
    """
    if attr_id == m.ATTR_NU_VAL_OBS:
        return decode_nu_obs(raw)
    if attr_id == m.ATTR_NU_CMPD_VAL_OBS:
        count, _ = struct.unpack_from(">HH", raw, 0)
        return [decode_nu_obs(raw, 4 + 10 * i) for i in range(count) if 4 + 10 * (i + 1) <= len(raw)]
    if attr_id == m.ATTR_SA_VAL_OBS:
        physio, state, n = struct.unpack_from(">HHH", raw, 0)
        data = raw[6 : 6 + n]
        return physio, state, list(struct.unpack(f">{len(data) // 2}H", data[: len(data) // 2 * 2]))
    if attr_id == m.ATTR_SA_CMPD_VAL_OBS:
        count, _ = struct.unpack_from(">HH", raw, 0)
        out = []
        p = 4
        for _ in range(count):
            physio, state, n = struct.unpack_from(">HHH", raw, p)
            data = raw[p + 6 : p + 6 + n]
            out.append((physio, state, list(struct.unpack(f">{len(data) // 2}H", data[: len(data) // 2 * 2]))))
            p += 6 + n
        return out
    if attr_id in (m.ATTR_TIME_ABS, m.ATTR_TIME_STAMP_ABS):
        return decode_bcd_time(raw)
    if attr_id in (m.ATTR_TIME_REL, m.ATTR_TIME_STAMP_REL, m.ATTR_TIME_PD_SAMP, m.ATTR_TIME_PD_POLL):
        return struct.unpack_from(">I", raw, 0)[0]
    if attr_id in (m.ATTR_PT_NAME_FAMILY, m.ATTR_PT_NAME_GIVEN, m.ATTR_PT_ID):
        return decode_string(raw)
    return raw


def decode_string(raw: bytes) -> str:
    """IntelliVue String: u16 byte length + UTF-16BE text, NUL-terminated."""
    if len(raw) < 2:
        return ""
    n = struct.unpack_from(">H", raw, 0)[0]
    text = raw[2 : 2 + n]
    s = text[: len(text) // 2 * 2].decode("utf-16-be", errors="replace")
    return s.split("\x00", 1)[0]


def iter_attributes(raw: bytes, p: int, end: int) -> tuple[list[tuple[int, bytes]], int]:
    """An AttributeList at `p`: [(id, value)], stopping at the first one not complete before `end`."""
    if p + 4 > end:
        return [], end
    count, length = struct.unpack_from(">HH", raw, p)
    p += 4
    stop = min(end, p + length)
    out = []
    for _ in range(count):
        if p + 4 > stop:
            break
        aid, ln = struct.unpack_from(">HH", raw, p)
        if p + 4 + ln > stop:
            break
        out.append((aid, raw[p + 4 : p + 4 + ln]))
        p += 4 + ln
    return out, stop


@dataclass(slots=True)
class PollReply:
    poll_number: int
    sequence_no: int
    rel_time: int
    abs_time: bytes
    obj_code: int
    observations: list[tuple[int, int, list[tuple[int, bytes]]]]  # (context, handle, attributes)


def parse_poll_reply(body: bytes, extended: bool) -> PollReply | None:
    """PollMdibDataReply(Ext); tolerant of truncation (keeps every complete object)."""
    head = 24 if extended else 22
    if len(body) < head:
        return None
    if extended:
        poll_number, seq, rel = struct.unpack_from(">HHI", body, 0)
        p = 8
    else:
        poll_number, rel = struct.unpack_from(">HI", body, 0)
        seq, p = 0, 6
    abs_time = body[p : p + 8]
    _part, code, _grp = struct.unpack_from(">HHH", body, p + 8)
    p += 14
    end = len(body)
    obs: list[tuple[int, int, list[tuple[int, bytes]]]] = []
    if p + 4 <= end:
        n_ctx, ln = struct.unpack_from(">HH", body, p)
        p += 4
        lend = min(end, p + ln)
        for _ in range(n_ctx):
            if p + 6 > lend:
                break
            ctx, n_obs, ln2 = struct.unpack_from(">HHH", body, p)
            p += 6
            cend = min(lend, p + ln2)
            for _ in range(n_obs):
                if p + 6 > cend:
                    break
                handle = struct.unpack_from(">H", body, p)[0]
                attrs, p = iter_attributes(body, p + 2, cend)
                obs.append((ctx, handle, attrs))
            p = cend
    return PollReply(poll_number, seq, rel, abs_time, code, obs)


STATE_STATUS: tuple[tuple[int, Status], ...] = (
    (m.STATE_INVALID, Status.INVALID),
    (m.STATE_UNAVAILABLE, Status.UNAVAILABLE),
    (m.STATE_CALIBRATION_ONGOING, Status.CALIBRATING),
    (m.STATE_TEST_DATA, Status.TEST),
    (m.STATE_DEMO_DATA, Status.DEMO),
    (m.STATE_QUESTIONABLE, Status.QUESTIONABLE),
)
SPECIAL_STATUS = {"nan": Status.INVALID, "nres": Status.INVALID, "+inf": Status.OVER_RANGE, "-inf": Status.UNDER_RANGE}


def value_status(parameter: Parameter, obs: NuObs) -> tuple[float | None, Status]:
    """Value and status of a numeric: the state's high byte first, then FLOAT specials, units, range."""
    status = Status.OK
    for bit, st in STATE_STATUS:
        if obs.state & bit:
            status = st
            break
    fv = obs.value
    if fv.value is None:
        return None, status if status is not Status.OK else SPECIAL_STATUS.get(fv.special, Status.INVALID)
    if status in (Status.INVALID, Status.UNAVAILABLE, Status.CALIBRATING):
        return None, status
    value = fv.value
    pressure = parameter in (Parameter.NIBP_SYS, Parameter.NIBP_DIA, Parameter.NIBP_MEAN, Parameter.ETCO2)
    if pressure and obs.unit == m.NOM_DIM_KILO_PASCAL:
        value = round(value * MMHG_PER_KPA, 1)
    elif parameter is Parameter.ETCO2 and obs.unit == m.NOM_DIM_PERCENT:
        value = round(value * STANDARD_PRESSURE_MMHG / 100.0, 1)  # a % display: at standard pressure
    if not math.isfinite(value) or not is_plausible(parameter, value):
        return None, Status.IMPLAUSIBLE
    return value, status
