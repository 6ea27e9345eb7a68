"""The bedside's checks of a central command (real alarm engine, real session record; no network here:
tests/test_central_ack.py runs the same path through Mosquitto and `kapmonitor gateway`)."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kapmonitor.alarms.engine import AlarmEngine
from kapmonitor.alarms.model import ActiveAlarm
from kapmonitor.alarms.presentation import alarm_parts
from kapmonitor.alarms.profile import default_profile
from kapmonitor.model.clock import ManualClock
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import VitalSample
from kapmonitor.publish.commands import DISABLED, RemoteAcknowledger, command_payload
from kapmonitor.publish.payloads import ChairTopic, encode
from kapmonitor.recording.recorder import SessionRecorder

T0 = 1_700_000_000.0
WHERE = ChairTopic("clinic", "room1")
TOPIC = WHERE.topic("command")


@pytest.fixture
def recorder(tmp_path: Path) -> Iterator[SessionRecorder]:
    rec = SessionRecorder(tmp_path / "s.db", {"simulated": "true"}).start()
    yield rec
    rec.stop()


def high_nibp(engine: AlarmEngine) -> ActiveAlarm:
    t = engine._clock.now()
    engine.on_items([VitalSample(t, Parameter.NIBP_SYS, 195, measurement_id="m1"),
                     VitalSample(t, Parameter.NIBP_DIA, 85, measurement_id="m1")])
    return next(a for a in engine.active_alarms() if a.alarm_id == "nibp_sys.upper")


def audit(rec: SessionRecorder) -> list[tuple[object, ...]]:
    assert rec.flush()
    with sqlite3.connect(rec.path) as db:
        return db.execute("SELECT action, who, reason FROM audit WHERE action LIKE 'central%' ORDER BY id").fetchall()


def send(handler: RemoteAcknowledger, payload: dict[str, object]) -> dict[str, object] | None:
    return handler.handle(TOPIC, encode(payload))


def test_acknowledged_once_credited_and_shown_on_the_nurses_row(recorder: SessionRecorder) -> None:
    engine = AlarmEngine(default_profile(), ManualClock(T0))
    handler = RemoteAcknowledger(engine, lambda: recorder, engine._clock, WHERE, enabled=True)
    alarm = high_nibp(engine)
    cmd = command_payload(WHERE, alarm.alarm_id, alarm.raised_at, "Anna Berg", "desk-1")
    first = send(handler, cmd)
    assert first is not None and first["outcome"] == "accepted" and first["who"] == "Anna Berg at central desk-1"
    again = send(handler, cmd)  # QoS 1 delivered it twice: the same answer, nothing done twice
    assert again == first and handler.accepted == 1
    row = next(a for a in engine.active_alarms() if a.alarm_id == alarm.alarm_id)
    assert row.acknowledged and "acknowledged by Anna Berg at central desk-1" in alarm_parts(row, T0)
    engine.acknowledge("Local Nurse")  # nothing left to acknowledge; a local acknowledgement reads as before
    assert [e.who for e in engine.events() if e.event.value == "acknowledged"] == ["Anna Berg at central desk-1"]
    assert audit(recorder) == [("central_acknowledge", "Anna Berg at central desk-1", None)]


def test_a_local_acknowledgement_names_nobody_on_the_row() -> None:
    engine = AlarmEngine(default_profile(), ManualClock(T0))
    alarm = high_nibp(engine)
    engine.acknowledge("Local Nurse")
    row = next(a for a in engine.active_alarms() if a.alarm_id == alarm.alarm_id)
    assert "acknowledged" in alarm_parts(row, T0) and row.acknowledged_remotely_by is None


def test_every_refusal_is_answered_and_recorded(recorder: SessionRecorder) -> None:
    engine = AlarmEngine(default_profile(), ManualClock(T0))
    handler = RemoteAcknowledger(engine, lambda: recorder, engine._clock, WHERE, enabled=True)
    alarm = high_nibp(engine)
    ok = {"alarm_id": alarm.alarm_id, "raised_at": alarm.raised_at, "operator": "Anna", "station": "desk-1"}
    cases = [
        ({**command_payload(WHERE, **ok), "t": time.time() + 120}, "clocks differ"),  # type: ignore[arg-type]
        ({**command_payload(WHERE, **ok), "action": "silence"}, "unknown action"),  # type: ignore[arg-type]
        ({**command_payload(WHERE, **ok), "operator": ""}, "no operator name"),  # type: ignore[arg-type]
        ({**command_payload(WHERE, **ok), "site": "south"}, "another chair"),  # type: ignore[arg-type]
        (command_payload(WHERE, "spo2.lower", alarm.raised_at, "Anna", "desk-1"), "no such alarm"),
    ]
    for payload, why in cases:
        result = send(handler, payload)
        assert result is not None and result["outcome"] == "refused" and why in str(result["reason"]), (why, result)
    assert handler.handle(TOPIC, b"{not json") is None  # unanswerable, but recorded
    assert handler.handle(WHERE.topic("command").replace("room1", "room2"), encode(
        command_payload(WHERE, **ok))) is not None  # type: ignore[arg-type]
    assert not next(a for a in engine.active_alarms() if a.alarm_id == alarm.alarm_id).acknowledged
    rows = audit(recorder)
    assert len(rows) == len(cases) + 2 and {r[0] for r in rows} == {"central_acknowledge_refused"}
    kept = sqlite3.connect(recorder.path).execute("SELECT before FROM audit WHERE reason LIKE '%unknown action%'")
    assert json.loads(kept.fetchone()[0])["action"] == "silence"  # what was asked is kept with the refusal


def test_disabled_refuses_before_looking_at_the_alarm(recorder: SessionRecorder) -> None:
    engine = AlarmEngine(default_profile(), ManualClock(T0))
    handler = RemoteAcknowledger(engine, lambda: recorder, engine._clock, WHERE, enabled=False)
    alarm = high_nibp(engine)
    result = send(handler, command_payload(WHERE, alarm.alarm_id, alarm.raised_at, "Anna", "desk-1"))
    assert result is not None and result["reason"] == DISABLED
    assert not engine.active_alarms()[0].acknowledged
    assert audit(recorder) == [("central_acknowledge_refused", "Anna at central desk-1", DISABLED)]
