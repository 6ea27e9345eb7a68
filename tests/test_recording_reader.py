"""The one reader of the session record (recording/reader.py): typed rows from a real record written
by the real recorder and nurse session, read-only access, and refusal of anything but the schema's
tables and columns."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from kapmonitor.alarms.engine import AlarmEngine
from kapmonitor.alarms.log import AlarmLogWriter
from kapmonitor.alarms.profile import default_profile
from kapmonitor.model.clock import ManualClock
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import LinkEvent, LinkState, Source, Status, VitalSample
from kapmonitor.recording import reader as record_reader
from kapmonitor.recording.database import SessionDatabaseError
from kapmonitor.recording.reader import RecordReader
from kapmonitor.recording.recorder import SessionRecorder
from kapmonitor.session import NurseSession, demo_setup, figures
from kapmonitor.session.storage import new_session_path

T0 = 1_700_000_000.0
TICKED = {k: True for k in ("min_observation", "vitals_baseline", "moaas_5", "walking", "no_nausea_dizziness",
                            "escort")}


def record(folder: Path) -> tuple[Path, float]:
    """A whole session: NIBP before and during the infusion, a high BP alarm, a side effect (then
    removed), a scale, a stop with the pump volume, a discharge. Returns its path and last time."""
    clock = ManualClock(T0)
    path = new_session_path("KAP-READ", T0, folder)
    rec = SessionRecorder(path).start()
    rec.set_meta("created_at", T0 - 5)  # as the pipeline does
    rec.set_meta("simulated", "0")
    rec.on_items([LinkEvent(T0 - 1, LinkState.CONNECTED, "monitor found")])
    session = NurseSession(rec, demo_setup().with_changes(pseudonym="KAP-READ", simulated=False), clock, path=path)
    engine = AlarmEngine(default_profile(), clock)
    engine.add_listener(AlarmLogWriter(rec))

    def feed(*items: VitalSample) -> None:
        rec.on_items(items)
        engine.on_items(items)
        session.on_items(items)

    def nibp(s: float, d: float) -> None:
        t = clock.now()
        feed(VitalSample(t, Parameter.NIBP_SYS, s, measurement_id=f"m{t}"),
             VitalSample(t, Parameter.NIBP_DIA, d, measurement_id=f"m{t}"))

    nibp(124, 78)
    clock.advance(60)
    feed(VitalSample(clock.now(), Parameter.HR, 80.0), VitalSample(clock.now(), Parameter.SPO2, float("nan"),
                                                                   Status.SENSOR_OFF))
    session.start_infusion(who="JQ")
    clock.advance(600)
    nibp(188, 96)  # a high alarm
    effect = session.add_side_effect("nausea", "mild", who="JQ")
    session.delete_event(effect.id, who="JQ", reason="entered for the wrong patient")
    session.record_scale("moaas", 4, who="JQ")
    clock.advance(2400)
    nibp(130, 80)
    session.stop_infusion(volume_ml=3.5, who="JQ")
    clock.advance(3600)
    session.discharge("JQ", TICKED)
    last = clock.now()
    rec.stop()
    return path, last


def test_typed_rows_of_a_real_record(tmp_path: Path) -> None:
    path, last = record(tmp_path)
    with RecordReader.open(path) as r:
        vitals = r.vitals()
        assert [(v.parameter, v.value) for v in vitals if v.parameter is Parameter.NIBP_SYS] == [
            (Parameter.NIBP_SYS, 124.0), (Parameter.NIBP_SYS, 188.0), (Parameter.NIBP_SYS, 130.0)]
        off = next(v for v in vitals if v.parameter is Parameter.SPO2)
        assert off.status is Status.SENSOR_OFF and off.value is None and off.source is Source.MONITOR
        assert [t for t, _ in r.series(Parameter.NIBP_SYS)] == [T0, T0 + 660, T0 + 3060]
        assert r.series("spo2") == []  # the sensor-off value is not a valid one

        actions = [e.action for e in r.infusion_events()]
        assert actions[0] == "start" and "stop" in actions and r.infusion_events()[0].who == "JQ"
        assert r.last_infusion_time() == r.infusion_events()[-1].t == last
        (event,) = r.clinical_events()
        assert (event.category, event.name, event.severity, event.deleted) == ("side_effect", "nausea", "mild", True)
        (scale,) = r.scales()
        assert (scale.scale, scale.score, scale.who) == ("moaas", 4.0, "JQ")
        (dis,) = r.discharges()
        assert dis.who == "JQ" and dis.t == last and json.loads(dis.checklist)["items"]
        assert any(a.action == "delete" and a.table_name == "clinical_events" and a.row_id == event.id
                   and a.reason == "entered for the wrong patient" for a in r.audit())
        raised = {a.alarm_id: a for a in r.alarm_log() if a.event == "raised"}
        assert raised["nibp_sys.upper"].priority == "high" and raised["nibp_sys.upper"].kind == "physiological"
        assert raised["spo2.invalid"].kind == "technical"  # the sensor-off value
        assert figures.alarm_counts(a.as_row() for a in r.alarm_log())["high"] >= 1

        assert r.link_events() == [LinkEvent(T0 - 1, LinkState.CONNECTED, "monitor found")]
        assert r.session_info()["pseudonym"] == "KAP-READ" and r.meta_value("created_at") is not None
        assert r.meta_value("no such key") is None
        assert r.record_end() == last
        assert r.quick_check() == ["ok"] and r.schema_version() >= 1
        cols = r.sample_columns()
        assert len(cols.t) == len(vitals) and cols.parameter[0] == "nibp_sys" and None in cols.value


def test_the_reader_changes_nothing_and_leaves_nothing_beside_a_closed_record(tmp_path: Path) -> None:
    path, _ = record(tmp_path)
    before = path.read_bytes()
    with RecordReader.open(path, closed=True) as r:
        assert r.vitals()
        with pytest.raises(sqlite3.OperationalError):
            r.conn.execute("DELETE FROM samples")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no -wal/-shm left behind


def test_only_the_schema_tables_and_plain_columns_reach_the_sql(tmp_path: Path) -> None:
    path, _ = record(tmp_path)
    with RecordReader.open(path) as r:
        with pytest.raises(ValueError, match="not a table"):
            r.rows("sqlite_master")
        with pytest.raises(ValueError, match="not an ordering"):
            r.rows("samples", "t; DROP TABLE samples")
        assert r.rows("alarm_log", "t, id")[0]["alarm_id"]
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE music_events")  # an older or damaged record: a missing table reads as empty
    conn.commit()
    conn.close()
    with RecordReader.open(path) as r:
        assert r.music_events() == [] and r.record_end() is not None


def test_by_path_readers_give_nothing_for_what_is_not_a_record(tmp_path: Path) -> None:
    junk = tmp_path / "notes.db"
    junk.write_text("not a database")
    empty = tmp_path / "empty.db"
    empty.touch()
    for p in (junk, empty, tmp_path / "absent.db"):
        assert record_reader.read_vitals(p) == []
        assert record_reader.read_history(p) == ([], None)
        assert record_reader.last_record_time(p) is None
        assert record_reader.record_is_simulated(p) is None
        assert record_reader.read_rows(p, ("alarm_log",)) == []
    with pytest.raises(SessionDatabaseError):
        record_reader.read_rx_frames(junk)


def test_by_path_readers_of_a_real_record(tmp_path: Path) -> None:
    path, last = record(tmp_path)
    history, start = record_reader.read_history(path)
    assert history == record_reader.read_vitals(path) and start == T0 - 5  # created before its first sample
    assert record_reader.last_record_time(path) == last
    assert record_reader.record_is_simulated(path) is False
    rows = record_reader.read_rows(path, ("alarm_log", "link_events"))
    assert {t for t, _ in rows} == {"alarm_log", "link_events"} and all("id" not in row for _, row in rows)
    assert record_reader.read_rx_frames(path) == []  # nothing came over a serial line
    assert record_reader.read_music_events(path) == []
    os.chmod(path, 0o400)  # read-only file: reading still works
    assert record_reader.read_vitals(path) == history
