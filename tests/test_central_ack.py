"""Acknowledgement from the central station against a real Mosquitto and real `kapmonitor gateway` chairs.

Off by default: a gateway without the clinic setting refuses a command and records the refusal.
Enabled (PIN-protected clinic setting + --allow-central-ack): a gateway's latched high alarm is
acknowledged from the central, credited to the operator in the session record, and the central's
audit file holds the command and the result; stale, wrong-alarm and wrong-chair commands are refused.
The example ACL lets the central write only commands and a chair never write one.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import paho.mqtt.client as mqtt
import pytest
from mqtt_support import MosquittoBroker, make_password_file, mosquitto, wait_for
from paho.mqtt.enums import CallbackAPIVersion

from kapmonitor.alarms.pin import PinStore
from kapmonitor.central.commands import AckError, CentralCommander
from kapmonitor.central.model import BedsideAlarm, CentralModel
from kapmonitor.publish import parse_broker_url
from kapmonitor.publish.ack_policy import set_central_ack
from kapmonitor.publish.commands import DISABLED, command_payload
from kapmonitor.publish.payloads import ChairTopic
from kapmonitor.resources import resource_path

__all__ = ["mosquitto"]

REPO = Path(__file__).resolve().parent.parent
COMMAND_SCHEMA = json.loads(resource_path("mqtt_command.schema.json").read_text())
OPERATOR, STATION = "Anna Berg", "desk-1"


def enabled_config(folder: Path) -> Path:
    """A config folder whose clinic enabled acknowledgement from the central (PIN set, setting tagged)."""
    store = PinStore(folder / "clinic_pin.json")
    store.set_pin("246810", "admin")
    set_central_ack(store, True, "admin")
    return folder


def start_gateway(url: str, chair: str, record: Path, *, allow: bool, config: Path,
                  scenario: str = "desaturation", speed: float = 120) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "kapmonitor", "gateway", "--scenario", scenario, "--speed", str(speed),
            "--session", str(record), "--publish", url, "--chair", chair]
    err = record.with_suffix(".stderr").open("wb")
    return subprocess.Popen(args + (["--allow-central-ack"] if allow else []), stdout=subprocess.DEVNULL,
                            stderr=err, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO),
                                                       "KAPMONITOR_CONFIG_DIR": str(config),
                                                       "KAPMONITOR_DATA_DIR": str(record.parent / "data")})


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


@pytest.fixture
def central(mosquitto: MosquittoBroker) -> Iterator[CentralModel]:
    model = CentralModel(parse_broker_url(mosquitto.url, environ={}), allow_commands=True)
    model.start()
    assert wait_for(lambda: model.connected, 5)
    yield model
    model.stop()


class Results:
    """Every result the central receives, by request id."""

    def __init__(self, model: CentralModel) -> None:
        self.got: dict[str, dict[str, object]] = {}
        self.lock = threading.Lock()
        model.results.add(self.on_result)

    def on_result(self, key: str, result: dict[str, object]) -> None:
        with self.lock:
            self.got[str(result["request_id"])] = result

    def wait(self, rid: str, timeout: float = 10.0) -> dict[str, object]:
        assert wait_for(lambda: rid in self.got, timeout), f"no result for {rid}"
        result = self.got[rid]
        jsonschema.Draft202012Validator(COMMAND_SCHEMA).validate(result)
        return result


def chair_alarm(model: CentralModel, key: str, latched: bool = False) -> BedsideAlarm | None:
    view = next((v for v in model.chairs() if v.key == key), None)
    if view is None:
        return None
    return next((a for a in view.alarms if not a.acknowledged and (a.latched or not latched)), None)


def record_rows(record: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    with sqlite3.connect(record) as db:
        acks = db.execute("SELECT alarm_id, who FROM alarm_log WHERE event = 'acknowledged'").fetchall()
        audit = db.execute("SELECT action, who, reason FROM audit WHERE action LIKE 'central_acknowledge%' "
                           "ORDER BY id").fetchall()
    return acks, audit


def test_default_off_the_chair_refuses_and_records_it(mosquitto: MosquittoBroker, central: CentralModel,
                                                      tmp_path: Path) -> None:
    record = tmp_path / "room1.db"
    proc = start_gateway(mosquitto.url, "room1", record, allow=False, config=tmp_path / "config")
    results = Results(central)
    commander = CentralCommander(central, OPERATOR, STATION, tmp_path / "central" / "audit.jsonl")
    try:
        assert wait_for(lambda: chair_alarm(central, "clinic/room1") is not None, 40)
        view = next(v for v in central.chairs() if v.key == "clinic/room1")
        assert not view.accepts_ack  # the status says so: the central offers nothing
        alarm = chair_alarm(central, "clinic/room1")
        assert alarm is not None and alarm.raised_at is not None
        with pytest.raises(AckError, match="does not accept"):
            commander.acknowledge("clinic/room1", alarm)
        # even a command sent anyway is refused by the chair, answered and recorded
        payload = command_payload(ChairTopic("clinic", "room1"), alarm.alarm_id, alarm.raised_at, OPERATOR, STATION)
        jsonschema.Draft202012Validator(COMMAND_SCHEMA).validate(payload)
        assert central.send_command("clinic", "room1", payload)
        result = results.wait(str(payload["request_id"]))
        assert result["outcome"] == "refused" and result["reason"] == DISABLED
    finally:
        commander.close()
        stop(proc)
    acks, audit = record_rows(record)
    assert acks == []
    assert audit == [("central_acknowledge_refused", f"{OPERATOR} at central {STATION}", DISABLED)]


def test_enabled_a_latched_high_alarm_is_acknowledged_from_the_central(mosquitto: MosquittoBroker,
                                                                       central: CentralModel, tmp_path: Path) -> None:
    config = enabled_config(tmp_path / "config")
    record = tmp_path / "room2.db"
    audit_file = tmp_path / "central" / "audit.jsonl"
    proc = start_gateway(mosquitto.url, "room2", record, allow=True, config=config)
    results = Results(central)
    commander = CentralCommander(central, OPERATOR, STATION, audit_file)
    key = "clinic/room2"
    try:
        assert wait_for(lambda: any(v.key == key and v.accepts_ack for v in central.chairs()), 20)
        # the desaturation ends after ~2 s here: its high alarm stays latched, and nobody is at the gateway
        assert wait_for(lambda: chair_alarm(central, key, latched=True) is not None, 40)
        latched = chair_alarm(central, key, latched=True)
        assert latched is not None and latched.raised_at is not None
        assert latched.priority.label == "high"
        # refused: stale, another occurrence, another chair named on this chair's topic
        where = ChairTopic("clinic", "room2")
        stale = command_payload(where, latched.alarm_id, latched.raised_at, OPERATOR, STATION, t=time.time() - 45)
        other = command_payload(where, latched.alarm_id, latched.raised_at - 30.0, OPERATOR, STATION)
        wrong_chair = {**command_payload(where, latched.alarm_id, latched.raised_at, OPERATOR, STATION),
                       "chair": "room9"}
        reasons = []
        for payload in (stale, other, wrong_chair):
            assert central.send_command("clinic", "room2", payload)
            reasons.append(str(results.wait(str(payload["request_id"]))["reason"]))
        assert reasons[0].startswith("stale") and "different occurrence" in reasons[1] and "another chair" in reasons[2]
        # accepted: through the operator's action, as the window calls it
        rid = commander.acknowledge(key, latched)
        assert results.wait(rid)["outcome"] == "accepted"
        outcome = commander.last(key)
        assert outcome is not None and outcome.state == "accepted"
        # the chair's alarm set no longer holds it unacknowledged (a latched high ends when acknowledged)
        assert wait_for(lambda: all(a.alarm_id != latched.alarm_id or a.acknowledged
                                    for v in central.chairs() if v.key == key for a in v.alarms), 10)
    finally:
        commander.close()
        stop(proc)
    acks, audit = record_rows(record)
    who = f"{OPERATOR} at central {STATION}"
    assert (latched.alarm_id, who) in acks
    assert [a[0] for a in audit] == ["central_acknowledge_refused"] * 3 + ["central_acknowledge"]
    assert all(a[1] == who for a in audit)
    # the central's own trail: private, one JSON object a line, the command and the chair's answer
    assert stat.S_IMODE(audit_file.stat().st_mode) == 0o600
    lines = [json.loads(line) for line in audit_file.read_text().splitlines()]
    sent = [e for e in lines if e["event"] == "sent"]
    answers = [e for e in lines if e["event"] == "result" and e.get("request_id") == rid]
    assert len(sent) == 1 and sent[0]["request_id"] == rid and sent[0]["operator"] == OPERATOR
    assert len(answers) == 1 and answers[0]["outcome"] == "accepted" and answers[0]["who"] == who


def test_allow_central_ack_needs_the_clinic_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from kapmonitor.cli import main

    monkeypatch.setenv("KAPMONITOR_CONFIG_DIR", str(tmp_path))
    args = ["gateway", "--publish", "mqtt://127.0.0.1:9", "--chair", "room1", "--allow-central-ack"]
    assert main(args) == 2
    assert "has not enabled acknowledgement from the central" in capsys.readouterr().err
    enabled_config(tmp_path)
    policy = tmp_path / "central_ack.json"
    data = json.loads(policy.read_text())
    policy.write_text(json.dumps({**data, "by": "someone else"}))  # edited by hand: fails its tag, counts as off
    assert main(args) == 2
    assert "integrity check" in capsys.readouterr().err


def test_admin_switches_central_ack_only_with_the_pin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    import io

    from kapmonitor.cli import main
    from kapmonitor.publish.ack_policy import central_ack_allowed

    monkeypatch.setenv("KAPMONITOR_CONFIG_DIR", str(tmp_path))
    store = PinStore(tmp_path / "clinic_pin.json")
    store.set_pin("246810", "admin")
    monkeypatch.setattr(sys, "stdin", io.StringIO("111111\n"))
    assert main(["admin", "central-ack", "on", "--who", "Eva Admin", "--pin-stdin"]) == 2
    assert "PIN is wrong" in capsys.readouterr().err and not central_ack_allowed(store)[0]
    monkeypatch.setattr(sys, "stdin", io.StringIO("246810\n"))
    assert main(["admin", "central-ack", "on", "--who", "Eva Admin", "--pin-stdin"]) == 0
    assert central_ack_allowed(store) == (True, "")
    assert stat.S_IMODE((tmp_path / "central_ack.json").stat().st_mode) == 0o600
    assert main(["admin", "status"]) == 0
    assert "acknowledgement from the central station: enabled" in capsys.readouterr().out
    monkeypatch.setattr(sys, "stdin", io.StringIO("246810\n"))
    assert main(["admin", "central-ack", "off", "--who", "Eva Admin", "--pin-stdin"]) == 0
    assert not central_ack_allowed(store)[0]
    log = store.audit_path.read_text()
    assert "central_ack_on" in log and "central_ack_off" in log and "pin_failed" in log


def test_acl_the_central_writes_only_commands_and_a_chair_none(tmp_path: Path) -> None:
    pw = make_password_file(tmp_path / "passwd", {"chair1": "pw1", "chair2": "pw2", "central": "pwc"})
    broker = MosquittoBroker(tmp_path, password_file=pw, acl_file=resource_path("mosquitto-example.acl"))
    broker.start()
    clients: list[mqtt.Client] = []
    got: dict[str, list[str]] = {"chair1": [], "chair2": [], "central": []}  # "topic from-whom"

    def client(user: str, password: str, subscribe: str) -> mqtt.Client:
        c = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=f"acl-{user}")
        c.username_pw_set(user, password)
        ready = threading.Event()
        c.on_connect = lambda cl, *a: cl.subscribe(subscribe, qos=1)
        c.on_subscribe = lambda *a: ready.set()
        c.on_message = lambda cl, u, msg: got[user].append(f"{msg.topic} {msg.payload.decode()}")
        c.connect("127.0.0.1", broker.port)
        c.loop_start()
        assert ready.wait(5)
        clients.append(c)
        return c

    try:
        central = client("central", "pwc", "kapmonitor/v1/#")
        chair1 = client("chair1", "pw1", "kapmonitor/v1/clinic/+/command")  # tries to read every chair's commands
        client("chair2", "pw2", "kapmonitor/v1/clinic/chair2/command")
        for c, who, topic in ((chair1, "chair1", "kapmonitor/v1/clinic/chair2/command"),  # commanding another: dropped
                              (chair1, "chair1", "kapmonitor/v1/clinic/chair1/command"),  # or itself: dropped
                              (central, "central", "kapmonitor/v1/clinic/chair2/alarms"),  # forging a chair: dropped
                              (central, "central", "kapmonitor/v1/clinic/chair1/command")):  # a command: delivered
            c.publish(topic, who.encode(), qos=1).wait_for_publish(3)
        chair1.publish("kapmonitor/v1/clinic/chair1/result", b"chair1", qos=1).wait_for_publish(3)
        assert wait_for(lambda: "kapmonitor/v1/clinic/chair1/result chair1" in got["central"], 5)
        time.sleep(0.5)
        assert got["chair1"] == ["kapmonitor/v1/clinic/chair1/command central"]  # its own topic, from the central
        assert got["chair2"] == []
        assert got["central"] == ["kapmonitor/v1/clinic/chair1/command central",
                                  "kapmonitor/v1/clinic/chair1/result chair1"]
    finally:
        for c in clients:
            c.disconnect()
            c.loop_stop()
        broker.stop()


def test_central_acknowledges_only_with_a_named_operator(capsys: pytest.CaptureFixture[str]) -> None:
    from kapmonitor.cli import main

    assert main(["central", "--broker", "mqtt://127.0.0.1:9", "--allow-ack", "--screenshot", "x.png"]) == 2
    assert "--allow-ack needs --operator NAME" in capsys.readouterr().err
    assert main(["central", "--broker", "mqtt://127.0.0.1:9", "--operator", "Anna", "--screenshot", "x.png"]) == 2
    assert "go with --allow-ack" in capsys.readouterr().err
    assert main(["central", "--broker", "mqtt://127.0.0.1:9", "--allow-ack", "--operator", "  ",
                 "--screenshot", "x.png"]) == 2
    assert "--operator: no operator name" in capsys.readouterr().err


def test_the_central_audit_file_must_be_private(tmp_path: Path) -> None:
    model = CentralModel(parse_broker_url("mqtt://127.0.0.1:9", environ={}), allow_commands=True)
    shared = tmp_path / "shared.jsonl"
    shared.write_text("")
    shared.chmod(0o644)
    with pytest.raises(AckError, match="not a private file"):
        CentralCommander(model, OPERATOR, STATION, shared)
    link = tmp_path / "link.jsonl"
    link.symlink_to(tmp_path / "elsewhere.jsonl")
    with pytest.raises(AckError, match="cannot open"):
        CentralCommander(model, OPERATOR, STATION, link)
    assert not (tmp_path / "elsewhere.jsonl").exists() and shared.read_text() == ""  # nothing written
    with pytest.raises(AckError, match="named operator"):
        CentralCommander(model, "", STATION, tmp_path / "ok.jsonl")
