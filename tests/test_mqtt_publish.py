"""Publishing a chair to a real Mosquitto on loopback: addresses and credentials, topics, payload
schema, retained state, ACLs and TLS."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import paho.mqtt.client as mqtt
import pytest
from mqtt_support import MosquittoBroker, free_port, make_password_file, make_test_ca, mosquitto, wait_for
from paho.mqtt.enums import CallbackAPIVersion

from kapmonitor.alarms.engine import AlarmEngine
from kapmonitor.alarms.profile import Priority, default_profile
from kapmonitor.model.clock import ManualClock, RealClock
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import LinkEvent, LinkState, VitalSample
from kapmonitor.publish import BrokerConfigError, MqttPublisher, parse_broker_url
from kapmonitor.publish.broker import PASSWORD_ENV
from kapmonitor.resources import resource_path
from kapmonitor.session.model import demo_setup
from kapmonitor.session.session import NurseSession

__all__ = ["mosquitto"]  # the fixture

SCHEMA = json.loads(resource_path("mqtt_payloads.schema.json").read_text())


class Listener:
    """A plain MQTT subscriber that keeps every message (topic, payload dict, retained flag)."""

    def __init__(self, url: str, topic: str = "kapmonitor/v1/#", **creds: object) -> None:
        self.messages: list[tuple[str, dict[str, object], bool]] = []
        self.lock = threading.Lock()
        cfg = parse_broker_url(url, **creds)  # type: ignore[arg-type]
        self.client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2,
                                  client_id=f"listener-{id(self)}")
        cfg.apply(self.client)
        self.client.on_message = self._on_message
        self.subscribed = threading.Event()
        self.client.on_connect = lambda c, *a: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        self.client.connect(cfg.host, cfg.port)
        self.client.loop_start()
        assert self.subscribed.wait(5), "listener could not subscribe"

    def _on_message(self, client: object, userdata: object, msg: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.messages.append((msg.topic, json.loads(msg.payload) if msg.payload else {}, bool(msg.retain)))

    def of(self, kind: str) -> list[tuple[str, dict[str, object], bool]]:
        with self.lock:
            return [m for m in self.messages if m[0].endswith("/" + kind)]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def listeners() -> Iterator[list[Listener]]:
    made: list[Listener] = []
    yield made
    for item in made:
        item.close()


# -- addresses and credentials ---------------------------------------------------------------------------
def test_broker_urls_and_default_ports() -> None:
    plain = parse_broker_url("mqtt://broker.local", environ={})
    assert (plain.host, plain.port, plain.tls) == ("broker.local", 1883, False)
    tls = parse_broker_url("mqtts://10.0.0.5", environ={})
    assert (tls.port, tls.tls) == (8883, True)
    assert parse_broker_url("mqtt://chair1@h:1999", environ={}).username == "chair1"
    for bad, words in [("http://h:1", "mqtt://"), ("mqtt://:1883", "no host"), ("mqtt://h:99999", "99999"),
                       ("mqtt://h:1/x", "only mqtt"), ("mqtt://u:secret@h:1", "password in the address")]:
        with pytest.raises(BrokerConfigError, match=words):
            parse_broker_url(bad, environ={})


def test_password_never_in_the_clear(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secret = tmp_path / "pw"
    secret.write_text("s3cr3t-pw\n")
    secret.chmod(0o644)
    with pytest.raises(BrokerConfigError, match="chmod 600"):
        parse_broker_url("mqtt://chair1@h:1", password_file=secret, environ={})
    secret.chmod(0o600)
    cfg = parse_broker_url("mqtt://chair1@h:1", password_file=secret, environ={})
    assert cfg.password == "s3cr3t-pw"
    from_env = parse_broker_url("mqtt://chair1@h:1", environ={PASSWORD_ENV: "env-pw"})
    assert from_env.password == "env-pw"
    with pytest.raises(BrokerConfigError, match="no user name"):
        parse_broker_url("mqtt://h:1", environ={PASSWORD_ENV: "env-pw"})
    pub = MqttPublisher(cfg, "chair1", RealClock())
    shown = " ".join([repr(cfg), str(cfg), cfg.display_url, pub.state, caplog.text])
    assert "s3cr3t" not in shown and "chair1@h:1" in cfg.display_url


# -- topics, schema, retained state ------------------------------------------------------------------------
def test_topics_payload_schema_and_retained_state(mosquitto: MosquittoBroker, tmp_path: Path,
                                                  listeners: list[Listener]) -> None:
    clock = RealClock()
    engine = AlarmEngine(default_profile(), clock)
    early = Listener(mosquitto.url)
    listeners.append(early)
    pub = MqttPublisher(parse_broker_url(mosquitto.url, environ={}), "chair-3", clock, site="clinicA",
                        alarms=engine, heartbeat_s=0.5)
    engine.add_listener(pub.on_alarm)
    session = NurseSession.create(demo_setup().with_changes(pseudonym="KAP-0042", simulated=False), clock,
                                  path=tmp_path / "s.kapsession")
    pub.set_session(session)
    pub.start()
    try:
        assert wait_for(lambda: pub.connected, 5)
        now = time.time()
        pub.on_items([LinkEvent(now, LinkState.CONNECTED, "simulated"),
                      VitalSample(now, Parameter.HR, 72.0), VitalSample(now, Parameter.SPO2, 97.0),
                      VitalSample(now, Parameter.NIBP_SYS, 181.0, measurement_id="n1"),
                      VitalSample(now, Parameter.NIBP_DIA, 95.0, measurement_id="n1")])
        engine.report_technical("storage-failure", "Session record failing: disk full", Priority.HIGH)
        session.start_infusion(who="AB")
        assert wait_for(lambda: early.of("vitals") and early.of("alarms")
                        and any(m[1]["phase"] == "infusing" for m in early.of("session"))
                        and len(early.of("status")) >= 3, 5)
    finally:
        pub.stop()
        session.shutdown()
    topics = {m[0] for m in early.messages}
    base = "kapmonitor/v1/clinicA/chair-3/"
    assert topics == {base + k for k in ("status", "vitals", "alarms", "session")}
    for topic, payload, _ in early.messages:
        jsonschema.Draft202012Validator(SCHEMA).validate(payload)
        assert payload["type"] == topic.rsplit("/", 1)[1] and payload["chair"] == "chair-3"
    samples = [s for m in early.of("vitals") for s in m[1]["samples"]]  # type: ignore[union-attr]
    assert {(s["p"], s["v"]) for s in samples} >= {("hr", 72.0), ("spo2", 97.0), ("nibp_sys", 181.0)}
    raised = [m[1] for m in early.of("alarms") if m[1]["event"]]
    assert raised[0]["event"]["id"] == "storage-failure"  # type: ignore[index]
    assert [a["id"] for a in raised[-1]["active"]] == ["storage-failure"]  # type: ignore[union-attr]
    infusing = [m[1] for m in early.of("session") if m[1]["phase"] == "infusing"][-1]
    assert str(infusing["clock"]).endswith("of 40 min") and infusing["name"] == "KAP-0042"
    assert early.of("status")[-1][1]["state"] == "offline" and early.of("status")[-1][1]["reason"] == "stopped"
    assert early.of("status")[0][1]["link"] in ("unknown", "connected")
    # the pseudonym is the only identifier; nothing else of the set-up leaves the bedside
    text = json.dumps([m[1] for m in early.messages])
    for private in ("DN", "DT", "DP", "DEMO-LOT"):
        assert f'"{private}"' not in text

    late = Listener(mosquitto.url)  # subscribes after the fact: sees the retained state only
    listeners.append(late)
    assert wait_for(lambda: len({m[0] for m in late.messages}) == 3, 3)
    kinds = {m[0].rsplit("/", 1)[1]: m for m in late.messages}
    assert set(kinds) == {"status", "alarms", "session"} and all(m[2] for m in late.messages)
    assert [a["id"] for a in kinds["alarms"][1]["active"]] == ["storage-failure"]  # type: ignore[union-attr]
    assert kinds["session"][1]["phase"] == "infusing"


def test_identity_chair_sends_no_pseudonym(mosquitto: MosquittoBroker, tmp_path: Path,
                                           listeners: list[Listener]) -> None:
    clock = RealClock()
    sub = Listener(mosquitto.url)
    listeners.append(sub)
    pub = MqttPublisher(parse_broker_url(mosquitto.url, environ={}), "room2", clock, identity="chair")
    session = NurseSession.create(demo_setup().with_changes(pseudonym="KAP-0099", simulated=False), clock,
                                  path=tmp_path / "s.kapsession")
    pub.set_session(session)
    pub.start()
    try:
        assert wait_for(lambda: sub.of("session") and sub.of("status"), 5)
    finally:
        pub.stop()
        session.shutdown()
    assert "KAP-0099" not in json.dumps(sub.messages)
    assert sub.of("session")[0][1]["name"] == "room2" and sub.of("session")[0][1]["phase"] == "set-up"


def test_bedside_never_waits_for_an_absent_broker() -> None:
    """No broker at all: feeding the publisher stays instant, the queue stays bounded, drops counted."""
    port = free_port()
    pub = MqttPublisher(parse_broker_url(f"mqtt://127.0.0.1:{port}", environ={}), "c1", ManualClock(0.0),
                        max_vitals=100)
    pub.start()
    try:
        t0 = time.perf_counter()
        for i in range(1000):
            pub.on_items([VitalSample(float(i), Parameter.HR, 70.0)])
        elapsed = time.perf_counter() - t0
        assert elapsed < 0.5
        assert pub.dropped_vitals == 900 and not pub.connected
        assert "unreachable" in pub.state and "monitoring continues" in pub.state
        cpu0 = time.process_time()  # waiting for the broker must not spin: the bedside shares this CPU
        time.sleep(2.0)
        assert time.process_time() - cpu0 < 0.2
    finally:
        pub.stop()


# -- ACLs -------------------------------------------------------------------------------------------------
def test_acl_a_chair_cannot_publish_as_another(tmp_path: Path, listeners: list[Listener]) -> None:
    pw = make_password_file(tmp_path / "passwd", {"chair1": "pw1", "chair2": "pw2", "central": "pwc"})
    assert "acl_file" in resource_path("mosquitto-example.conf").read_text()
    acl = resource_path("mosquitto-example.acl")  # the example, as shipped
    broker = MosquittoBroker(tmp_path, password_file=pw, acl_file=acl)
    broker.start()
    try:
        (tmp_path / "central.pw").write_text("pwc\n")
        (tmp_path / "central.pw").chmod(0o600)
        central = Listener(f"mqtt://central@127.0.0.1:{broker.port}", password_file=tmp_path / "central.pw")
        listeners.append(central)
        chair1 = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="chair1")
        chair1.username_pw_set("chair1", "pw1")
        chair1.connect("127.0.0.1", broker.port)
        chair1.loop_start()
        own = chair1.publish("kapmonitor/v1/clinic/chair1/vitals", b'{"own":1}', qos=1)
        forged = chair1.publish("kapmonitor/v1/clinic/chair2/alarms", b'{"forged":1}', qos=1)
        own.wait_for_publish(3)
        forged.wait_for_publish(3)
        assert wait_for(lambda: central.of("vitals"), 3)
        time.sleep(0.5)
        chair1.disconnect()
        chair1.loop_stop()
        assert central.of("alarms") == []  # the broker dropped the chair's forgery
        # a wrong password is refused: the publisher stays disconnected and says so
        env = {PASSWORD_ENV: "wrong"}
        bad = MqttPublisher(parse_broker_url(f"mqtt://chair2@127.0.0.1:{broker.port}", environ=env), "chair2",
                            RealClock())
        bad.start()
        time.sleep(1.5)
        assert not bad.connected and "refused" in bad.state
        bad.stop()
    finally:
        broker.stop()


# -- TLS --------------------------------------------------------------------------------------------------
def test_tls_with_a_test_ca_and_client_certificate(tmp_path: Path, listeners: list[Listener]) -> None:
    certs = make_test_ca(tmp_path, clients=("chair7",))
    broker = MosquittoBroker(tmp_path, tls=(certs["ca"], certs["server"], certs["server_key"]),
                             require_certificate=True)
    broker.start()
    url = f"mqtts://127.0.0.1:{broker.port}"
    try:
        pub = MqttPublisher(parse_broker_url(url, ca_file=certs["ca"], cert_file=certs["chair7"],
                                             key_file=certs["chair7_key"], environ={}), "chair7", RealClock())
        pub.start()
        assert wait_for(lambda: pub.connected, 5), pub.state
        pub.stop()
        # without a client certificate, or trusting another CA, nothing connects
        (tmp_path / "other").mkdir()
        other = make_test_ca(tmp_path / "other")
        for cfg in (parse_broker_url(url, ca_file=certs["ca"], environ={}),
                    parse_broker_url(url, ca_file=other["ca"], cert_file=certs["chair7"],
                                     key_file=certs["chair7_key"], environ={})):
            stranger = MqttPublisher(cfg, "chair8", RealClock())
            stranger.start()
            time.sleep(1.5)
            assert not stranger.connected
            stranger.stop()
        with pytest.raises(BrokerConfigError, match="mqtts"):
            parse_broker_url(f"mqtt://127.0.0.1:{broker.port}", ca_file=certs["ca"], environ={})
    finally:
        broker.stop()


def test_a_missing_mosquitto_fails_the_tests_and_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import mqtt_support

    monkeypatch.setattr(mqtt_support.shutil, "which", lambda name: None)
    monkeypatch.setattr(mqtt_support, "MOSQUITTO", "/nonexistent/mosquitto")
    with pytest.raises(pytest.fail.Exception, match="apt-get install mosquitto"):
        mqtt_support.mosquitto_binary()
