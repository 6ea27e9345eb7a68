"""publish.toml: the chair's publishing settings saved from the window. Round trip, mode 0600 from
the first byte, a file others can read loses its password (and says so without showing it), every
field checked with a message that says what to change, and the command line over the file."""

from __future__ import annotations

import argparse
import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from mqtt_support import MosquittoBroker, free_port, make_password_file, mosquitto

from kapmonitor.cli import build_parser
from kapmonitor.commands import CommandError
from kapmonitor.commands.gateway import check_publish_args
from kapmonitor.publish.broker import PASSWORD_ENV
from kapmonitor.publish.settings import (
    PublishSettings,
    fill_args,
    load_publish_settings,
    normalise_hl7_target,
    publish_config_path,
    save_publish_settings,
    settings_from_args,
    try_broker,
)

SECRET = "s3cret-Pa55word"
__all__ = ["mosquitto"]  # the fixture

ROOT = Path(__file__).resolve().parent.parent
FULL = PublishSettings(enabled=True, broker_url="mqtts://broker.clinic:8883", chair="chair-3", site="north",
                       show_as="chair", username="chair3", password=SECRET, ca_file=Path("/etc/ca.crt"),
                       cert_file=Path("/etc/c.crt"), key_file=Path("/etc/c.key"), hl7_out="tcp:engine:2575")


def run_args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["run", *argv])


def test_round_trip_and_mode_0600(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAPMONITOR_CONFIG_DIR", str(tmp_path / "config"))
    old_umask = os.umask(0o022)  # a usual umask would give 0644
    try:
        path = save_publish_settings(FULL)
    finally:
        os.umask(old_umask)
    assert path == publish_config_path() == tmp_path / "config" / "publish.toml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_publish_settings() == (FULL, None)
    # a leftover temporary file readable by all does not make the saved file readable by all
    tmp = path.with_name("publish.toml.tmp")
    tmp.write_text("junk")
    tmp.chmod(0o644)
    save_publish_settings(PublishSettings())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_publish_settings() == (PublishSettings(), None)
    assert SECRET not in repr(FULL)


def test_a_file_others_can_read_keeps_its_settings_but_not_its_password(tmp_path: Path) -> None:
    path = save_publish_settings(FULL, tmp_path / "publish.toml")
    path.chmod(0o644)
    settings, problem = load_publish_settings(path)
    assert settings is not None and settings.password == "" and settings.chair == "chair-3"
    assert problem is not None and "0644" in problem and "chmod 600" in problem and SECRET not in problem


@pytest.mark.parametrize("body", ["[mqtt\n", "[mqtt]\nenabled = 'yes'\n", "[mqtt]\nchair = 3\n", "mqtt = 1\n"])
def test_a_broken_file_is_ignored_with_a_reason(tmp_path: Path, body: str) -> None:
    path = tmp_path / "publish.toml"
    path.write_text(body)
    settings, problem = load_publish_settings(path)
    assert settings is None and problem is not None and str(path) in problem
    assert load_publish_settings(tmp_path / "none.toml") == (None, None)


def test_each_bad_field_says_what_to_change(tmp_path: Path) -> None:
    ok = PublishSettings(enabled=True, broker_url="mqtt://127.0.0.1:1883", chair="chair-1")
    assert ok.problems() == {}
    cases = {
        "url": [PublishSettings(enabled=True, broker_url="http://x", chair="a"),
                PublishSettings(enabled=True, broker_url="", chair="a"),
                PublishSettings(enabled=True, broker_url="mqtt://u:pw@host", chair="a")],
        "chair": [PublishSettings(enabled=True, broker_url="mqtt://h", chair=""),
                  PublishSettings(enabled=True, broker_url="mqtt://h", chair="room 3"),
                  PublishSettings(hl7_out="tcp:engine:2575")],
        "site": [PublishSettings(enabled=True, broker_url="mqtt://h", chair="a", site="a/b")],
        "ca": [PublishSettings(enabled=True, broker_url="mqtts://h", chair="a", ca_file=tmp_path / "missing.crt"),
               PublishSettings(enabled=True, broker_url="mqtt://h", chair="a", ca_file=tmp_path)],
        "key": [PublishSettings(enabled=True, broker_url="mqtts://h", chair="a", cert_file=Path(__file__))],
        "username": [PublishSettings(enabled=True, broker_url="mqtt://h", chair="a", password=SECRET)],
        "hl7": [PublishSettings(chair="a", hl7_out="tcp:engine")],
    }
    for key, bad in cases.items():
        for settings in bad:
            problems = settings.problems()
            assert key in problems, (key, settings, problems)
            assert problems[key].endswith(".") and SECRET not in str(problems)
    assert "Password field" in cases["url"][2].problems()["url"]
    assert "does not exist" in cases["ca"][0].problems()["ca"]
    assert "mqtts://" in cases["ca"][1].problems()["ca"]
    assert "chair" in cases["chair"][0].problems()["chair"].lower()
    # off: nothing to check (the broker address may stay, unused)
    assert PublishSettings(enabled=False, broker_url="http://x").problems() == {}
    assert normalise_hl7_target("engine:2575") == "tcp:engine:2575" == normalise_hl7_target(" tcp:engine:2575")


def test_the_command_line_overrides_the_file_for_that_run(tmp_path: Path) -> None:
    saved = PublishSettings(enabled=True, broker_url="mqtt://broker:1883", chair="chair-3", site="north",
                            show_as="chair", username="chair3", password=SECRET, hl7_out="tcp:engine:2575")
    # nothing on the command line: all from the file
    args = run_args()
    fill_args(args, saved)
    check_publish_args(args)
    assert settings_from_args(args) == saved
    # --chair and --site given: those win, the broker and its log-in stay the file's
    args = run_args("--chair", "chair-9", "--site", "south", "--show-as", "pseudonym")
    fill_args(args, saved)
    check_publish_args(args)
    got = settings_from_args(args)
    assert (got.chair, got.site, got.show_as, got.broker_url, got.password) == (
        "chair-9", "south", "pseudonym", "mqtt://broker:1883", SECRET)
    # another broker on the command line: the file's user and password do not go to it
    args = run_args("--publish", "mqtt://other:1883")
    fill_args(args, saved)
    check_publish_args(args)
    got = settings_from_args(args)
    assert (got.broker_url, got.chair, got.username, got.password) == ("mqtt://other:1883", "chair-3", "", "")
    # publishing switched off in the window: the file starts nothing, and the old rules hold
    off = PublishSettings(enabled=False, broker_url="mqtt://broker:1883", chair="chair-3")
    args = run_args()
    fill_args(args, off)
    check_publish_args(args)
    assert not settings_from_args(args).active
    args = run_args("--chair", "a")
    fill_args(args, off)
    with pytest.raises(CommandError, match="--chair needs --publish"):
        check_publish_args(args)


def test_broker_test_refused_unreachable_and_accepted(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    broker = MosquittoBroker(tmp_path, password_file=make_password_file(tmp_path / "pw", {"chair3": SECRET}))
    broker.start()
    try:
        good = PublishSettings(enabled=True, broker_url=broker.url, chair="c", username="chair3", password=SECRET)
        ok, text = try_broker(good.broker_config(), 5)
        assert ok and "Connected" in text and "chair3" in text
        wrong = PublishSettings(enabled=True, broker_url=broker.url, chair="c", username="chair3",
                                password="wrong-" + SECRET)
        ok, text = try_broker(wrong.broker_config(), 5)
        assert not ok and "refused" in text and "password" in text
    finally:
        broker.stop()
    closed = PublishSettings(enabled=True, broker_url=f"mqtt://127.0.0.1:{free_port()}", chair="c")
    ok, text = try_broker(closed.broker_config(), 3)
    assert not ok and "cannot reach" in text
    assert SECRET not in caplog.text


def test_the_environment_password_is_used_when_the_file_has_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "from-env")
    s = PublishSettings(enabled=True, broker_url="mqtt://h", chair="a", username="u")
    assert s.broker_config().password == "from-env"
    assert PublishSettings(enabled=True, broker_url="mqtt://h", chair="a", username="u",
                           password=SECRET).broker_config().password == SECRET


def test_kapmonitor_run_publishes_with_the_saved_settings_and_the_command_line_chair(
        mosquitto: MosquittoBroker, tmp_path: Path) -> None:
    """The whole command: publish.toml gives broker and site, --chair overrides the file's chair."""
    config = tmp_path / "config"
    save_publish_settings(PublishSettings(enabled=True, broker_url=mosquitto.url, chair="chair-file", site="north",
                                          show_as="chair"), config / "publish.toml")
    env = {**os.environ, "KAPMONITOR_CONFIG_DIR": str(config), "KAPMONITOR_DATA_DIR": str(tmp_path / "data"),
           "QT_QPA_PLATFORM": "offscreen"}
    # a training run on the simulator never appears at the central from the saved settings
    proc = subprocess.run([sys.executable, "-m", "kapmonitor", "run", "--speed", "60", "--screenshot",
                           str(tmp_path / "sim.png"), "--screenshot-after", "60"],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0, proc.stderr
    assert retained_topics(mosquitto.url) == {}
    # a real monitor (an HL7 monitor sending to this computer) in real time: published, --chair over the file's
    proc = subprocess.run([sys.executable, "-m", "kapmonitor", "run", "--driver", "hl7", "--port",
                           f"listen:127.0.0.1:{free_port()}", "--chair", "chair-cli",
                           "--screenshot", str(tmp_path / "s.png"), "--screenshot-after", "2"],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0, proc.stderr
    topics = retained_topics(mosquitto.url)
    assert "kapmonitor/v1/north/chair-cli/status" in topics, topics
    status = topics["kapmonitor/v1/north/chair-cli/status"]
    assert (status["state"], status["name"]) == ("offline", "chair-cli")  # said goodbye when the run ended
    assert not any("chair-file" in t for t in topics)


def retained_topics(url: str) -> dict[str, dict[str, object]]:
    """Every retained message under kapmonitor/v1/, as a new subscriber gets them."""
    import json
    import threading
    import time

    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    host, port = url.removeprefix("mqtt://").split(":")
    got: dict[str, dict[str, object]] = {}
    lock = threading.Lock()
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)

    def on_message(c: object, u: object, msg: mqtt.MQTTMessage) -> None:
        if msg.retain:
            with lock:
                got[msg.topic] = json.loads(msg.payload)

    client.on_connect = lambda c, *a: c.subscribe("kapmonitor/v1/#", qos=1)
    client.on_message = on_message
    client.connect(host, int(port))
    client.loop_start()
    time.sleep(1.0)  # retained messages arrive right after the subscription
    client.disconnect()
    client.loop_stop()
    with lock:
        return dict(got)


def test_a_run_without_publishing_does_not_load_the_mqtt_client(tmp_path: Path) -> None:
    """Start-up: reading publish.toml and checking the options costs no MQTT library import."""
    code = (
        "import sys\n"
        "from kapmonitor.cli import apply_saved_publishing, build_parser\n"
        "from kapmonitor.commands.gateway import check_publish_args\n"
        "from kapmonitor.publish.settings import settings_from_args\n"
        "args = build_parser().parse_args(['run'])\n"
        "apply_saved_publishing(args); check_publish_args(args)\n"
        "assert not settings_from_args(args).active\n"
        "print(sorted(m for m in sys.modules if m.startswith('paho')))\n"
    )
    env = {**os.environ, "KAPMONITOR_CONFIG_DIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_saved_settings_that_no_longer_work_never_keep_monitoring_from_starting(tmp_path: Path) -> None:
    """A CA file moved away since the settings were saved: the window starts, without publishing, and says why."""
    config = tmp_path / "config"
    save_publish_settings(PublishSettings(enabled=True, broker_url=f"mqtts://127.0.0.1:{free_port()}", chair="c-1",
                                          ca_file=tmp_path / "moved-away.crt"), config / "publish.toml")
    env = {**os.environ, "KAPMONITOR_CONFIG_DIR": str(config), "KAPMONITOR_DATA_DIR": str(tmp_path / "data"),
           "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, "-m", "kapmonitor", "run", "--driver", "hl7", "--port",
                           f"listen:127.0.0.1:{free_port()}", "--screenshot", str(tmp_path / "s.png"),
                           "--screenshot-after", "0.5"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0, proc.stderr
    assert "saved publishing settings are not used" in proc.stderr and "moved-away.crt" in proc.stderr
    assert (tmp_path / "s.png").is_file()
    # what the nurse typed herself is still refused at once
    proc = subprocess.run([sys.executable, "-m", "kapmonitor", "run", "--publish", "http://x", "--chair", "c-1",
                           "--screenshot", str(tmp_path / "t.png")], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=90)
    assert proc.returncode == 2 and "mqtt://" in proc.stderr
