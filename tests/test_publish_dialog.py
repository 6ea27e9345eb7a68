"""Monitor ▸ Central station publishing… in the running app, against a real Mosquitto on loopback:
bad input is refused field by field, Apply publishes the chair at once (retained status online)
without restarting monitoring, a new chair name moves it to a new topic (the old one says offline),
switching off says offline; the settings are saved 0600 and the password appears in no log.
"Test connection" answers from a worker thread. Enter applies nothing; Escape closes."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from mqtt_support import MosquittoBroker, free_port, make_password_file, make_test_ca, mosquitto, wait_for
from paho.mqtt.enums import CallbackAPIVersion
from PySide6.QtCore import Qt
from test_hl7_out import Receiver

from kapmonitor.drivers.base import DriverOptions
from kapmonitor.drivers.simulator import SimulatedMonitor
from kapmonitor.model.clock import RealClock
from kapmonitor.publish.settings import load_publish_settings

__all__ = ["mosquitto"]  # the fixture

pytestmark = pytest.mark.timeout(120)
SECRET = "n0t-in-any-l0g"


def retained(url: str, topic: str, timeout: float = 5.0) -> dict[str, object] | None:
    """The retained message on `topic` now, as a fresh subscriber (the central) gets it."""
    host, port = url.removeprefix("mqtt://").split(":")
    got: list[dict[str, object]] = []
    done = threading.Event()
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)

    def on_message(c: object, u: object, msg: mqtt.MQTTMessage) -> None:
        if msg.retain:
            got.append(json.loads(msg.payload))
            done.set()

    client.on_connect = lambda c, *a: c.subscribe(topic, qos=1)
    client.on_message = on_message
    client.connect(host, int(port))
    client.loop_start()
    done.wait(timeout)
    client.disconnect()
    client.loop_stop()
    return got[0] if got else None


class Watcher:
    """A subscriber that keeps every payload on one topic (what a central sees, in order)."""

    def __init__(self, url: str, topic: str) -> None:
        host, port = url.removeprefix("mqtt://").split(":")
        self.payloads: list[dict[str, object]] = []
        self.lock = threading.Lock()
        subscribed = threading.Event()
        self.client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        self.client.on_connect = lambda c, *a: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *a: subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(host, int(port))
        self.client.loop_start()
        assert subscribed.wait(5)

    def _on_message(self, c: object, u: object, msg: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.payloads.append(json.loads(msg.payload) if msg.payload else {})

    def last(self, key: str) -> object:
        with self.lock:
            return self.payloads[-1].get(key) if self.payloads else None

    def states(self) -> list[object]:
        with self.lock:
            return [p.get("state") for p in self.payloads]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def status_is(url: str, topic: str, state: str) -> bool:
    payload = retained(url, topic, 1.0)
    return payload is not None and payload.get("state") == state


@pytest.fixture
def app(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """The nurse's window on the simulator (real time, or the speed given by indirect parametrisation)."""
    monkeypatch.setenv("KAPMONITOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KAPMONITOR_CONFIG_DIR", str(tmp_path / "config"))
    from kapmonitor.model.clock import AcceleratedClock, Clock
    from kapmonitor.ui.app import MonitorApplication

    speed = getattr(request, "param", None)
    clock: Clock = RealClock() if speed is None else AcceleratedClock(speed, time.time())
    running = MonitorApplication(SimulatedMonitor(DriverOptions(seed=1), clock), clock, None, None)
    running.start(sound=False)
    qtbot.addWidget(running.window)
    yield running
    running.stop()
    if running.placer is not None:
        running.qt_app.removeEventFilter(running.placer)


def open_dialog(app):  # type: ignore[no-untyped-def]
    app.publish_menu.action.trigger()
    dlg = app.publish_menu.dialog
    assert dlg is not None and dlg.isVisible() and not dlg.isModal()  # alarms stay answerable
    return dlg


def fill(dlg, **fields: str) -> None:  # type: ignore[no-untyped-def]
    for name, value in fields.items():
        getattr(dlg, f"{name}_edit").setText(value)


def test_apply_publishes_renames_and_stops_live(qtbot, app, mosquitto: MosquittoBroker,  # type: ignore[no-untyped-def]
                                                tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    bedside = app.bedside
    reader, record = bedside.pipeline.reader, bedside.pipeline.recorder.path
    assert app.publish_menu.action in app.window.monitor_menu.actions()
    dlg = open_dialog(app)
    assert "off" in dlg.state_label.text() and not app.publish_menu.indicator.isVisibleTo(app.window)

    # bad input: each field says what is wrong, nothing is applied
    dlg.enabled_box.setChecked(True)
    fill(dlg, url="http://broker:1883", chair="")
    assert not dlg.apply()
    assert set(dlg.shown_problems) == {"url", "chair"} and "mqtt://" in dlg.shown_problems["url"]
    assert "border" in dlg.url_edit.styleSheet() and dlg.url_edit.toolTip() == dlg.shown_problems["url"]
    said = dlg.result_label.text()
    assert said.startswith("Not applied. Broker address:") and "mqtt://" in said and "Chair name" in said
    fill(dlg, url=f"mqtts://127.0.0.1:{mosquitto.port}", chair="chair-7", ca=str(tmp_path / "no-ca.crt"))
    assert not dlg.apply()
    assert "does not exist" in dlg.shown_problems["ca"] and set(dlg.shown_problems) == {"ca"}
    assert dlg.url_edit.styleSheet() == "" and "border" in dlg.ca_edit.styleSheet()
    assert bedside.publisher is None and not (tmp_path / "config" / "publish.toml").exists()

    # good: published at once, retained online; monitoring never restarted
    fill(dlg, url=mosquitto.url, ca="", site="north", hl7="")
    assert dlg.apply(), dlg.result_label.text()
    assert dlg.shown_problems == {} and dlg.ca_edit.styleSheet() == "" and "north/chair-7" in dlg.result_label.text()
    assert wait_for(lambda: status_is(mosquitto.url, "kapmonitor/v1/north/chair-7/status", "online"), 10)
    qtbot.waitUntil(lambda: "connected" in dlg.state_label.text() and "reconnecting" not in dlg.state_label.text(),
                    timeout=5000)
    assert bedside.pipeline.reader is reader and bedside.pipeline.recorder.path == record
    # the nurse's status bar says whether the central sees this chair
    indicator = app.publish_menu.indicator
    qtbot.waitUntil(lambda: indicator.isVisibleTo(app.window) and indicator.text() == "\u25cf Central: connected",
                    timeout=3000)
    assert "north/chair-7" in indicator.toolTip() and indicator in app.window.statusBar().findChildren(type(indicator))
    path = tmp_path / "config" / "publish.toml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    saved, _ = load_publish_settings(path)
    assert saved is not None and (saved.enabled, saved.chair, saved.site) == (True, "chair-7", "north")

    # a new chair name: a new topic; the old name is cleared (a central forgets it: no "stopped" alarm)
    fill(dlg, chair="chair-8")
    assert dlg.apply()
    assert wait_for(lambda: status_is(mosquitto.url, "kapmonitor/v1/north/chair-8/status", "online"), 10)
    assert wait_for(lambda: retained(mosquitto.url, "kapmonitor/v1/north/chair-7/#", 1.0) is None, 10)

    # what the central shows, then the log-in, changed for the same chair: never a moment "offline"
    watch = Watcher(mosquitto.url, "kapmonitor/v1/north/chair-8/status")
    try:
        publisher = bedside.publisher
        assert wait_for(lambda: watch.last("name") == "DEMO-001", 5)  # the demo session's pseudonym
        dlg.show_combo.setCurrentIndex(dlg.show_combo.findData("chair"))
        assert dlg.apply() and bedside.publisher is publisher  # same connection
        assert wait_for(lambda: watch.last("name") == "chair-8", 5)
        fill(dlg, user="chair8")  # the anonymous test broker takes any user name: a new connection
        assert dlg.apply() and bedside.publisher is not publisher
        assert bedside.publishing.wait(10)
        assert wait_for(lambda: bedside.publisher.connected, 10)
        time.sleep(1.5)  # a heartbeat of the new connection
        assert watch.states() and "offline" not in watch.states(), watch.states()
    finally:
        watch.close()

    # switched off during the infusion: asked first (the central raises an alarm for it); Enter keeps publishing
    bedside.session.start_infusion(who="AB", override_reason="test: the check is not under test here")
    assert bedside.close_reason() is not None
    dlg.enabled_box.setChecked(False)
    assert not dlg.apply()
    box = dlg.question
    assert box is not None and box.isVisible() and not box.isModal()  # alarms stay answerable meanwhile
    assert box.defaultButton().text() == "Keep publishing"
    qtbot.keyClick(box, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not box.isVisible(), timeout=2000)
    assert bedside.publisher is not None and "nothing changed" in dlg.result_label.text()
    assert not dlg.apply()
    stop = next(b for b in dlg.question.buttons() if b.text() == "Stop publishing")
    stop.click()
    assert wait_for(lambda: status_is(mosquitto.url, "kapmonitor/v1/north/chair-8/status", "offline"), 10)
    assert bedside.publisher is None
    qtbot.waitUntil(lambda: "off" in dlg.state_label.text(), timeout=3000)
    qtbot.waitUntil(lambda: not indicator.isVisibleTo(app.window), timeout=3000)
    assert load_publish_settings(path)[0].enabled is False  # type: ignore[union-attr]
    assert bedside.pipeline.reader is reader


def test_password_broker_test_connection_and_no_password_in_logs(qtbot, app, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    broker = MosquittoBroker(tmp_path, password_file=make_password_file(tmp_path / "pw", {"chair7": SECRET}))
    broker.start()
    try:
        dlg = open_dialog(app)
        dlg.enabled_box.setChecked(True)
        fill(dlg, url=broker.url, chair="chair-7", user="chair7", password="wrong")
        dlg.test_button.click()  # the GUI thread is not blocked: the answer comes later
        assert dlg.testing or dlg.result_label.text()
        qtbot.waitUntil(lambda: "refused" in dlg.result_label.text(), timeout=8000)
        fill(dlg, password=SECRET)
        dlg.test_button.click()
        qtbot.waitUntil(lambda: "Connected" in dlg.result_label.text(), timeout=8000)
        assert dlg.apply()
        qtbot.waitUntil(lambda: app.bedside.publisher is not None and app.bedside.publisher.connected, timeout=10000)
        fill(dlg, url=f"mqtt://127.0.0.1:{free_port()}")
        dlg.test_button.click()
        qtbot.waitUntil(lambda: "cannot reach" in dlg.result_label.text(), timeout=8000)
        texts = [caplog.text, dlg.result_label.text(), dlg.state_label.text(), repr(app.bedside.publish_settings())]
        assert all(SECRET not in t for t in texts)
        path = tmp_path / "config" / "publish.toml"
        assert SECRET in path.read_text() and stat.S_IMODE(path.stat().st_mode) == 0o600
        # nor in the session record or any export of it
        record = app.bedside.pipeline.recorder.path
        assert app.bedside.pipeline.recorder.flush()
        out = tmp_path / "export"
        proc = subprocess.run([sys.executable, "-m", "kapmonitor", "export", str(record), "--format", "all",
                               "-o", str(out), "-q"], capture_output=True, text=True, timeout=120,
                              env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
        assert proc.returncode == 0, proc.stderr
        files = [*record.parent.glob(record.name + "*"), *out.rglob("*")]  # the record with its WAL
        assert len(files) > 3
        assert not [f for f in files if f.is_file() and SECRET.encode() in f.read_bytes()]
    finally:
        app.bedside.configure_publishing(None)
        app.bedside.publishing.wait(10)
        broker.stop()


def test_enter_applies_nothing_and_escape_closes(qtbot, app, mosquitto: MosquittoBroker) -> None:  # type: ignore[no-untyped-def]
    dlg = open_dialog(app)
    assert not dlg.url_edit.isEnabled() and not any(b.isEnabled() for b in dlg._browse_buttons)  # off: nothing to fill
    dlg.enabled_box.setChecked(True)
    assert dlg.url_edit.isEnabled() and all(b.isEnabled() for b in dlg._browse_buttons)
    fill(dlg, url=mosquitto.url, chair="chair-5")
    dlg.activateWindow()
    dlg.chair_edit.setFocus()
    qtbot.keyClick(dlg.chair_edit, Qt.Key.Key_Return)
    qtbot.keyClick(dlg.url_edit, Qt.Key.Key_Enter)
    assert dlg.isVisible() and app.bedside.publisher is None and dlg.result_label.text() == ""
    qtbot.keyClick(dlg.chair_edit, Qt.Key.Key_Escape)
    assert not dlg.isVisible() and app.bedside.publisher is None
    # opened again: what was saved (nothing yet), not what was typed and abandoned
    again = open_dialog(app)
    assert again is not dlg and again.chair_edit.text() == ""


@pytest.mark.parametrize("app", [60], indirect=True)  # one-minute vitals every second
def test_hl7_out_started_moved_and_stopped_from_the_dialog(qtbot, app) -> None:  # type: ignore[no-untyped-def]
    first, second = Receiver(free_port()), Receiver(free_port())
    first.start()
    second.start()
    try:
        dlg = open_dialog(app)
        fill(dlg, chair="chair-4", hl7=f"tcp:127.0.0.1:{first.port}")  # MQTT stays off
        assert dlg.apply(), dlg.result_label.text()
        qtbot.waitUntil(lambda: len(first.acked) >= 2, timeout=20000)
        assert all(c.startswith("chair-4-") for c in first.acked)
        qtbot.waitUntil(lambda: "HL7 out: connected" in dlg.state_label.text(), timeout=3000)
        assert app.bedside.publisher is None
        fill(dlg, hl7=f"127.0.0.1:{second.port}")  # HOST:PORT is enough
        assert dlg.apply()
        qtbot.waitUntil(lambda: len(second.acked) >= 2, timeout=20000)
        assert not set(first.acked) & set(second.acked)  # nothing acknowledged twice
        fill(dlg, hl7="")
        assert dlg.apply()
        qtbot.waitUntil(lambda: app.bedside.hl7_outbox is None, timeout=10000)
        qtbot.waitUntil(lambda: "HL7 out: off" in dlg.state_label.text(), timeout=3000)
    finally:
        first.stop()
        second.stop()


def test_tls_from_the_dialog_test_says_why_and_apply_connects(qtbot, app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    certs = make_test_ca(tmp_path, clients=("chair9",))
    (tmp_path / "other").mkdir()
    other = make_test_ca(tmp_path / "other")
    broker = MosquittoBroker(tmp_path, tls=(certs["ca"], certs["server"], certs["server_key"]),
                             require_certificate=True)
    broker.start()
    try:
        dlg = open_dialog(app)
        dlg.enabled_box.setChecked(True)
        fill(dlg, url=f"mqtts://127.0.0.1:{broker.port}", chair="chair9", ca=str(other["ca"]),
             cert=str(certs["chair9"]), key=str(certs["chair9_key"]))
        dlg.test_button.click()  # another clinic's CA: the broker is not trusted
        qtbot.waitUntil(lambda: "not trusted" in dlg.result_label.text(), timeout=8000)
        fill(dlg, ca=str(certs["ca"]), cert="", key="")
        dlg.test_button.click()  # no client certificate: the broker hangs up
        qtbot.waitUntil(lambda: "client certificate" in dlg.result_label.text(), timeout=8000)
        assert "Connected" not in dlg.result_label.text()
        fill(dlg, cert=str(certs["chair9"]), key=str(certs["chair9_key"]))
        dlg.test_button.click()
        qtbot.waitUntil(lambda: "Connected" in dlg.result_label.text(), timeout=8000)
        assert "certificate verified" in dlg.result_label.text()
        assert dlg.apply()
        qtbot.waitUntil(lambda: app.bedside.publisher is not None and app.bedside.publisher.connected, timeout=10000)
        qtbot.waitUntil(lambda: "connected (clinic/chair9)" in dlg.state_label.text(), timeout=3000)
    finally:
        app.bedside.configure_publishing(None)
        app.bedside.publishing.wait(10)
        broker.stop()


def test_saved_settings_not_in_use_show_why_when_opened(qtbot, app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from kapmonitor.publish.settings import PublishSettings, save_publish_settings

    save_publish_settings(PublishSettings(enabled=True, broker_url=f"mqtts://127.0.0.1:{free_port()}", chair="c-1",
                                          ca_file=tmp_path / "moved-away.crt"))
    dlg = open_dialog(app)
    assert dlg.enabled_box.isChecked() and dlg.chair_edit.text() == "c-1"
    assert "moved-away.crt" in dlg.shown_problems["ca"] and "border" in dlg.ca_edit.styleSheet()
    assert dlg.result_label.text().startswith("Saved but not in use. CA file:")
    # usable settings on the simulator: not started by themselves, and the dialog says so
    dlg.reject()
    save_publish_settings(PublishSettings(enabled=True, broker_url=f"mqtt://127.0.0.1:{free_port()}", chair="c-1"))
    again = open_dialog(app)
    assert again.note_label.isVisibleTo(again) and "not the simulator" in again.note_label.text()
    assert again.shown_problems == {} and app.bedside.publisher is None


def test_settings_that_cannot_be_saved_still_apply_and_say_so(qtbot, app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    app.publish_menu.save_path = blocker / "publish.toml"  # its folder cannot be made
    dlg = open_dialog(app)
    dlg.enabled_box.setChecked(True)
    fill(dlg, url=f"mqtt://127.0.0.1:{free_port()}", chair="chair-6")  # no broker there: it keeps trying
    try:
        assert dlg.apply()
        assert "could not be saved" in dlg.result_label.text() and "until kapmonitor closes" in dlg.result_label.text()
        assert app.bedside.publisher is not None
        qtbot.waitUntil(lambda: "reconnecting" in dlg.state_label.text(), timeout=5000)
    finally:
        app.bedside.configure_publishing(None)
        app.bedside.publishing.wait(10)
