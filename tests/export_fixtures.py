"""A realistic session database for the export tests, written by the real SessionRecorder.

`build_session` records a KAP session: 1-s HR / SpO2 / pulse rate, NIBP every 5 minutes (one
measurement id for its four values), an infusion with a pause, alarms with every state change,
limit changes, events (side effect, intervention, a free note, a deleted entry), MOAA/S every
15 min and a CADSS, music with file paths, discharge and audit rows. It also carries the
identifiers the de-identification test hunts for (`IDENTIFIERS`).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import LinkEvent, LinkState, Source, Status, VitalSample, WaveChunk
from kapmonitor.recording.recorder import SessionRecorder

PSEUDONYM = "KAP-0042-XYZ"
OFFSET_MIN = 60
START_LOCAL = dt.datetime(2026, 3, 14, 9, 0, 0, tzinfo=dt.timezone(dt.timedelta(minutes=OFFSET_MIN)))
T0 = START_LOCAL.timestamp()

# strings that must never appear in a de-identified export
IDENTIFIERS = (
    PSEUDONYM,
    "JQN",
    "MRX",
    "DRW",
    "Bartholomew",
    "Elm Street",
    "LOT-7781A",
    "drsmith",
    "ward3-pc",
    "ttyUSB0",
    "2026-03-14",
    "20260314",
    "14.03.2026",
    "03/14/2026",
    "Mar 14",
    "14 Mar",
    "feels nauseous",
    "nurse asked",
    "per physician",
    "nibp-1773",
    str(int(T0)),
)


@dataclass
class Built:
    path: Path
    t0: float
    infusion_start: float
    infusion_stop: float
    samples: int
    nibp_count: int
    peak_sys: float
    peak_dia: float
    baseline_sys: float
    raised: dict[str, int] = field(default_factory=dict)


def _nibp(minute: float, start_min: float, spike: bool) -> tuple[float, float]:
    rel = minute - start_min
    rise = 0.0
    if rel > 0:
        rise = min(rel / 40.0, 1.0) if rel <= 40 else math.exp(-(rel - 40) / 45.0)
    sys = 124.0 + 16.0 * rise
    dia = 80.0 + 10.0 * rise
    if spike:
        sys, dia = 184.0, 112.0
    return sys, dia


def build_session(
    path: Path,
    hours: float = 4.0,
    simulated: bool = False,
    wave_seconds: int = 0,
    offset_minutes: int | None = OFFSET_MIN,
    infusion: bool = True,
) -> Built:
    """Record a session into `path` with the real recorder; returns the facts to check."""
    meta: dict[str, object] = {
        "app_version": "0.1.0",
        "driver": "simulated" if simulated else "ge-s5",
        "port": "/dev/ttyUSB0",
        "simulated": "true" if simulated else "false",
        "hostname": "ward3-pc",
    }
    if offset_minutes is not None:
        meta["utc_offset_minutes"] = offset_minutes
    src = Source.SIMULATED if simulated else Source.MONITOR
    rng = np.random.default_rng(7)
    t0 = T0
    start = t0 + 15 * 60
    pause_at, resume_at = start + 20 * 60, start + 25 * 60
    stop = start + 45 * 60
    seconds = int(hours * 3600)
    rec = SessionRecorder(path, meta).start()
    try:
        # the keys kapmonitor.session writes (SessionSetup.to_info and the session's own facts)
        info = {
            "pseudonym": PSEUDONYM,
            "course_number": "2",
            "course_total": "3",
            "nurse_initials": "JQN",
            "therapist_initials": "MRX",
            "prescriber_initials": "DRW",
            "weight_kg": "72.5",
            "drug": "racemic-ketamine-iv",
            "lot": "LOT-7781A",
            "dose_mg_per_kg": "0.5",
            "concentration_mg_per_ml": "1.0",
            "duration_min": "40.0",
            "plan_total_mg": "36.25",
            "plan_volume_ml": "36.25",
            "plan_rate_ml_per_h": "54.375",
            "pump_rate_ml_per_h": "54.4",
            "observation_min": "60.0",
            "volume_infused_ml": "36.25",
            "consent": "1",
            "escort": "1",
            "dose_confirmed": "0",
            "simulated": "1" if simulated else "0",
            "concomitant": "benzodiazepines, lives at 12 Elm Street",
            "prestart_ok": "0",
            "prestart_message": "NIBP systolic 146 > 140: needs a physician's OK",
            "prestart_override_by": "DRW",
            "prestart_override_reason": "per physician Bartholomew, known white-coat effect",
            "created_at": repr(t0),
            "notes": "Bartholomew prefers the window",
        }
        for k, v in info.items():
            rec.insert("session_info", {"key": k, "value": v})
        # 1-s numerics
        batch: list[VitalSample] = []
        n_samples = 0
        for i in range(seconds):
            t = t0 + i + 0.25
            minute = i / 60.0
            rel = minute - 15.0
            rise = 0.0 if rel < 0 else (min(rel / 40, 1.0) if rel <= 40 else math.exp(-(rel - 40) / 45))
            hr = round(74 + 12 * rise + float(rng.normal(0, 1.5)))
            spo2 = 98.0 if not 100 * 60 <= i < 100 * 60 + 40 else 90.0
            if 30 * 60 <= i < 30 * 60 + 20:  # sensor off for 20 s
                batch.append(VitalSample(t, Parameter.SPO2, None, Status.SENSOR_OFF, src))
            else:
                batch.append(VitalSample(t, Parameter.SPO2, spo2, Status.OK, src))
            batch.append(VitalSample(t, Parameter.HR, float(hr), Status.OK, src))
            batch.append(VitalSample(t, Parameter.PULSE_RATE, float(hr + 1), Status.OK, src))
            n_samples += 3
            if len(batch) >= 3000:
                rec.on_items(batch)
                batch = []
        # NIBP every 5 min, the value appearing 30 s after the cuff starts
        nibp = 0
        peak_sys = peak_dia = 0.0
        baseline_sys = 0.0
        for k in range(int(seconds // 300)):
            tm = t0 + k * 300 + 30.5
            minute = (tm - t0) / 60
            sys, dia = _nibp(minute, 15.0, spike=(k == 11))
            mean = round((sys + 2 * dia) / 3)
            sys, dia = round(sys), round(dia)
            mid = f"nibp-{int(tm)}"
            for p, v in (
                (Parameter.NIBP_SYS, sys),
                (Parameter.NIBP_DIA, dia),
                (Parameter.NIBP_MEAN, mean),
                (Parameter.NIBP_PULSE, 80.0),
            ):
                batch.append(VitalSample(tm, p, float(v), Status.OK, src, mid))
            nibp += 1
            n_samples += 4
            if tm >= start:
                peak_sys, peak_dia = max(peak_sys, sys), max(peak_dia, dia)
            else:
                baseline_sys = sys
        # one manual re-check
        batch.append(VitalSample(t0 + 57 * 60, Parameter.NIBP_SYS, 176.0, Status.OK, Source.MANUAL, "manual-1"))
        n_samples += 1
        rec.on_items(batch)
        if wave_seconds:
            chunks = []
            for s in range(wave_seconds):
                vals = np.sin(np.linspace(0, 2 * np.pi, 100, endpoint=False)).astype(np.float32)
                if s == 3:
                    vals[10:20] = np.nan
                chunks.append(WaveChunk(t0 + s, Parameter.PLETH, 100.0, vals, src))
            rec.on_items(chunks)
        rec.on_items(
            [
                LinkEvent(t0 + 3 * 3600, LinkState.NO_DATA, "no data on /dev/ttyUSB0"),
                LinkEvent(t0 + 3 * 3600 + 12, LinkState.CONNECTED, "ge-s5 on /dev/ttyUSB0"),
            ]
        )
        if infusion:
            for t, action, reason, who in (
                (start, "start", None, "JQN"),
                (pause_at, "pause", "feels nauseous", "JQN"),
                (resume_at, "resume", None, "JQN"),
                (stop, "stop", None, "JQN"),
            ):
                rec.insert("infusion_events", {"t": t, "action": action, "reason": reason, "who": who})
        t_spike = t0 + 11 * 300 + 30.5
        alarms = [
            (
                t_spike,
                "nibp_sys.high",
                "nibp_sys",
                "physiological",
                "high",
                "raised",
                184.0,
                180.0,
                "Systolic BP very high: pause infusion / call physician",
                None,
            ),
            (
                t_spike + 20,
                "nibp_sys.high",
                "nibp_sys",
                "physiological",
                "high",
                "acknowledged",
                184.0,
                180.0,
                "Systolic BP very high: pause infusion / call physician",
                "JQN",
            ),
            (
                t_spike + 300,
                "nibp_sys.high",
                "nibp_sys",
                "physiological",
                "high",
                "cleared",
                138.0,
                180.0,
                "Systolic BP very high: pause infusion / call physician",
                None,
            ),
            (
                t0 + 100 * 60 + 15,
                "spo2.medium",
                "spo2",
                "physiological",
                "medium",
                "raised",
                90.0,
                92.0,
                "SpO2 low",
                None,
            ),
            (
                t0 + 100 * 60 + 40,
                "spo2.medium",
                "spo2",
                "physiological",
                "medium",
                "cleared",
                98.0,
                92.0,
                "SpO2 low",
                None,
            ),
            (
                t0 + 3 * 3600 + 10,
                "link_lost",
                None,
                "technical",
                "high",
                "raised",
                None,
                None,
                "No data from the monitor on /dev/ttyUSB0",
                None,
            ),
            (
                t0 + 3 * 3600 + 12,
                "link_lost",
                None,
                "technical",
                "high",
                "cleared",
                None,
                None,
                "No data from the monitor on /dev/ttyUSB0",
                None,
            ),
            (
                t0 + 3 * 3600 + 30,
                "nibp_overdue",
                "nibp_sys",
                "technical",
                "low",
                "raised",
                None,
                None,
                "NIBP overdue",
                None,
            ),
        ]
        for a in alarms:
            rec.insert(
                "alarm_log",
                dict(
                    zip(
                        (
                            "t",
                            "alarm_id",
                            "parameter",
                            "kind",
                            "priority",
                            "event",
                            "value",
                            "limit_value",
                            "message",
                            "who",
                        ),
                        a,
                        strict=True,
                    )
                ),
            )
        rec.insert(
            "limit_changes",
            {
                "t": t0 + 5 * 60,
                "parameter": "hr",
                "field": "high.above_or_equal",
                "old_value": "150",
                "new_value": "140",
                "who": "DRW",
                "reason": "per physician Bartholomew",
            },
        )
        events = [
            {"t": pause_at - 5, "category": "side_effect", "name": "nausea", "severity": "moderate", "who": "JQN"},
            {
                "t": pause_at + 60,
                "category": "intervention",
                "name": "ondansetron",
                "drug": "ondansetron",
                "dose": "4 mg",
                "route": "IV",
                "who": "JQN",
            },
            {"t": start + 30 * 60, "category": "side_effect", "name": "dissociation", "severity": "mild", "who": "MRX"},
            {
                "t": start + 35 * 60,
                "category": "note",
                "name": "note",
                "note": "Bartholomew asked for the window",
                "who": "JQN",
            },
            {
                "t": start + 36 * 60,
                "category": "side_effect",
                "name": "nurse asked about Elm Street",
                "severity": "mild",
                "who": "JQN",
            },
            {
                "t": start + 37 * 60,
                "category": "side_effect",
                "name": "headache",
                "severity": "mild",
                "who": "JQN",
                "deleted": 1,
            },
        ]
        for e in events:
            rec.insert("clinical_events", e)
        for k in range(int(hours * 4)):
            rec.insert(
                "scales", {"t": t0 + k * 900 + 60, "scale": "MOAA/S", "score": 5 if k < 3 or k > 6 else 4, "who": "JQN"}
            )
        rec.insert(
            "scales", {"t": stop - 120, "scale": "CADSS", "score": 23, "detail": "Bartholomew items", "who": "MRX"}
        )
        music = [
            (
                t0 + 14 * 60,
                "track_started",
                "pre-onset",
                "Slow Water",
                "Ambient One",
                "/home/drsmith/Music/slow.flac",
                0.0,
                -18.0,
            ),
            (
                start + 10 * 60,
                "track_started",
                "onset",
                "Rising Light",
                "Ambient Two",
                "/home/drsmith/Music/rise.flac",
                0.0,
                -18.0,
            ),
            (
                start + 20 * 60,
                "track_started",
                "onset",
                "Rising Light II",
                "Ambient Two",
                "/home/drsmith/Music/rise2.flac",
                0.0,
                -18.0,
            ),
            (start + 38 * 60, "phase", "peak", None, None, None, None, None),
            (
                start + 38 * 60,
                "track_started",
                "peak",
                "Open Sky",
                "Ambient Two",
                "/home/drsmith/Music/sky.flac",
                0.0,
                -17.0,
            ),
            (
                stop + 30 * 60,
                "track_started",
                "return",
                "Homecoming",
                "Ambient One",
                "/home/drsmith/Music/home.flac",
                0.0,
                -20.0,
            ),
            (
                stop + 90 * 60,
                "stop",
                "return",
                "Homecoming",
                "Ambient One",
                "/home/drsmith/Music/home.flac",
                312.5,
                -20.0,
            ),
        ]
        for m in music:
            rec.insert(
                "music_events",
                dict(zip(("t", "action", "phase", "track", "artist", "path", "position", "volume_db"), m, strict=True)),
            )
        checklist = {
            "observation_time": True,
            "vitals_near_baseline": True,
            "moaas_5": True,
            "walks_steadily": True,
            "no_nausea": True,
            "escort_present": True,
        }
        rec.insert("discharge", {"t": t0 + seconds - 60, "who": "JQN", "checklist": json.dumps(checklist)})
        rec.insert(
            "audit",
            {
                "t": start + 40 * 60,
                "who": "JQN",
                "action": "update",
                "table_name": "clinical_events",
                "row_id": 6,
                "before": "headache",
                "after": "deleted",
                "reason": "entered for Bartholomew",
            },
        )
        assert rec.flush(30.0)
    finally:
        rec.stop()
    return Built(
        path=path,
        t0=t0,
        infusion_start=start,
        infusion_stop=stop,
        samples=n_samples,
        nibp_count=nibp,
        peak_sys=184.0,
        peak_dia=112.0,
        baseline_sys=baseline_sys,
        raised={"high": 2, "medium": 1, "low": 1},
    )


# -- names planted in every text column (de-identification test and fault suite) ------------------
PLANTED_NAMES = ("Oberholzer", "Brunhilde", "Zimmermann", "Anna")


def plant_names(path: Path) -> int:
    """Every TEXT column of every table gets a name: appended to some rows, replacing others."""
    conn = sqlite3.connect(path)
    planted = 0
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})") if "TEXT" in (r[2] or "").upper()]
            for column in columns:
                if table in ("meta", "session_info") and column == "key":
                    continue  # keys name the facts; their values are planted below
                try:
                    cur = conn.execute(
                        f"UPDATE {table} SET {column} = CASE WHEN rowid % 2 = 0 "
                        f"THEN coalesce({column}, '') || ' per Dr Oberholzer' ELSE 'Safe place for Anna' END "
                        f"WHERE rowid % 7 IN (0, 1, 2)"
                    )
                except sqlite3.IntegrityError:
                    continue  # the schema itself refuses anything but its codes here (CHECK constraint)
                planted += cur.rowcount
        checklist = {
            "items": {
                "walking": {"label": "Walks with Brunhilde", "checked": True, "detail": "Anna Zimmermann"},
                "anna_zimmermann": {"label": "Anna", "checked": True},
            },
            "override_reason": "Dr Oberholzer agreed",
        }
        conn.execute("UPDATE discharge SET checklist = ?", (json.dumps(checklist),))
        conn.execute(
            "INSERT INTO clinical_events (t, category, name, severity, drug, dose, route, note, who) "
            "SELECT max(t), 'intervention', 'Zofran per Dr Oberholzer', 'mild', 'Zofran per Dr Oberholzer', "
            "'4 mg per Dr Oberholzer', 'IV via Brunhilde', 'Anna asked', 'Anna' FROM clinical_events"
        )
        conn.execute(
            "INSERT INTO music_events (t, action, phase, track, artist, path, position, volume_db, detail) "
            "SELECT max(t), 'track_started', 'Safe place for Anna', 'Safe place for Anna', 'Anna Zimmermann', "
            "'/home/anna/music.flac', 0, -12, 'Brunhilde' FROM music_events"
        )
        conn.commit()
    finally:
        conn.close()
    return planted


def output_texts(path: Path) -> list[str]:
    texts = [path.name]
    if path.suffix == ".pdf":
        for tool in (["pdftotext", str(path), "-"], ["pdfinfo", str(path)]):
            texts.append(subprocess.run(tool, capture_output=True, text=True, check=True).stdout)
    else:
        texts.append(path.read_bytes().decode("utf-8"))
    return texts
