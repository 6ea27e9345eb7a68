"""The session record as flat tables: the one shape CSV, JSON and the PDF tables share.

Every table is a list of column names and a list of rows (tuples) in that order; times are ISO 8601
strings with the session's offset and `session_minute` is minutes since the infusion start (or
the first sample). Building these once keeps every format in agreement.

Thread-safety: pure functions of an immutable SessionData.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from kapmonitor.export.data import Row, SessionData, unit_of
from kapmonitor.export.timefmt import iso_many, minutes_many


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]

    def records(self) -> list[dict[str, Any]]:
        cols = self.columns
        return [dict(zip(cols, r, strict=True)) for r in self.rows]


VITALS_COLUMNS = ("time", "session_minute", "parameter", "value", "unit", "source", "status", "measurement_id")
ALARM_COLUMNS = (
    "time",
    "session_minute",
    "alarm_id",
    "parameter",
    "kind",
    "priority",
    "event",
    "value",
    "limit",
    "message",
    "who",
)
EVENT_COLUMNS = ("time", "session_minute", "category", "name", "severity", "drug", "dose", "route", "note", "who")
SCALE_COLUMNS = ("time", "session_minute", "scale", "score", "detail", "who")
INFUSION_COLUMNS = ("time", "session_minute", "action", "reason", "who")
MUSIC_COLUMNS = (
    "time",
    "session_minute",
    "action",
    "phase",
    "track",
    "artist",
    "path",
    "position",
    "volume_db",
    "detail",
)
LIMIT_COLUMNS = ("time", "session_minute", "parameter", "field", "old_value", "new_value", "who", "reason")
LINK_COLUMNS = ("time", "session_minute", "state", "detail")
DISCHARGE_COLUMNS = ("time", "session_minute", "who", "checklist")
WAVE_COLUMNS = ("time", "session_minute", "parameter", "rate_hz", "value", "source")

# output column -> database column where they differ
_RENAMES = {"limit": "limit_value"}


def _times(data: SessionData, rows: list[Row], key: str = "t") -> tuple[list[str], list[float]]:
    t = np.array([float(r[key]) for r in rows], dtype=np.float64)
    return iso_many(t, data.utc_offset_minutes), minutes_many(t, data.origin)


def _table(data: SessionData, name: str, columns: tuple[str, ...], rows: list[Row]) -> Table:
    times, minutes = _times(data, rows)
    rest = [_RENAMES.get(c, c) for c in columns[2:]]
    out = [(times[i], minutes[i], *(r.get(c) for c in rest)) for i, r in enumerate(rows)]
    return Table(name, columns, out)


def vitals(data: SessionData) -> Table:
    s = data.samples
    times = iso_many(s.t, data.utc_offset_minutes)
    minutes = minutes_many(s.t, data.origin)
    units = {p: unit_of(p) for p in set(s.parameter)}
    rows = list(
        zip(
            times,
            minutes,
            s.parameter,
            s.value,
            [units[p] for p in s.parameter],
            s.source,
            s.status,
            s.measurement_id,
            strict=True,
        )
    )
    return Table("vitals", VITALS_COLUMNS, rows)


def alarms(data: SessionData) -> Table:
    return _table(data, "alarms", ALARM_COLUMNS, data.alarms)


def events(data: SessionData) -> Table:
    return _table(data, "events", EVENT_COLUMNS, data.events)


def scales(data: SessionData) -> Table:
    return _table(data, "scales", SCALE_COLUMNS, data.scales)


def infusion(data: SessionData) -> Table:
    return _table(data, "infusion", INFUSION_COLUMNS, data.infusion)


def music(data: SessionData) -> Table:
    return _table(data, "music", MUSIC_COLUMNS, data.music)


def limit_changes(data: SessionData) -> Table:
    return _table(data, "limit_changes", LIMIT_COLUMNS, data.limit_changes)


def link_events(data: SessionData) -> Table:
    return _table(data, "link_events", LINK_COLUMNS, data.link_events)


def discharge(data: SessionData) -> Table:
    return _table(data, "discharge", DISCHARGE_COLUMNS, data.discharge)


def wave_chunks(data: SessionData) -> list[dict[str, Any]]:
    """Waveform chunks for JSON: values as a list, NaN (no valid value) as null."""
    out = []
    times, minutes = _times(data, data.waves, "t0")
    for i, w in enumerate(data.waves):
        rounded = np.round(np.frombuffer(w["data"], dtype="<f4").astype(np.float64), 6)
        listed: list[float | None] = rounded.tolist()
        for k in np.flatnonzero(np.isnan(rounded)).tolist():  # numpy finds them: no Python test per sample
            listed[k] = None
        out.append(
            {
                "time": times[i],
                "session_minute": minutes[i],
                "parameter": w["parameter"],
                "rate_hz": w["rate_hz"],
                "source": w["source"],
                "values": listed,
            }
        )
    return out


def wave_table(data: SessionData) -> Table:
    """Waveforms in long format, one row per sample (only exported with --waves); built in bulk."""
    if not data.waves:
        return Table("waves", WAVE_COLUMNS, [])
    chunks = [np.frombuffer(w["data"], dtype="<f4").astype(np.float64) for w in data.waves]
    lengths = [len(c) for c in chunks]
    values = np.concatenate(chunks)
    t = np.concatenate(
        [float(w["t0"]) + np.arange(n) / float(w["rate_hz"]) for w, n in zip(data.waves, lengths, strict=True)]
    )
    times = iso_many(t, data.utc_offset_minutes)
    minutes = minutes_many(t, data.origin)
    rounded = np.round(values, 6)
    vals: list[float | None] = rounded.tolist()
    for i in np.flatnonzero(np.isnan(values)).tolist():
        vals[i] = None
    params: list[str] = []
    rates: list[float] = []
    sources: list[str] = []
    for w, n in zip(data.waves, lengths, strict=True):
        params += [w["parameter"]] * n
        rates += [w["rate_hz"]] * n
        sources += [w["source"]] * n
    rows = list(zip(times, minutes, params, rates, vals, sources, strict=True))
    return Table("waves", WAVE_COLUMNS, rows)


def _dose_given(data: SessionData) -> dict[str, Any] | None:
    """The dose actually given, as the PDF and the course view show it (session.figures)."""
    d = data.dose_given()
    if d is None:
        return None
    return {
        "volume_ml": d.volume_ml,
        "confirmed": d.confirmed,
        "mg": None if d.mg is None else round(d.mg, 3),
        "mg_per_kg": None if d.mg_per_kg is None else round(d.mg_per_kg, 4),
        "deviation_from_plan": None if d.deviation is None else round(d.deviation, 4),
        "flagged": d.flagged,
    }


def session_facts(data: SessionData) -> dict[str, Any]:
    """The `session` object of the JSON export (and the key/value CSV)."""
    f = data.fields
    off = data.utc_offset_minutes

    def t(x: float | None) -> str | None:
        return None if x is None else iso_many(np.array([x]), off)[0]

    date = data.local(data.first_time).date().isoformat() if data.first_time is not None else None
    last_discharge = data.discharge[-1] if data.discharge else None
    return {
        "pseudonym": f.get("pseudonym"),
        "date": date,
        "course_number": f.get("course_number"),
        "course_total": f.get("course_total"),
        "staff": {k: f.get(k) for k in ("nurse", "therapist", "prescriber")},
        "weight_kg": f.get("weight_kg"),
        "drug": f.get("drug"),
        "drug_label": data.drug_label(),
        "lot": f.get("lot"),
        "dose_mg_per_kg": f.get("dose_mg_per_kg"),
        "dose_confirmed": f.get("dose_confirmed"),
        "total_mg": f.get("total_mg"),
        "concentration_mg_per_ml": f.get("concentration_mg_per_ml"),
        "volume_ml": f.get("volume_ml"),
        "rate_ml_per_h": f.get("rate_ml_per_h"),
        "pump_rate_ml_per_h": f.get("pump_rate_ml_per_h"),
        "duration_min": f.get("duration_min"),
        "volume_infused_ml": f.get("volume_infused_ml"),
        "volume_confirmed": f.get("volume_confirmed"),
        "volume_computed_ml": f.get("volume_computed_ml"),
        "dose_given": _dose_given(data),
        "alarms_by_priority": data.alarm_counts(),
        "observation_min": f.get("observation_min"),
        "consent": f.get("consent"),
        "escort": f.get("escort"),
        "medication_flags": f.get("medication_flags"),
        "prestart": {
            "ok": f.get("prestart_ok"),
            "message": f.get("prestart_message"),
            "override_by": f.get("prestart_override_by"),
            "override_reason": f.get("prestart_override_reason"),
        },
        "utc_offset_minutes": off,
        "simulated": data.simulated,
        "deidentified": data.deidentified,
        "phases": {
            "first_record": t(data.first_time),
            "infusion_start": t(data.infusion_start),
            "infusion_stop": t(data.infusion_stop),
            # earliest discharge: the end of the minimum observation after the infusion
            "observation_end": t(
                None
                if data.infusion_stop is None or not isinstance(f.get("observation_min"), int | float)
                else data.infusion_stop + float(f["observation_min"]) * 60.0
            ),
            "last_record": t(data.last_time),
            "discharge": t(None if last_discharge is None else float(last_discharge["t"])),
        },
        "infusion_minutes": None if data.infusion_minutes() is None else round(data.infusion_minutes() or 0.0, 2),
        "pauses": [
            {
                "start": t(p.start),
                "end": t(p.end),
                "reason": p.reason,
                "minutes": None if p.end is None else round((p.end - p.start) / 60.0, 2),
            }
            for p in data.pauses
        ],
        "discharge": None
        if last_discharge is None
        else {
            "time": t(float(last_discharge["t"])),
            "who": last_discharge.get("who"),
            "checklist": last_discharge.get("checklist"),
        },
        "info": dict(data.info),
    }
