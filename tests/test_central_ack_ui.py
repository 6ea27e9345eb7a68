"""The central window's "Acknowledge at chair…" (real widgets offscreen, a real Mosquitto): shown only when
the central was started with --allow-ack and the chair accepts it; it needs a confirmation in which Enter
and Escape send nothing; a confirmed click publishes one command to that chair's command topic."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from mqtt_support import MosquittoBroker, mosquitto, wait_for
from paho.mqtt.enums import CallbackAPIVersion
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from kapmonitor.central.commands import CentralCommander
from kapmonitor.central.model import CentralModel
from kapmonitor.publish import parse_broker_url
from kapmonitor.publish.payloads import ChairTopic, encode, status_payload

__all__ = ["mosquitto"]


@pytest.fixture
def app(qapp: QApplication) -> QApplication:
    return qapp


def feed_chair(model: CentralModel, chair: str, accepts: bool) -> None:
    where = ChairTopic("clinic", chair)
    model.handle(where.topic("status"), encode(status_payload(where, "online", 100.0, name=chair, link="connected",
                                                               heartbeat_s=1.0, seq=1, central_ack=accepts)))
    alarm = {"id": "spo2.low", "parameter": "spo2", "kind": "physiological", "priority": "high",
             "message": "SpO2 84 % < 85", "value": 84.0, "limit": 85.0, "raised_at": 1234.5, "acknowledged": False,
             "latched": True, "escalated": False, "audio_paused": False}
    model.handle(where.topic("alarms"), json.dumps({"type": "alarms", "schema": 1, "site": "clinic", "chair": chair,
                                                    "t": 100.0, "seq": 1, "event": None, "active": [alarm]}).encode())


@pytest.fixture
def central(mosquitto: MosquittoBroker) -> Iterator[CentralModel]:
    model = CentralModel(parse_broker_url(mosquitto.url, environ={}), allow_commands=True)
    model.start()
    assert wait_for(lambda: model.connected, 5)
    yield model
    model.stop()


def commands_seen(port: int) -> tuple[mqtt.Client, list[dict[str, object]]]:
    got: list[dict[str, object]] = []
    ready = threading.Event()
    c = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="command-probe")
    c.on_connect = lambda cl, *a: cl.subscribe("kapmonitor/v1/+/+/command", qos=1)
    c.on_subscribe = lambda *a: ready.set()
    c.on_message = lambda cl, u, msg: got.append({"topic": msg.topic, **json.loads(msg.payload)})
    c.connect("127.0.0.1", port)
    c.loop_start()
    assert ready.wait(5)
    return c, got


def test_acknowledge_button_confirm_and_send(app: QApplication, mosquitto: MosquittoBroker, central: CentralModel,
                                             tmp_path: Path) -> None:
    from kapmonitor.ui.central.window import CentralWindow

    probe, got = commands_seen(mosquitto.port)
    commander = CentralCommander(central, "Anna Berg", "desk-1", tmp_path / "audit.jsonl")
    window = CentralWindow(central, None, "clinic", commander=commander)
    try:
        feed_chair(central, "room1", accepts=True)
        feed_chair(central, "room2", accepts=False)
        window.resize(1280, 800)
        window.show()
        window.refresh()
        tiles = {t.key: t for t in window.tiles[: len(window.order)]}
        assert tiles["clinic/room1"].ack_button.isVisible()
        assert not tiles["clinic/room2"].ack_button.isVisible()  # the chair's clinic did not enable it
        assert "not enabled there" in tiles["clinic/room2"].answer.text()
        QTest.mouseClick(tiles["clinic/room1"].ack_button, Qt.MouseButton.LeftButton)
        box = window.confirm
        assert box is not None and box.isVisible()
        assert "SpO2 84 %" in box.text() and "Anna Berg at central desk-1" in box.text()
        QTest.keyClick(box, Qt.Key.Key_Return)  # Enter: the default button is Cancel
        assert wait_for(lambda: (app.processEvents(), window.confirm is None)[1], 2)
        QTest.mouseClick(tiles["clinic/room1"].ack_button, Qt.MouseButton.LeftButton)
        box = window.confirm
        assert box is not None
        QTest.keyClick(box, Qt.Key.Key_Escape)
        assert wait_for(lambda: (app.processEvents(), window.confirm is None)[1], 2)
        app.processEvents()
        assert got == [] and commander.last("clinic/room1") is None  # nothing sent so far
        QTest.mouseClick(tiles["clinic/room1"].ack_button, Qt.MouseButton.LeftButton)
        box = window.confirm
        assert box is not None
        send = next(b for b in box.buttons() if b.text() == "Acknowledge")
        QTest.mouseClick(send, Qt.MouseButton.LeftButton)
        assert wait_for(lambda: (app.processEvents(), got)[1], 5)
        assert len(got) == 1 and got[0]["topic"] == "kapmonitor/v1/clinic/room1/command"
        assert got[0]["alarm_id"] == "spo2.low" and got[0]["raised_at"] == 1234.5 and got[0]["operator"] == "Anna Berg"
        window.refresh()
        assert tiles["clinic/room1"].answer.isVisible()
        assert tiles["clinic/room1"].answer.text().startswith("Acknowledge sent")
    finally:
        window.close()
        commander.close()
        probe.disconnect()
        probe.loop_stop()


def test_no_acknowledge_control_by_default(app: QApplication) -> None:
    from kapmonitor.ui.central.window import CentralWindow

    model = CentralModel(parse_broker_url("mqtt://127.0.0.1:9", environ={}))
    model._connected.set()  # as if subscribed; no network
    window = CentralWindow(model, None, "clinic")
    feed_chair(model, "room1", accepts=True)  # even a chair that accepts it gets no button here
    window.show()
    window.refresh()
    tile = window.tiles[0]
    assert not tile.ack_button.isVisible() and not tile.answer.isVisible()
    assert tile.height() == 170
    window.close()


def test_nurses_window_names_the_central_operator(qtbot) -> None:  # type: ignore[no-untyped-def]
    """A latched alarm vanishes when the central acknowledges it: the nurse's status bar says who did."""
    from kapmonitor.alarms.engine import AlarmEngine
    from kapmonitor.alarms.model import central_credit
    from kapmonitor.alarms.profile import default_profile
    from kapmonitor.bedside import WindowFacts
    from kapmonitor.model.clock import ManualClock
    from kapmonitor.model.parameters import Parameter
    from kapmonitor.model.samples import VitalSample
    from kapmonitor.model.trends import TrendStore
    from kapmonitor.ui.main_window import MainWindow

    clock = ManualClock(1_800_000_000.0)
    engine = AlarmEngine(default_profile(), clock)
    window = MainWindow(WindowFacts(TrendStore(), default_profile(), session_start=clock.now(), now_fn=clock.now,
                                    simulated=False, device="test", engine=engine))
    qtbot.addWidget(window)
    window.show()
    t = clock.now()
    engine.on_items([VitalSample(t, Parameter.NIBP_SYS, 195, measurement_id="m1"),
                     VitalSample(t, Parameter.NIBP_DIA, 85, measurement_id="m1")])
    engine.acknowledge("Local Nurse")
    assert "acknowledged" not in window.statusBar().currentMessage()  # the nurse's own: nothing extra
    engine.on_items([VitalSample(t + 600, Parameter.NIBP_SYS, 120, measurement_id="m2"),
                     VitalSample(t + 600, Parameter.NIBP_DIA, 70, measurement_id="m2")])
    engine.on_items([VitalSample(t + 900, Parameter.NIBP_SYS, 200, measurement_id="m3"),
                     VitalSample(t + 900, Parameter.NIBP_DIA, 85, measurement_id="m3")])
    assert engine.acknowledge(central_credit("Anna Berg", "desk-1"), remote=True) >= 1
    assert window.statusBar().currentMessage().startswith("Anna Berg at central desk-1 acknowledged: ")


def test_no_answer_is_reported_and_a_late_answer_still_counts(central: CentralModel, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import kapmonitor.central.commands as commands

    monkeypatch.setattr(commands, "ANSWER_S", 0.2)
    audit = tmp_path / "audit.jsonl"
    commander = CentralCommander(central, "Anna Berg", "desk-1", audit)
    try:
        feed_chair(central, "room1", accepts=True)
        view = next(v for v in central.chairs() if v.key == "clinic/room1")
        rid = commander.acknowledge(view.key, view.alarms[0])
        assert wait_for(lambda: (commander.tick(), (commander.last(view.key) or rid).state == "no answer")[1], 3)
        late = {"type": "result", "schema": 1, "site": "clinic", "chair": "room1", "t": 1.0, "request_id": rid,
                "action": "acknowledge", "alarm_id": "spo2.low", "outcome": "accepted", "reason": "",
                "who": "Anna Berg at central desk-1"}
        assert central.handle("kapmonitor/v1/clinic/room1/result", json.dumps(late).encode())
        outcome = commander.last(view.key)
        assert outcome is not None and outcome.state == "accepted"
    finally:
        commander.close()
    events = [json.loads(line)["event"] for line in audit.read_text().splitlines()]
    assert events == ["signed_in", "sent", "no_answer", "result"]
