"""The central station's model against a real Mosquitto: chairs sorted by urgency, offline by Last
Will on kill -9 within 5 s, heartbeat loss, monitor link loss, broker restart, 16 chairs at 1 Hz."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from mqtt_support import MosquittoBroker, mosquitto, start_chair, wait_for

from kapmonitor.alarms.engine import AlarmEngine
from kapmonitor.alarms.profile import Priority, default_profile
from kapmonitor.central.model import BROKER_ALARM, CentralModel, link_alarm_id, offline_alarm_id
from kapmonitor.drivers.base import DriverOptions
from kapmonitor.drivers.simulator import SimulatedMonitor
from kapmonitor.model.clock import RealClock
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import LinkEvent, LinkState, VitalSample
from kapmonitor.pipeline import MonitoringPipeline
from kapmonitor.publish import MqttPublisher, parse_broker_url
from kapmonitor.publish.payloads import ChairTopic, encode, status_payload

__all__ = ["mosquitto"]


def active_ids(model: CentralModel) -> set[str]:
    return {a.alarm_id for a in model.alarms.active_alarms() if a.condition_present}


@pytest.fixture
def central(mosquitto: MosquittoBroker) -> Iterator[CentralModel]:
    model = CentralModel(parse_broker_url(mosquitto.url, environ={}))
    model.start()
    assert wait_for(lambda: model.connected, 5)
    yield model
    model.stop()


# -- the model on its own (messages handed in directly) ----------------------------------------------------
def offline_model() -> CentralModel:
    return CentralModel(parse_broker_url("mqtt://127.0.0.1:9", environ={}))


def status(chair: str, state: str = "online", link: str = "connected", reason: str = "") -> bytes:
    return encode(status_payload(ChairTopic("clinic", chair), state, 100.0, name=chair, link=link, heartbeat_s=1.0,
                                 seq=1, reason=reason))


def test_heartbeat_loss_link_loss_and_bad_messages() -> None:
    model = offline_model()
    model._connected.set()  # as if subscribed; no network in this test
    topic = "kapmonitor/v1/clinic/{}/status"
    assert model.handle(topic.format("a"), status("a"), now=0.0)
    assert model.handle(topic.format("b"), status("b", link="disconnected"), now=0.0)
    assert active_ids(model) == {link_alarm_id("clinic/b")}
    model.tick(now=3.0)
    assert offline_alarm_id("clinic/a") not in active_ids(model)
    model.handle(topic.format("b"), status("b"), now=3.0)  # b keeps beating, and its monitor is back
    model.tick(now=3.6)  # a: 3.6 s without a heartbeat
    assert active_ids(model) == {offline_alarm_id("clinic/a")}
    views = model.chairs(now=3.6)
    assert [v.chair for v in views] == ["a", "b"] and views[0].heard == "no heartbeat"
    model.handle(topic.format("a"), status("a"), now=4.0)
    assert active_ids(model) == set()
    # garbage is counted and ignored; a foreign topic is not ours
    assert not model.handle(topic.format("a"), b"{not json", now=4.0)
    assert not model.handle(topic.format("a"), json.dumps({"type": "vitals"}).encode(), now=4.0)
    assert not model.handle("other/v1/clinic/a/status", status("a"), now=4.0)
    assert model.bad_messages == 2
    # a clean stop after discharge is the end of a day; a clean stop during a session is an alarm
    model.handle(topic.format("a"), status("a", "offline", reason="stopped"), now=5.0)
    assert active_ids(model) == set()
    model.handle("kapmonitor/v1/clinic/b/session",
                 json.dumps({"type": "session", "phase": "infusing", "clock": "3:00 of 40 min", "t": 5.0,
                             "due": [], "next": {"nibp": 65.0, "moaas": None}}).encode(), now=5.0)
    model.handle(topic.format("b"), status("b", "offline", reason="stopped"), now=5.0)
    assert active_ids(model) == {offline_alarm_id("clinic/b")}
    b = next(v for v in model.chairs(now=6.0) if v.chair == "b")
    assert b.clock == "3:00 of 40 min" and b.next_nibp_in_s == pytest.approx(59.0)
    # a Last Will is confirmed for a second (a broker going down sends every chair's will first)
    model.handle(topic.format("c"), status("c"), now=6.0)
    model.handle(topic.format("c"), status("c", "offline", reason="connection lost"), now=6.0)
    model.tick(now=6.5)
    assert offline_alarm_id("clinic/c") not in active_ids(model)
    model.tick(now=7.01)
    assert offline_alarm_id("clinic/c") in active_ids(model)
    model.handle(topic.format("d"), status("d"), now=8.0)
    model.handle(topic.format("d"), status("d", "offline", reason="connection lost"), now=8.0)
    model._connected.clear()  # the broker went away right after sending d's will
    model.tick(now=8.3)
    model._connected.set()
    model.tick(now=9.5)
    assert offline_alarm_id("clinic/d") not in active_ids(model)
    # a retired chair's retained status cleared by the clinic: the central forgets it and its alarm
    model.handle(topic.format("c"), b"", now=10.0)
    assert "c" not in {v.chair for v in model.chairs(now=10.0)}
    assert offline_alarm_id("clinic/c") not in active_ids(model)


def test_by_default_the_central_cannot_acknowledge_bedside_alarms() -> None:
    """Without --allow-ack the model refuses to send anything to a chair, and no operator can be signed in."""
    from kapmonitor.central.commands import AckError, CentralCommander

    model = offline_model()
    assert not model.allow_commands
    with pytest.raises(PermissionError, match="--allow-ack"):
        model.send_command("clinic", "a", {"type": "command"})
    with pytest.raises(AckError, match="not started with acknowledgements allowed"):
        CentralCommander(model, "Anna", "desk-1")


# -- against the broker ---------------------------------------------------------------------------------------
def test_kill_9_of_a_chair_is_an_offline_alarm_within_5_s(mosquitto: MosquittoBroker, central: CentralModel,
                                                          tmp_path: Path) -> None:
    proc = start_chair(mosquitto.url, "room3", tmp_path / "room3.db")
    try:
        assert wait_for(lambda: any(v.chair == "room3" and v.heard == "online" and v.hr is not None
                                    for v in central.chairs()), 10)
        view = next(v for v in central.chairs() if v.chair == "room3")
        assert view.hr is not None and view.hr.age_s < 3
        os.kill(proc.pid, signal.SIGKILL)
        t0 = time.monotonic()
        assert wait_for(lambda: offline_alarm_id("clinic/room3") in active_ids(central), 5)
        took = time.monotonic() - t0
        view = next(v for v in central.chairs() if v.chair == "room3")
        assert view.heard == "offline" and view.offline_reason == "connection lost" and took <= 5.0
        assert view.central_alarms[0][1] is Priority.HIGH
    finally:
        proc.kill()
        proc.wait(5)


def test_hung_chair_heartbeat_stops(mosquitto: MosquittoBroker, central: CentralModel, tmp_path: Path) -> None:
    """SIGSTOP: the socket stays open, no Last Will yet, but the heartbeat stops → alarm within 5 s."""
    proc = start_chair(mosquitto.url, "room4", tmp_path / "room4.db")
    try:
        assert wait_for(lambda: any(v.chair == "room4" and v.heard == "online" for v in central.chairs()), 10)
        os.kill(proc.pid, signal.SIGSTOP)
        t0 = time.monotonic()
        assert wait_for(lambda: offline_alarm_id("clinic/room4") in active_ids(central), 5)
        assert time.monotonic() - t0 <= 5.0
    finally:
        os.kill(proc.pid, signal.SIGCONT)
        proc.kill()
        proc.wait(5)


def test_monitor_link_loss_reaches_the_central(mosquitto: MosquittoBroker, central: CentralModel) -> None:
    clock = RealClock()
    pub = MqttPublisher(parse_broker_url(mosquitto.url, environ={}), "room5", clock)
    pub.start()
    try:
        pub.on_items([LinkEvent(clock.now(), LinkState.CONNECTED)])
        assert wait_for(lambda: any(v.chair == "room5" and v.monitor_link == "connected" for v in central.chairs()),
                        5)
        pub.on_items([LinkEvent(clock.now(), LinkState.DISCONNECTED, "serial port gone")])
        t0 = time.monotonic()
        assert wait_for(lambda: link_alarm_id("clinic/room5") in active_ids(central), 5)
        assert time.monotonic() - t0 < 2.0
        msg = next(a for a in central.alarms.active_alarms() if a.alarm_id == link_alarm_id("clinic/room5")).message
        assert "serial port gone" in msg
        pub.on_items([LinkEvent(clock.now(), LinkState.CONNECTED)])
        assert wait_for(lambda: link_alarm_id("clinic/room5") not in active_ids(central), 5)
    finally:
        pub.stop()


def test_broker_restart_bedside_keeps_recording_alarms_resent(mosquitto: MosquittoBroker, central: CentralModel,
                                                               tmp_path: Path) -> None:
    clock = RealClock()
    record = tmp_path / "bed.db"
    pipeline = MonitoringPipeline(SimulatedMonitor(DriverOptions(scenario="normal", seed=1, waves=False), clock),
                                  record, alarm_profile=default_profile())
    assert pipeline.alarms is not None
    pub = MqttPublisher(parse_broker_url(mosquitto.url, environ={}), "room6", clock)
    pub.attach(pipeline.dispatcher, pipeline.alarms)
    pipeline.start()
    pub.start()
    try:
        assert wait_for(lambda: any(v.chair == "room6" and v.hr is not None for v in central.chairs()), 10)
        mosquitto.stop()
        assert wait_for(lambda: BROKER_ALARM in active_ids(central), 5)
        assert all(v.heard.startswith("unknown") for v in central.chairs())
        assert offline_alarm_id("clinic/room6") not in active_ids(central)  # one alarm, not one per chair
        rows_before = pipeline.recorder.rows_written
        last_before = pipeline.trends.last_time
        pipeline.alarms.report_technical("storage-failure", "Session record failing: test", Priority.HIGH)
        time.sleep(1.5)
        assert pipeline.recorder.rows_written > rows_before and pipeline.trends.last_time > last_before
        assert not pub.connected
        mosquitto.start()  # same port
        assert wait_for(lambda: pub.connected and central.connected, 10)
        assert wait_for(lambda: any(v.chair == "room6" and v.top_alarm is not None
                                    and v.top_alarm.alarm_id == "storage-failure" for v in central.chairs()), 5)
        assert BROKER_ALARM not in active_ids(central)
        assert wait_for(lambda: any(v.chair == "room6" and v.heard == "online" for v in central.chairs()), 5)
    finally:
        pub.stop()
        pipeline.stop()
    with sqlite3.connect(record) as conn:
        assert conn.execute("select count(*) from alarm_log where alarm_id = 'storage-failure'").fetchone()[0] >= 1


def test_sixteen_chairs_at_1_hz_into_one_central(mosquitto: MosquittoBroker, central: CentralModel) -> None:
    clock = RealClock()
    url = parse_broker_url(mosquitto.url, environ={})
    engines = [AlarmEngine(default_profile(), clock) for _ in range(16)]
    pubs = [MqttPublisher(url, f"chair{i:02d}", clock, alarms=engines[i]) for i in range(16)]
    for pub, engine in zip(pubs, engines, strict=True):
        engine.add_listener(pub.on_alarm)
        pub.start()
    stop = threading.Event()

    def feed() -> None:
        n = 0
        while not stop.is_set():
            now = clock.now()
            for i, pub in enumerate(pubs):
                pub.on_items([VitalSample(now, Parameter.HR, 60.0 + i), VitalSample(now, Parameter.SPO2, 97.0)])
            n += 1
            stop.wait(1.0)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        assert wait_for(lambda: len([v for v in central.chairs() if v.hr is not None]) == 16, 10)
        engines[11].report_technical("storage-failure", "Session record failing", Priority.HIGH)
        engines[4].report_technical("alarm-audio-failure", "Alarm sound failing", Priority.MEDIUM)
        assert wait_for(lambda: [v.chair for v in central.chairs()][:2] == ["chair11", "chair04"], 5)
        time.sleep(2.0)
        views = central.chairs()
        assert len(views) == 16 and all(v.heard == "online" for v in views)
        assert all(v.hr is not None and v.hr.age_s < 2.5 and v.hr.value == 60.0 + int(v.chair[5:]) for v in views)
        assert central.bedside_audio_state() is Priority.HIGH
        assert central.bad_messages == 0 and all(p.dropped_vitals == 0 for p in pubs)
    finally:
        stop.set()
        feeder.join(3)
        for pub in pubs:
            pub.stop()
    assert wait_for(lambda: all(v.heard == "offline" for v in central.chairs()), 5)


def test_bedside_alarm_set_follows_the_last_message_of_a_burst() -> None:
    model = offline_model()
    topic = "kapmonitor/v1/clinic/a/alarms"

    def alarms(active: list[dict[str, object]] | None) -> bytes:
        return json.dumps({"type": "alarms", "t": 1.0, "seq": 1, "event": None, "active": active}).encode()

    hi = {"id": "nibp_sys.upper", "priority": "high", "message": "NIBP sys 186 > 180", "acknowledged": False}
    lo = {"id": "hr.upper", "priority": "low", "message": "HR 101 > 100", "acknowledged": True}
    model.handle(topic, alarms([lo, hi]), now=1.0)
    model.handle(topic, alarms(None), now=1.1)  # a change in a burst: the set is not in it
    view = model.chairs(now=1.2)[0]
    assert view.top_alarm is not None and view.top_alarm.alarm_id == "nibp_sys.upper"
    assert [a.alarm_id for a in view.alarms] == ["nibp_sys.upper", "hr.upper"]
    assert model.bedside_audio_state() is Priority.HIGH
    model.handle(topic, alarms([]), now=2.0)
    assert model.chairs(now=2.0)[0].alarms == () and model.bedside_audio_state() is None


def test_a_patients_alarm_ranks_above_an_equipment_alarm_of_the_same_priority() -> None:
    """Two chairs with a high alarm each: the one whose patient's blood pressure is high comes before the one
    whose monitor link is lost (the same priority, but the patient's own condition), whatever their names."""
    model = offline_model()

    def alarms(active: list[dict[str, object]]) -> bytes:
        return json.dumps({"type": "alarms", "t": 1.0, "seq": 1, "event": None, "active": active}).encode()

    link = {"id": "link-lost", "priority": "high", "message": "Link to the monitor lost", "acknowledged": False,
            "kind": "technical"}
    bp = {"id": "nibp_sys.upper", "priority": "high", "message": "NIBP sys 186 > 180", "acknowledged": False,
          "kind": "physiological"}
    model.handle("kapmonitor/v1/clinic/a-room/alarms", alarms([link]), now=1.0)
    model.handle("kapmonitor/v1/clinic/z-room/alarms", alarms([bp]), now=1.0)
    assert [v.chair for v in model.chairs(now=1.1)] == ["z-room", "a-room"]
    low = {**bp, "priority": "low"}
    model.handle("kapmonitor/v1/clinic/z-room/alarms", alarms([low]), now=2.0)
    assert [v.chair for v in model.chairs(now=2.1)] == ["a-room", "z-room"]  # priority still comes first



def test_a_chair_stopped_mid_session_alarms_whatever_order_its_retained_messages_come_in() -> None:
    """A central started after the chair stopped gets the retained status before the retained session."""
    model = offline_model()
    model._connected.set()
    model.handle("kapmonitor/v1/clinic/a/status", status("a", "offline", reason="stopped"), now=1.0)
    assert offline_alarm_id("clinic/a") not in active_ids(model)  # no session known yet
    model.handle("kapmonitor/v1/clinic/a/session",
                 json.dumps({"type": "session", "phase": "infusing", "clock": "12:00 of 40 min", "t": 1.0,
                             "due": [], "next": {"nibp": None, "moaas": None}}).encode(), now=1.0, retained=True)
    assert offline_alarm_id("clinic/a") in active_ids(model)
