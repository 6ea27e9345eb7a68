"""The session record as the exporters see it, read once from a snapshot.

`load_session` reads every table in bulk (one `fetchall` per table) and derives the facts every
format needs: the infusion window and pauses, the time zone offset, the session-minute origin,
baseline and peak vitals, alarm counts. The exporters only format what is here, so CSV, JSON, PDF
and FHIR always agree.

Session set-up facts live as key/value rows in `session_info`; kapmonitor.session.facts names the keys
we understand (several spellings accepted) so a renamed key degrades to "not recorded", never a crash.

Thread-safety: a `SessionData` is never modified after it is built; share it freely.
"""

from __future__ import annotations

import datetime as dt
import logging
import operator
import sqlite3
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

import numpy as np
import numpy.typing as npt

from kapmonitor.model.nibp import NibpMeasurement, group_nibp, nibp_samples
from kapmonitor.model.parameters import NIBP_PARAMETERS, PARAMETER_INFO, Parameter
from kapmonitor.recording.reader import RecordReader
from kapmonitor.session import figures
from kapmonitor.session.facts import DRUG_LABELS, as_bool, normalise_info
from kapmonitor.session.figures import DoseGiven, InfusionFigures
from kapmonitor.session.figures import Vitals as Vitals  # the report formats these

log = logging.getLogger(__name__)

Row = dict[str, Any]

def unit_of(parameter: str) -> str:
    """UCUM unit of a parameter id ('' for an id this version does not know)."""
    try:
        return PARAMETER_INFO[Parameter(parameter)].unit
    except ValueError:
        return ""


@dataclass(frozen=True)
class Samples:
    """All vital samples, sorted by time, as parallel columns (fast to format and to plot)."""

    t: npt.NDArray[np.float64]
    parameter: list[str]
    value: list[float | None]
    status: list[str]
    source: list[str]
    measurement_id: list[str | None]
    _param: npt.NDArray[np.int32] = field(init=False, repr=False)  # index into _names
    _names: dict[str, int] = field(init=False, repr=False)
    _value: npt.NDArray[np.float64] = field(init=False, repr=False)
    _ok: npt.NDArray[np.bool_] = field(init=False, repr=False)
    _cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # numpy views of the columns for fast per-parameter selection; a parameter as a small code
        # (an array of 43,000 texts costs more to build than all the selections made on it)
        n = len(self.parameter)
        names = {p: i for i, p in enumerate(dict.fromkeys(self.parameter))}
        param = np.fromiter(map(names.__getitem__, self.parameter), dtype=np.int32, count=n)
        value = np.array([np.nan if v is None else v for v in self.value], dtype=np.float64)
        ok = np.fromiter(map(operator.eq, self.status, repeat("ok")), dtype=bool, count=len(self.status))
        ok &= ~np.isnan(value)
        object.__setattr__(self, "_names", names)
        object.__setattr__(self, "_param", param)
        object.__setattr__(self, "_value", value)
        object.__setattr__(self, "_ok", ok)

    def __len__(self) -> int:
        return len(self.parameter)

    def series(
        self, parameter: str, valid_only: bool = True, manual: bool | None = None
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """(times, values) of one parameter; invalid samples left out when `valid_only` (NaN otherwise).

        `manual` True/False keeps only manually entered / only device values; None keeps both.
        """
        if not len(self.parameter):
            return np.empty(0), np.empty(0)
        sel = self._param == self._names.get(parameter, -1)
        if valid_only:
            sel &= self._ok
        if manual is not None:
            if "manual" not in self._cache:
                self._cache["manual"] = np.asarray(self.source, dtype=str) == "manual"
            is_manual = self._cache["manual"]
            sel &= is_manual if manual else ~is_manual
        return self.t[sel], self._value[sel]

    def nibp(self) -> list[NibpMeasurement]:
        """The cuff readings (model.nibp), grouped once from the NIBP rows alone and shared by the
        FHIR bundle and the report's chart (each used to convert every sample of the record)."""
        if "nibp" not in self._cache:
            codes = [self._names[p.value] for p in NIBP_PARAMETERS if p.value in self._names]
            rows = np.flatnonzero(np.isin(self._param, codes)).tolist()
            t = self.t[rows].tolist()
            self._cache["nibp"] = group_nibp(nibp_samples(
                t, [self.parameter[i] for i in rows], [self.value[i] for i in rows], [self.status[i] for i in rows],
                [self.source[i] for i in rows], [self.measurement_id[i] for i in rows]))  # fmt: skip
        readings: list[NibpMeasurement] = self._cache["nibp"]
        return list(readings)


@dataclass(frozen=True)
class Pause:
    start: float
    end: float | None
    reason: str | None


@dataclass(frozen=True)
class SessionData:
    """Everything an export shows. Times are float seconds since the Unix epoch (UTC)."""

    meta: dict[str, str]
    info: dict[str, str | None]  # raw session_info rows
    fields: dict[str, Any]  # normalised session facts (see INFO_ALIASES)
    samples: Samples
    waves: list[Row]
    alarms: list[Row]
    limit_changes: list[Row]
    infusion: list[Row]
    events: list[Row]
    scales: list[Row]
    discharge: list[Row]
    music: list[Row]
    link_events: list[Row]
    audit: list[Row]
    utc_offset_minutes: int
    simulated: bool
    origin: float  # session_minute 0
    infusion_start: float | None
    infusion_stop: float | None
    pauses: list[Pause]
    first_time: float | None
    last_time: float | None
    deidentified: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def minute(self, t: float) -> float:
        return (t - self.origin) / 60.0

    def minutes(self, t: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return (t - self.origin) / 60.0

    @property
    def tz(self) -> dt.timezone:
        return dt.timezone(dt.timedelta(minutes=self.utc_offset_minutes))

    def local(self, t: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(t, self.tz)

    # -- figures for the report -----------------------------------------------------------------
    def baseline(self) -> dict[str, Vitals]:
        """Pre-infusion baseline (see figures.baseline)."""
        return figures.baseline(self.samples.series, self.infusion_start)

    def peaks(self) -> dict[str, Vitals]:
        """Highest BP and HR, lowest SpO2, from the infusion start (or the first sample) on (see figures.peaks)."""
        return figures.peaks(self.samples.series, self.infusion_start)

    def alarm_counts(self) -> dict[str, int]:
        """Alarms by priority, one per episode at the highest priority it reached (see figures)."""
        return figures.alarm_counts(self.alarms)

    def drug_label(self) -> str | None:
        drug = self.fields.get("drug")
        return None if drug is None else DRUG_LABELS.get(str(drug), str(drug))

    def infusion_figures(self) -> InfusionFigures:
        """Start, stop, pauses and infusing time; a record closed mid-infusion counts to its last entry."""
        return figures.infusion_figures(
            ((float(e["t"]), str(e["action"]), e.get("reason")) for e in self.infusion), self.last_time
        )

    def infusion_minutes(self) -> float | None:
        """Infusion time without pauses, in minutes."""
        seconds = self.infusion_figures().infusing_s
        return None if seconds is None else seconds / 60.0

    def dose_given(self) -> DoseGiven | None:
        """The dose actually given (confirmed pump volume, else computed), against the plan."""
        return figures.dose_given(self.fields)


# -- reading -------------------------------------------------------------------------------------


def _utc_offset(meta: dict[str, str], first: float | None) -> int:
    raw = meta.get("utc_offset_minutes")
    if raw is not None:
        try:
            minutes = int(float(raw))
            if -16 * 60 <= minutes <= 16 * 60:
                return minutes
        except ValueError:
            pass
        log.warning("meta utc_offset_minutes=%r is not usable; using this machine's offset", raw)
    when = first if first is not None else dt.datetime.now().timestamp()
    offset = dt.datetime.fromtimestamp(when).astimezone().utcoffset()
    return int(offset.total_seconds() // 60) if offset is not None else 0


def load_session(conn: sqlite3.Connection, waves: bool = False) -> SessionData:
    """Read a snapshot into a SessionData. Tolerates empty and missing tables."""
    reader = RecordReader(conn)  # the snapshot connection stays the caller's
    meta = reader.meta()
    info = reader.session_info()
    cols = reader.sample_columns()
    src_col = cols.source
    samples = Samples(np.asarray(cols.t, dtype=np.float64), cols.parameter, cols.value, cols.status, cols.source,
                      cols.measurement_id)
    wave_rows = reader.rows("waves", "parameter, t0") if waves else []
    alarms = reader.rows("alarm_log", "t, id")
    infusion = reader.rows("infusion_events", "t, id")
    events = [e for e in reader.rows("clinical_events", "t, id") if not e.get("deleted")]
    scales = reader.rows("scales", "t, id")
    discharge = reader.rows("discharge", "t, id")
    music = reader.rows("music_events", "t, id")
    limit_changes = reader.rows("limit_changes")
    link_events = reader.rows("link_events")
    audit = reader.rows("audit", "t, id")

    times = [float(samples.t[0]), float(samples.t[-1])] if len(samples) else []
    for group in (alarms, infusion, events, scales, discharge, music):
        if group:
            times += [float(group[0]["t"]), float(group[-1]["t"])]
    first = min(times) if times else None
    last = max(times) if times else None
    fig = figures.infusion_figures(((float(e["t"]), str(e["action"]), e.get("reason")) for e in infusion), last)
    start, stop = fig.start, fig.stop
    pauses = [Pause(p0, p1, r) for p0, p1, r in fig.pauses]
    if start is not None:
        origin = start
    elif len(samples):
        origin = float(samples.t[0])
    else:
        origin = first if first is not None else 0.0
    return SessionData(
        meta=meta,
        info=info,
        fields=normalise_info(info),
        samples=samples,
        waves=wave_rows,
        alarms=alarms,
        limit_changes=limit_changes,
        infusion=infusion,
        events=events,
        scales=scales,
        discharge=discharge,
        music=music,
        link_events=link_events,
        audit=audit,
        utc_offset_minutes=_utc_offset(meta, first),
        simulated=as_bool(meta.get("simulated"))
        or as_bool(info.get("simulated"))
        or (bool(src_col) and "simulated" in set(src_col)),
        origin=origin,
        infusion_start=start,
        infusion_stop=stop,
        pauses=pauses,
        first_time=first,
        last_time=last,
    )
