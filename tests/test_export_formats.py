"""CSV, JSON and FHIR exports of a realistic 4-hour session: round trips against the database,
JSON Schema and FHIR validation, the manifest, and the source database left untouched."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from export_fixtures import PSEUDONYM, Built, build_session

from kapmonitor.export import ExportCancelled, ExportError, ExportOptions, run_export
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import Source, Status, VitalSample
from kapmonitor.recording.recorder import SessionRecorder
from kapmonitor.resources import resource_path

UNITS = {
    "hr": "/min",
    "pulse_rate": "/min",
    "spo2": "%",
    "nibp_sys": "mm[Hg]",
    "nibp_dia": "mm[Hg]",
    "nibp_mean": "mm[Hg]",
    "nibp_pulse": "/min",
}


def epoch(text: str) -> float:
    return dt.datetime.fromisoformat(text).timestamp()


def file_state(path: Path) -> tuple[str, int, list[str]]:
    siblings = sorted(p.name for p in path.parent.iterdir())
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns, siblings


@pytest.fixture(scope="module")
def session4h(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build_session(tmp_path_factory.mktemp("db") / "kap-session.db", hours=4.0)


@pytest.fixture(scope="module")
def exported(session4h: Built, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any, tuple]:
    before = file_state(session4h.path)
    out = tmp_path_factory.mktemp("out")
    result = run_export(session4h.path, out, ExportOptions(formats=("csv", "json", "fhir")))
    return out, result, before


def db_rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def opt(text: str) -> float | None:
    return None if text == "" else float(text)


def test_source_database_is_not_modified(session4h: Built, exported: tuple[Path, Any, tuple]) -> None:
    _, _, before = exported
    assert file_state(session4h.path) == before


def test_vitals_csv_round_trip(session4h: Built, exported: tuple[Path, Any, tuple]) -> None:
    out, result, _ = exported
    rows = read_csv(out / f"{result.base}_vitals.csv")
    db = db_rows(
        session4h.path, "SELECT t, parameter, value, status, source, measurement_id FROM samples ORDER BY t, rowid"
    )
    assert len(rows) == len(db) == session4h.samples
    assert list(rows[0]) == [
        "time",
        "session_minute",
        "parameter",
        "value",
        "unit",
        "source",
        "status",
        "measurement_id",
    ]
    for r, (t, p, v, st, src, mid) in zip(rows, db, strict=True):
        assert abs(epoch(r["time"]) - t) < 0.0006
        assert r["time"].endswith("+01:00")
        assert abs(float(r["session_minute"]) - (t - session4h.infusion_start) / 60) < 1e-4
        assert (r["parameter"], r["unit"], r["source"], r["status"]) == (p, UNITS[p], src, st)
        assert opt(r["value"]) == v
        assert (r["measurement_id"] or None) == mid
    invalid = [r for r in rows if r["status"] == "sensor-off"]
    assert len(invalid) == 20 and all(r["value"] == "" for r in invalid)
    assert any(r["source"] == "manual" for r in rows)


def test_table_csvs_round_trip(session4h: Built, exported: tuple[Path, Any, tuple]) -> None:
    out, result, _ = exported
    alarms = read_csv(out / f"{result.base}_alarms.csv")
    db = db_rows(
        session4h.path,
        "SELECT t, alarm_id, parameter, kind, priority, event, value, limit_value, message, who "
        "FROM alarm_log ORDER BY t, id",
    )
    assert len(alarms) == len(db) == 8
    for r, (t, aid, p, kind, pri, ev, v, lim, msg, who) in zip(alarms, db, strict=True):
        assert abs(epoch(r["time"]) - t) < 0.0006
        assert (r["alarm_id"], r["parameter"] or None, r["kind"], r["priority"], r["event"]) == (aid, p, kind, pri, ev)
        assert (opt(r["value"]), opt(r["limit"]), r["message"], r["who"] or None) == (v, lim, msg, who)
    events = read_csv(out / f"{result.base}_events.csv")
    db = db_rows(
        session4h.path,
        "SELECT t, category, name, severity, drug, dose, route, note, who FROM clinical_events "
        "WHERE deleted = 0 ORDER BY t, id",
    )
    assert len(events) == len(db) == 5  # the deleted entry is not exported
    for r, row in zip(events, db, strict=True):
        assert abs(epoch(r["time"]) - row[0]) < 0.0006
        keys = ("category", "name", "severity", "drug", "dose", "route", "note", "who")
        assert tuple(r[k] or None for k in keys) == row[1:]
    infusion = read_csv(out / f"{result.base}_infusion.csv")
    db = db_rows(session4h.path, "SELECT t, action, reason, who FROM infusion_events ORDER BY t, id")
    assert [(epoch(r["time"]), r["action"], r["reason"] or None, r["who"]) for r in infusion] == db
    scales = read_csv(out / f"{result.base}_scales.csv")
    db = db_rows(session4h.path, "SELECT t, scale, score FROM scales ORDER BY t, id")
    assert [(epoch(r["time"]), r["scale"], float(r["score"])) for r in scales] == db
    music = read_csv(out / f"{result.base}_music.csv")
    db = db_rows(
        session4h.path, "SELECT t, action, phase, track, artist, path, position, volume_db FROM music_events ORDER BY t"
    )
    assert len(music) == len(db) == 7
    assert [
        (
            epoch(r["time"]),
            r["action"],
            r["phase"],
            r["track"] or None,
            r["artist"] or None,
            r["path"] or None,
            opt(r["position"]),
            opt(r["volume_db"]),
        )
        for r in music
    ] == db
    limits = read_csv(out / f"{result.base}_limit_changes.csv")
    assert [(r["parameter"], r["new_value"], r["who"]) for r in limits] == [("hr", "140", "DRW")]
    session = {r["key"]: r["value"] for r in read_csv(out / f"{result.base}_session.csv")}
    assert session["pseudonym"] == PSEUDONYM and session["course_number"] == "2"
    assert session["phases.infusion_start"] == "2026-03-14T09:15:00.000+01:00"


def test_json_round_trip_and_schema(session4h: Built, exported: tuple[Path, Any, tuple]) -> None:
    out, result, _ = exported
    doc = json.loads((out / f"{result.base}.json").read_text(encoding="utf-8"))
    schema = json.loads(resource_path("session_export.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(doc)
    assert doc["schema_version"] == 1 and doc["simulated"] is False and "waves" not in doc
    s = doc["session"]
    assert (s["pseudonym"], s["course_number"], s["course_total"]) == (PSEUDONYM, 2, 3)
    assert s["staff"] == {"nurse": "JQN", "therapist": "MRX", "prescriber": "DRW"}
    assert (s["drug"], s["dose_mg_per_kg"], s["total_mg"], s["concentration_mg_per_ml"], s["rate_ml_per_h"]) == (
        "racemic-ketamine-iv",
        0.5,
        36.25,
        1.0,
        54.375,
    )
    assert s["drug_label"] == "Racemic ketamine IV" and s["pump_rate_ml_per_h"] == 54.4
    assert s["consent"] is True and s["escort"] is True and s["dose_confirmed"] is False
    assert s["prestart"]["ok"] is False and s["prestart"]["override_by"] == "DRW"
    assert s["info"]["prestart_override_reason"].startswith("per physician")
    assert epoch(s["phases"]["infusion_start"]) == session4h.infusion_start
    assert epoch(s["phases"]["infusion_stop"]) == session4h.infusion_stop
    assert [(epoch(p["start"]), epoch(p["end"]), p["reason"]) for p in s["pauses"]] == [
        (session4h.infusion_start + 1200, session4h.infusion_start + 1500, "feels nauseous")
    ]
    assert s["infusion_minutes"] == 40.0
    assert s["discharge"]["who"] == "JQN" and json.loads(s["discharge"]["checklist"])["escort_present"] is True
    db = db_rows(
        session4h.path, "SELECT t, parameter, value, status, source, measurement_id FROM samples ORDER BY t, rowid"
    )
    assert len(doc["samples"]) == len(db)
    for j, (t, p, v, st, src, mid) in zip(doc["samples"], db, strict=True):
        assert abs(epoch(j["time"]) - t) < 0.0006
        assert (j["parameter"], j["value"], j["status"], j["source"], j["measurement_id"], j["unit"]) == (
            p,
            v,
            st,
            src,
            mid,
            UNITS[p],
        )
    db = db_rows(
        session4h.path,
        "SELECT alarm_id, parameter, kind, priority, event, value, limit_value, message FROM alarm_log ORDER BY t, id",
    )
    keys = ("alarm_id", "parameter", "kind", "priority", "event", "value", "limit", "message")
    assert [tuple(a[k] for k in keys) for a in doc["alarms"]] == db
    assert [e["name"] for e in doc["events"]] == [
        "nausea",
        "ondansetron",
        "dissociation",
        "note",
        "nurse asked about Elm Street",
    ]
    assert len(doc["scales"]) == 17 and len(doc["music"]) == 7 and len(doc["link_events"]) == 2


def test_fhir_bundle_validates(session4h: Built, exported: tuple[Path, Any, tuple]) -> None:
    from fhir.resources.R4B.bundle import Bundle

    out, result, _ = exported
    data = json.loads((out / f"{result.base}_fhir.json").read_text(encoding="utf-8"))
    bundle = Bundle.model_validate(data)
    assert bundle.type == "collection"
    by_type: dict[str, list[dict[str, Any]]] = {}
    for entry in data["entry"]:
        by_type.setdefault(entry["resource"]["resourceType"], []).append(entry["resource"])
    (patient,) = by_type["Patient"]
    assert patient["identifier"] == [{"system": "urn:kapmonitor:pseudonym", "value": PSEUDONYM}]
    assert "name" not in patient and "birthDate" not in patient
    (encounter,) = by_type["Encounter"]
    assert encounter["status"] == "finished" and "2 of 3" in encounter["type"][0]["text"]
    observations = by_type["Observation"]
    bp = [o for o in observations if o["code"]["coding"][0]["code"] == "85354-9"]
    assert len(bp) == session4h.nibp_count + 1  # + the manual re-check
    spike = [o for o in bp if any(c["valueQuantity"]["value"] == 184.0 for c in o["component"])]
    assert len(spike) == 1
    codes = {c["code"]["coding"][0]["code"]: c["valueQuantity"] for c in spike[0]["component"]}
    assert codes["8480-6"] == {"value": 184.0, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}
    assert codes["8462-4"]["value"] == 112.0 and "8478-0" in codes
    hr = [o for o in observations if o["code"]["coding"][0]["code"] == "8867-4"]
    spo2 = [o for o in observations if o["code"]["coding"][0]["code"] == "59408-5"]
    assert len(hr) == 240 and len(spo2) == 240  # one per minute of 4 h
    assert {o["valueQuantity"]["code"] for o in hr} == {"/min"}
    assert {o["valueQuantity"]["code"] for o in spo2} == {"%"}
    assert min(o["valueQuantity"]["value"] for o in spo2) == 90.0
    meds = by_type["MedicationAdministration"]
    infusion = [m for m in meds if "effectivePeriod" in m]
    assert len(infusion) == 1
    assert epoch(infusion[0]["effectivePeriod"]["start"]) == session4h.infusion_start
    assert infusion[0]["status"] == "completed"
    assert infusion[0]["dosage"]["rateQuantity"]["code"] == "mL/h"
    assert any(m["medicationCodeableConcept"]["text"] == "ondansetron" for m in meds)


def test_manifest_hashes_every_file(exported: tuple[Path, Any, tuple]) -> None:
    out, result, _ = exported
    manifest = json.loads(result.manifest.read_text())
    names = {e["file"] for e in manifest["files"]}
    on_disk = {p.name for p in out.iterdir()}
    assert on_disk == names | {result.manifest.name, f"{result.base}_SHA256SUMS"}  # no staging leftovers
    for e in manifest["files"]:
        data = (out / e["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == e["sha256"] and len(data) == e["bytes"]
    sums = (out / f"{result.base}_SHA256SUMS").read_text().splitlines()
    assert sorted(sums) == sorted(f"{e['sha256']}  {e['file']}" for e in manifest["files"])


def test_tampering_is_detectable(exported: tuple[Path, Any, tuple], tmp_path: Path) -> None:
    out, result, _ = exported
    manifest = json.loads(result.manifest.read_text())
    entry = next(e for e in manifest["files"] if e["file"].endswith("_alarms.csv"))
    copy = tmp_path / "alarms.csv"
    copy.write_bytes((out / entry["file"]).read_bytes().replace(b"184.0", b"148.0"))
    assert hashlib.sha256(copy.read_bytes()).hexdigest() != entry["sha256"]


def test_empty_session_exports(tmp_path: Path) -> None:
    db = tmp_path / "empty.db"
    SessionRecorder(db, {"simulated": "false"}).start().stop()
    result = run_export(db, tmp_path / "out", ExportOptions(formats=("csv", "json", "fhir")))
    doc = json.loads((tmp_path / "out" / f"{result.base}.json").read_text())
    schema = json.loads(resource_path("session_export.schema.json").read_text())
    jsonschema.validate(doc, schema)
    assert doc["samples"] == [] and doc["session"]["phases"]["infusion_start"] is None
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(json.loads((tmp_path / "out" / f"{result.base}_fhir.json").read_text()))


def test_no_infusion_minutes_from_first_sample_and_local_offset(tmp_path: Path) -> None:
    built = build_session(tmp_path / "s.db", hours=0.25, offset_minutes=None, infusion=False)
    result = run_export(built.path, tmp_path / "out", ExportOptions(formats=("csv",)))
    rows = read_csv(tmp_path / "out" / f"{result.base}_vitals.csv")
    first = min(float(built.t0 + 0.25), built.t0 + 30.5)
    assert float(rows[0]["session_minute"]) == 0.0
    assert abs(epoch(rows[0]["time"]) - first) < 0.0006
    local = dt.datetime.fromtimestamp(first).astimezone().utcoffset()
    assert local is not None
    minutes = int(local.total_seconds() // 60)
    assert rows[0]["time"].endswith(f"{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}")


def test_waves_in_json_and_csv(tmp_path: Path) -> None:
    built = build_session(tmp_path / "w.db", hours=0.1, wave_seconds=5)
    result = run_export(built.path, tmp_path / "out", ExportOptions(formats=("csv", "json"), waves=True))
    doc = json.loads((tmp_path / "out" / f"{result.base}.json").read_text())
    jsonschema.validate(doc, json.loads(resource_path("session_export.schema.json").read_text()))
    # five consecutive 1-s chunks are recorded as one 5-s row (the record stores waves in rows of up to 5 s)
    assert len(doc["waves"]) == 1 and doc["waves"][0]["values"][310:320] == [None] * 10
    assert doc["waves"][0]["rate_hz"] == 100.0 and len(doc["waves"][0]["values"]) == 500
    rows = read_csv(tmp_path / "out" / f"{result.base}_waves.csv")
    assert len(rows) == 500 and rows[1]["parameter"] == "pleth"
    assert abs(epoch(rows[1]["time"]) - epoch(rows[0]["time"]) - 0.01) < 0.0006
    without = run_export(built.path, tmp_path / "out2", ExportOptions(formats=("json",)))
    assert "waves" not in json.loads((tmp_path / "out2" / f"{without.base}.json").read_text())


def test_snapshot_of_a_session_being_recorded(tmp_path: Path) -> None:
    """A live recorder keeps writing; every export sees whole transactions and the export works."""
    db = tmp_path / "live.db"
    rec = SessionRecorder(db, {"simulated": "true"}, commit_interval=0.01).start()
    stop = threading.Event()

    def write() -> None:
        t = 1_700_000_000.0
        while not stop.is_set():
            # one batch = one transaction: hr and pulse_rate always come in pairs
            rec.on_items(
                [
                    VitalSample(t, Parameter.HR, 70.0, Status.OK, Source.SIMULATED),
                    VitalSample(t, Parameter.PULSE_RATE, 70.0, Status.OK, Source.SIMULATED),
                ]
            )
            t += 1.0
            time.sleep(0.0005)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        time.sleep(0.2)
        counts = []
        for i in range(3):
            result = run_export(db, tmp_path / f"out{i}", ExportOptions(formats=("csv",)))
            rows = read_csv(tmp_path / f"out{i}" / f"{result.base}_vitals.csv")
            hr = [r["time"] for r in rows if r["parameter"] == "hr"]
            pr = [r["time"] for r in rows if r["parameter"] == "pulse_rate"]
            assert hr == pr and hr
            counts.append(len(hr))
            time.sleep(0.05)
        assert counts[-1] > counts[0]  # the recording went on between exports
    finally:
        stop.set()
        writer.join()
        rec.stop()
    assert rec.failure is None


def test_cancel_writes_nothing(session4h: Built, tmp_path: Path) -> None:
    cancel = threading.Event()
    out = tmp_path / "out"
    seen: list[str] = []

    def progress(fraction: float, message: str) -> None:
        seen.append(message)
        if fraction >= 0.3:
            cancel.set()

    with pytest.raises(ExportCancelled):
        run_export(session4h.path, out, ExportOptions(formats=("csv", "json", "fhir")), progress, cancel)
    assert "writing CSV" in seen
    assert list(out.iterdir()) == []


def test_conflict_in_output_folder_publishes_nothing(session4h: Built, tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "kap-session.json").mkdir(parents=True)
    with pytest.raises(ExportError, match="in the way"):
        run_export(session4h.path, out, ExportOptions(formats=("csv", "json")))
    assert [p.name for p in out.iterdir()] == ["kap-session.json"]


def test_rejects_unknown_paper_and_empty_format(session4h: Built, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="paper"):
        run_export(session4h.path, tmp_path, ExportOptions(paper="a3"))
    with pytest.raises(ExportError, match="no export format"):
        run_export(session4h.path, tmp_path, ExportOptions(formats=()))
    assert not any(tmp_path.iterdir())


def test_writes_are_owner_readable_files(exported: tuple[Path, Any, tuple]) -> None:
    out, _, _ = exported
    for p in out.iterdir():
        assert p.is_file() and os.access(p, os.R_OK)


def test_alarm_counts_are_episodes_at_their_highest_priority(tmp_path: Path) -> None:
    from kapmonitor.export.data import load_session
    from kapmonitor.export.snapshot import take_snapshot

    db = tmp_path / "alarms.db"
    rec = SessionRecorder(db, {}).start()
    rows = [
        (1.0, "hr.limit", "hr", "physiological", "medium", "raised"),
        (5.0, "hr.limit", "hr", "physiological", "high", "priority_changed"),
        (6.0, "audio", None, "system", "low", "audio_paused"),
        (9.0, "hr.limit", "hr", "physiological", "high", "acknowledged"),
        (12.0, "hr.limit", "hr", "physiological", "high", "cleared"),
        (20.0, "hr.limit", "hr", "physiological", "medium", "raised"),
        (25.0, "hr.limit", "hr", "physiological", "medium", "cleared"),
        (30.0, "link_lost", None, "technical", "high", "raised"),
    ]
    for t, aid, p, kind, pri, ev in rows:
        rec.insert("alarm_log", {"t": 1e9 + t, "alarm_id": aid, "parameter": p, "kind": kind, "priority": pri,
                                 "event": ev, "message": aid})  # fmt: skip
    rec.stop()
    conn = take_snapshot(db)
    data = load_session(conn)
    conn.close()
    assert data.alarm_counts() == {"high": 2, "medium": 1, "low": 0}
    doc_alarms = run_export(db, tmp_path / "o", ExportOptions(formats=("json",)))
    doc = json.loads((tmp_path / "o" / f"{doc_alarms.base}.json").read_text())
    jsonschema.validate(doc, json.loads(resource_path("session_export.schema.json").read_text()))
    assert [a["event"] for a in doc["alarms"]][:3] == ["raised", "priority_changed", "audio_paused"]


def test_non_finite_values_become_no_value(tmp_path: Path) -> None:
    db = tmp_path / "inf.db"
    rec = SessionRecorder(db, {}).start()
    rec.on_items([VitalSample(1.7e9, Parameter.HR, float("inf"), Status.OK, Source.MONITOR),
                  VitalSample(1.7e9 + 1, Parameter.HR, 70.0, Status.OK, Source.MONITOR)])  # fmt: skip
    rec.insert("alarm_log", {"t": 1.7e9, "alarm_id": "x", "kind": "technical", "priority": "high",
                             "event": "raised", "value": float("-inf"), "message": "odd"})  # fmt: skip
    rec.stop()
    result = run_export(db, tmp_path / "o", ExportOptions(formats=("csv", "json", "fhir")))
    doc = json.loads((tmp_path / "o" / f"{result.base}.json").read_text())
    assert [s["value"] for s in doc["samples"]] == [None, 70.0]
    assert doc["alarms"][0]["value"] is None
