"""`kapmonitor gateway`: the bedside without a window against a real Mosquitto. It never loads Qt,
publishes the chair, and on SIGTERM says "offline (stopped)" (retained) and leaves a complete record."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
from mqtt_support import MosquittoBroker, mosquitto, wait_for
from paho.mqtt.enums import CallbackAPIVersion

from kapmonitor.cli import main
from kapmonitor.recording.reader import read_history

__all__ = ["mosquitto"]

REPO = Path(__file__).resolve().parent.parent
WRAPPER = ("import sys\nfrom kapmonitor.cli import main\nrc = main(sys.argv[1:])\n"
           "print('qt-loaded' if any(m.startswith('PySide6') for m in sys.modules) else 'qt-free', flush=True)\n"
           "sys.exit(rc)\n")


def retained_status(port: int, topic: str) -> dict[str, object] | None:
    got: list[dict[str, object]] = []
    done = threading.Event()
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="status-probe")

    def on_message(c: mqtt.Client, u: object, msg: mqtt.MQTTMessage) -> None:
        got.append(json.loads(msg.payload))
        done.set()

    client.on_message = on_message
    client.on_connect = lambda c, *a: c.subscribe(topic, qos=1)
    try:
        client.connect("127.0.0.1", port)
    except OSError:
        return None
    client.loop_start()
    done.wait(5)
    client.loop_stop()
    client.disconnect()
    return got[0] if got else None


def test_gateway_publishes_without_qt_and_stops_cleanly_on_sigterm(mosquitto: MosquittoBroker, tmp_path: Path) -> None:
    record = tmp_path / "chair.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRAPPER, "gateway", "--scenario", "normal", "--speed", "30", "--session", str(record),
         "--publish", mosquitto.url, "--chair", "room-3", "--site", "north"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen"},
    )
    topic = "kapmonitor/v1/north/room-3/status"
    try:
        assert wait_for(lambda: (retained_status(mosquitto.port, topic) or {}).get("state") == "online", 20)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    assert proc.returncode == 0, err
    assert out.strip().splitlines()[-1] == "qt-free", out  # the gateway never imports PySide6
    status = retained_status(mosquitto.port, topic)
    assert status is not None and status["state"] == "offline" and status["reason"] == "stopped", status
    history, start = read_history(record)  # the record was flushed and closed: its vitals read back
    assert start is not None and len(history) > 10


def test_gateway_refuses_a_bad_chair_or_broker_in_one_line(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["gateway", "--publish", "mqtt://127.0.0.1:1883"]) == 2
    assert "--publish needs --chair" in capsys.readouterr().err
    assert main(["gateway", "--publish", "mqtt://127.0.0.1:1883", "--chair", "room 3"]) == 2
    assert "chair name 'room 3'" in capsys.readouterr().err
    assert main(["gateway", "--publish", "http://x", "--chair", "a"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kapmonitor: error:") and len(err.strip().splitlines()) == 1
    assert main(["gateway", "--chair", "a"]) == 2
    assert "--chair needs --publish" in capsys.readouterr().err


def test_gateway_sends_hl7_to_the_interface_engine_and_records_the_acks(tmp_path: Path) -> None:
    from mqtt_support import free_port
    from test_hl7_out import Receiver, outbox_rows

    port = free_port()
    receiver = Receiver(port)
    receiver.start()
    record = tmp_path / "chair.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "kapmonitor", "gateway", "--scenario", "normal", "--speed", "120", "--session",
         str(record), "--hl7-out", f"tcp:127.0.0.1:{port}", "--chair", "room-4"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert wait_for(lambda: len(receiver.acked) >= 3 and any("-n" in i for i in receiver.acked), 30), \
            receiver.received
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        receiver.stop()
    assert proc.returncode == 0, err
    rows = outbox_rows(record)
    acked = {str(r["control_id"]) for r in rows if r["acked_at"] is not None}
    assert set(receiver.acked) <= acked | {str(r["control_id"]) for r in rows}
    assert set(receiver.acked) == acked  # an ACK the gateway read is in the record, and only those


def test_run_checks_publish_and_hl7_options_before_the_window(capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    png = str(tmp_path / "x.png")
    assert main(["run", "--chair", "a", "--screenshot", png]) == 2
    assert "--chair needs --publish" in capsys.readouterr().err
    assert main(["run", "--hl7-out", "tcp:engine:2575", "--screenshot", png]) == 2
    assert "--hl7-out needs --chair" in capsys.readouterr().err
    assert main(["run", "--hl7-out", "engine:2575", "--chair", "a", "--screenshot", png]) == 2
    assert "tcp:HOST:PORT" in capsys.readouterr().err
