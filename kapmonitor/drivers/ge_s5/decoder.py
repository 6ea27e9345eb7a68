"""The GE S/5 byte-stream decoder: frames → records → vital samples and pleth chunks.

Pure (no I/O, no clock); one instance per stream, not thread-safe. Item times come from the
monitor: the subrecord time for displayed values, the record time for waveforms.

NIBP: the monitor repeats the displayed NIBP values in every record, so the decoder emits a
measurement only when it is new: when the (sys, dia, mean) shown changes to a valid value, or when
the auxiliary `nibp_time` changes in the same record (a repeat with identical values). Its time is
`nibp_time` when the monitor sent one for it, otherwise the record time at which it first
appeared. The value already shown when the stream starts is emitted once with `Status.OLD`.
"""

from __future__ import annotations

import logging
import struct
from typing import ClassVar

import numpy as np

from kapmonitor.drivers.base import Decoder
from kapmonitor.drivers.ge_s5 import protocol as p
from kapmonitor.model.parameters import Parameter, is_plausible
from kapmonitor.model.samples import DeviceNotice, Item, Source, Status, VitalSample, WaveChunk

log = logging.getLogger(__name__)

_SPECIAL: dict[int, Status] = {
    p.DATA_INVALID: Status.INVALID,
    p.DATA_NOT_UPDATED: Status.NOT_UPDATED,
    p.DATA_DISCONTINUITY: Status.DISCONTINUITY,
    p.DATA_UNDER_RANGE: Status.UNDER_RANGE,
    p.DATA_OVER_RANGE: Status.OVER_RANGE,
    p.DATA_NOT_CALIBRATED: Status.NOT_CALIBRATED,
}

_ECG = struct.Struct("<IHh")
_NIBP = struct.Struct("<IH4h")
_SPO2 = struct.Struct("<IH3h")
_CO2 = struct.Struct("<IH4h")
_I16 = struct.Struct("<h")
_ACTIVE = 0x1 | 0x2  # module exists and measures
STANDARD_PRESSURE_MMHG = 760.0
_U32 = struct.Struct("<I")
_U16 = struct.Struct("<H")
_WFHDR = struct.Struct("<hHH")

_TIME_MIN = 946_684_800  # 2000-01-01: earlier monitor times are not believable
_TIME_MAX = 4_102_444_800  # 2100-01-01
_WAVES: dict[int, Parameter] = {p.WF_PLETH: Parameter.PLETH}


def special_status(raw: int) -> Status | None:
    """The status a special value stands for, None for a real number."""
    if raw > p.SPECIAL_LIMIT:
        return None
    return _SPECIAL.get(raw, Status.INVALID)


class _Nibp:
    """Turns the NIBP group repeated in every record into one emission per measurement."""

    def __init__(self) -> None:
        self.started = False
        self.shown: tuple[int, int, int] | None = None
        self.measuring = False
        self.calibrating = False
        self.mode = -1
        self.aux_time = 0
        self.last_time = 0.0

    def update(self, t: float, status: int, label: int, raw: tuple[int, int, int, int], aux_changed: bool,
               source: Source) -> list[Item]:
        out: list[Item] = []
        mode = label & (p.NIBP_AUTO | p.NIBP_STAT) if status & p.STATUS_EXISTS else -1
        if mode != self.mode:
            self.mode = mode
            if mode >= 0:
                text = "STAT" if mode & p.NIBP_STAT else "AUTO" if mode & p.NIBP_AUTO else "manual"
                out.append(DeviceNotice(t, "nibp-mode", f"NIBP mode: {text}", {"label": label}))
        calibrating = bool(label & p.NIBP_CALIBRATING)
        if calibrating and not self.calibrating:
            out.append(VitalSample(t, Parameter.NIBP_SYS, None, Status.CALIBRATING, source))
        self.calibrating = calibrating
        measuring = bool(label & p.NIBP_MEASURING)
        if measuring and not self.measuring and self.started:
            out.append(VitalSample(t, Parameter.NIBP_SYS, None, Status.MEASURING, source))
        self.measuring = measuring
        triple = (raw[0], raw[1], raw[2])
        exists = bool(status & p.STATUS_EXISTS)
        valid = exists and all(v > p.SPECIAL_LIMIT for v in triple)
        if not self.started:
            self.started = True
            self.shown = triple
            if valid:
                when = float(self.aux_time) if self.aux_time else t
                out.extend(self._measurement(when, raw, Status.OLD, source))
                self.last_time = when
            if measuring:
                out.append(VitalSample(t, Parameter.NIBP_SYS, None, Status.MEASURING, source))
            return out
        if triple != self.shown:
            self.shown = triple
            if valid:
                when = float(self.aux_time) if self.last_time < self.aux_time <= t + 5 else t
                out.extend(self._measurement(when, raw, Status.OK, source))
                self.last_time = when
            else:  # the value went away (failed measurement, module removed): say why, once
                st = special_status(triple[0]) or (Status.UNAVAILABLE if not exists else Status.INVALID)
                out.append(VitalSample(t, Parameter.NIBP_SYS, None, st, source))
        elif aux_changed and valid and self.aux_time > self.last_time:
            when = float(self.aux_time)
            out.extend(self._measurement(when, raw, Status.OK, source))
            self.last_time = when
        return out

    @staticmethod
    def _measurement(when: float, raw: tuple[int, int, int, int], status: Status, source: Source) -> list[Item]:
        mid = f"ge-s5-{int(when)}-{raw[0]}-{raw[1]}-{raw[2]}"
        out: list[Item] = []
        for parameter, value, scale in (
            (Parameter.NIBP_SYS, raw[0], 100.0),
            (Parameter.NIBP_DIA, raw[1], 100.0),
            (Parameter.NIBP_MEAN, raw[2], 100.0),
            (Parameter.NIBP_PULSE, raw[3], 1.0),
        ):
            out.append(_sample(when, parameter, value, scale, True, source, status, mid))
        return out


def _sample(t: float, parameter: Parameter, raw: int, scale: float, exists: bool, source: Source,
            ok: Status = Status.OK, measurement_id: str | None = None) -> VitalSample:
    st = special_status(raw)
    if st is not None:
        return VitalSample(t, parameter, None, st, source, measurement_id)
    if not exists:
        return VitalSample(t, parameter, None, Status.UNAVAILABLE, source, measurement_id)
    value = raw / scale
    if not is_plausible(parameter, value):
        return VitalSample(t, parameter, None, Status.IMPLAUSIBLE, source, measurement_id)
    return VitalSample(t, parameter, value, ok, source, measurement_id)


class GeS5Decoder(Decoder):
    """Decoder for driver `ge-s5` (also used by `kapmonitor decode` and replay)."""

    name: ClassVar[str] = "ge-s5"

    def __init__(self, source: Source = Source.MONITOR, waves: bool = True) -> None:
        super().__init__()
        self.source = source
        self.waves = waves
        self.splitter = p.FrameSplitter(self.stats)
        self.records = 0
        self.echoes = 0  # request records received: never sent by a monitor
        self.first_time: float | None = None
        self.last_time: float | None = None
        self._nibp = _Nibp()
        self._hr_source: int | None = None
        self._wave_next: dict[int, float] = {}

    def feed(self, data: bytes, arrival_time: float) -> list[Item]:
        self.stats.bytes_in += len(data)
        out: list[Item] = []
        for record in self.splitter.feed(data):
            try:
                self._record(record, arrival_time, out)
            except struct.error:  # a subrecord that does not fit its record
                self.stats.length_errors += 1
        return out

    def finish(self) -> list[Item]:
        self.splitter.finish()
        return []

    def reset_stream(self) -> None:
        """A new connection starts mid-frame; keep the NIBP state so nothing is emitted twice."""
        self.splitter = p.FrameSplitter(self.stats)
        self._wave_next.clear()

    # -- records ---------------------------------------------------------------------------
    def _time(self, raw: int, arrival_time: float) -> float:
        t = float(raw) if _TIME_MIN <= raw <= _TIME_MAX else arrival_time
        if self.first_time is None or t < self.first_time:
            self.first_time = t
        if self.last_time is None or t > self.last_time:
            self.last_time = t
        return t

    def _record(self, record: bytes, arrival_time: float, out: list[Item]) -> None:
        hdr = p.parse_header(record)
        self.records += 1
        if hdr.r_maintype in (p.MT_PHDB, p.MT_WAVE) and all(typ == 0 for _, typ in hdr.subrecords):
            self.echoes += 1  # a request record: only the PC sends these (our own, echoed back?)
            return
        n = len(record)
        bounds: list[tuple[int, int, int]] = []
        subs = sorted(hdr.subrecords)
        bad = False
        for i, (off, typ) in enumerate(subs):
            start = p.HEADER_LEN + off
            end = p.HEADER_LEN + subs[i + 1][0] if i + 1 < len(subs) else n
            if off < 0 or start >= n or end > n or end <= start:
                bad = True
                continue
            bounds.append((start, end, typ))
        if bad:  # one count per damaged record, however many descriptors are wrong
            self.stats.length_errors += 1
        if hdr.r_maintype == p.MT_PHDB:
            self._phdb(record, hdr, bounds, arrival_time, out)
        elif hdr.r_maintype == p.MT_WAVE and self.waves:
            self._wave(record, hdr, bounds, arrival_time, out)

    def _phdb(self, record: bytes, hdr: p.Header, bounds: list[tuple[int, int, int]], arrival_time: float,
              out: list[Item]) -> None:
        aux_changed = False
        for start, end, typ in bounds:  # auxiliary info first: it dates the NIBP shown next to it
            if typ == p.PH_AUX_INFO and end - start >= 4:
                nibp_time = _U32.unpack_from(record, start)[0]
                if nibp_time and _TIME_MIN <= nibp_time <= _TIME_MAX and nibp_time != self._nibp.aux_time:
                    self._nibp.aux_time = nibp_time
                    aux_changed = True
        for start, end, typ in bounds:
            if typ != p.PH_DISPL or end - start < p.PHDB_SUBRECORD_LEN:
                continue
            cl = _U16.unpack_from(record, start + p.PHDB_SUBRECORD_LEN - 2)[0]
            if (cl >> 8) & 0xF != p.CLASS_BASIC:
                continue
            t = self._time(_U32.unpack_from(record, start)[0] or hdr.r_time, arrival_time)
            self._basic(record, start + 4, t, aux_changed, out)
            aux_changed = False

    def _basic(self, record: bytes, b: int, t: float, aux_changed: bool, out: list[Item]) -> None:
        src = self.source
        ecg_status, _, hr = _ECG.unpack_from(record, b + p.ECG_GROUP)
        hr_source = (ecg_status >> 3) & 0xF
        if hr_source != self._hr_source and ecg_status & p.STATUS_EXISTS:
            self._hr_source = hr_source
            name = p.HR_SOURCES.get(hr_source, f"source {hr_source}")
            out.append(DeviceNotice(t, "hr-source", f"heart rate source: {name}", {"source": hr_source}))
        out.append(_sample(t, Parameter.HR, hr, 1.0, bool(ecg_status & p.STATUS_EXISTS), src))
        sp_status, _, spo2, pr, _ = _SPO2.unpack_from(record, b + p.SPO2_GROUP)
        sp_exists = bool(sp_status & p.STATUS_EXISTS)
        out.append(_sample(t, Parameter.SPO2, spo2, 100.0, sp_exists, src))
        out.append(_sample(t, Parameter.PULSE_RATE, pr, 1.0, sp_exists, src))
        out.extend(self._respiration(record, b, t, bool(ecg_status & p.STATUS_EXISTS)))
        n_status, n_label, sys_, dia, mean, pulse = _NIBP.unpack_from(record, b + p.NIBP_GROUP)
        out.extend(self._nibp.update(t, n_status, n_label, (sys_, dia, mean, pulse), aux_changed, src))

    def _respiration(self, record: bytes, b: int, t: float, ecg_exists: bool) -> list[Item]:
        """EtCO2 and RR from the CO2 group while a CO2 module measures (EtCO2 = et % x ambient pressure),
        else RR from ECG impedance when it has a value; nothing when neither measures, so a monitor
        without respiration raises no "no value" alarm."""
        src = self.source
        out: list[Item] = []
        status, label, et, _fi, rr, amb = _CO2.unpack_from(record, b + p.CO2_GROUP)
        if status & _ACTIVE == _ACTIVE:
            st = special_status(et)
            if st is not None:
                out.append(VitalSample(t, Parameter.ETCO2, None, st, src))
            else:
                pressure = amb / 10.0 if special_status(amb) is None and amb > 0 else STANDARD_PRESSURE_MMHG
                out.append(_sample(t, Parameter.ETCO2, et, 1.0 / (pressure / 10_000.0), True, src))
            if label & p.CO2_RR_SOURCE_MASK:
                out.append(_sample(t, Parameter.RESP_RATE, rr, 1.0, True, src))
                return out
        (imp_rr,) = _I16.unpack_from(record, b + p.ECG_GROUP + p.ECG_IMP_RR)
        if ecg_exists and special_status(imp_rr) is None:
            out.append(_sample(t, Parameter.RESP_RATE, imp_rr, 1.0, True, src))
        return out

    def _wave(self, record: bytes, hdr: p.Header, bounds: list[tuple[int, int, int]], arrival_time: float,
              out: list[Item]) -> None:
        r_time = self._time(hdr.r_time, arrival_time)
        for start, end, typ in bounds:
            parameter = _WAVES.get(typ)
            if parameter is None or end - start < 6:
                continue
            act_len, status, _ = _WFHDR.unpack_from(record, start)
            count = min(act_len, (end - start - 6) // 2)
            if count <= 0:
                continue
            raw = np.frombuffer(record, dtype="<i2", count=count, offset=start + 6)
            values = raw.astype(np.float32) / np.float32(100.0)
            values[raw <= -32000] = np.nan
            rate = p.WF_RATES_HZ.get(typ, 100.0)
            fresh = r_time - count / rate
            nxt = self._wave_next.get(typ)
            t0 = nxt if nxt is not None and not status & p.WF_STATUS_GAP and abs(nxt - fresh) <= 2.0 else fresh
            self._wave_next[typ] = t0 + count / rate
            out.append(WaveChunk(t0, parameter, rate, values, self.source))
