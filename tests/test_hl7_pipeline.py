"""The app's pipeline on the hl7 driver over real TCP: vitals recorded into a real session database,
each NIBP once, and a monitor in demo mode never recorded or alarmed as the patient's."""

from __future__ import annotations

import socket
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from shared_paths import PROTOCOLS

from kapmonitor.alarms.profile import default_profile
from kapmonitor.commands.replay import replay_to_session
from kapmonitor.drivers.base import DriverOptions
from kapmonitor.drivers.hl7.driver import Hl7Driver
from kapmonitor.drivers.hl7.emulator import run_emulator
from kapmonitor.drivers.hl7.message import format_ts
from kapmonitor.drivers.hl7.mllp import frame
from kapmonitor.model.clock import RealClock
from kapmonitor.pipeline import MonitoringPipeline
from kapmonitor.recording.reader import RecordReader

HL7 = PROTOCOLS / "hl7"


def start_pipeline(tmp_path: Path) -> tuple[MonitoringPipeline, Hl7Driver, Path]:
    driver = Hl7Driver(DriverOptions(port="listen:127.0.0.1:0"), RealClock())
    db = tmp_path / "session.db"
    pipeline = MonitoringPipeline(driver, db, alarm_profile=default_profile())
    pipeline.start()
    end = time.monotonic() + 10
    while driver.bound_port is None:
        assert time.monotonic() < end, "the hl7 listener did not open"
        time.sleep(0.02)
    return pipeline, driver, db


def test_emulated_monitor_over_tcp_is_recorded_in_the_session(tmp_path: Path) -> None:
    pipeline, driver, db = start_pipeline(tmp_path)
    stop = threading.Event()
    emu = threading.Thread(target=run_emulator, args=(f"tcp:127.0.0.1:{driver.bound_port}", "normal", 10.0, 4, stop),
                           kwargs={"dialect": "mindray"})
    emu.start()
    try:
        time.sleep(5.0)  # 50 monitor seconds: the first cuff measurement ends at 30 s
    finally:
        stop.set()
        emu.join(5)
        pipeline.stop()
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT parameter, count(*), min(status), max(status), min(source) FROM samples "
                        "GROUP BY parameter").fetchall()
    by = {r[0]: r[1:] for r in rows}
    for parameter in ("hr", "spo2", "pulse_rate"):
        assert by[parameter][0] >= 3 and by[parameter][1:] == ("ok", "ok", "monitor"), rows
    nibp = conn.execute("SELECT parameter, value, measurement_id FROM samples WHERE parameter LIKE 'nibp%' "
                        "AND status = 'ok'").fetchall()
    assert sorted(r[0] for r in nibp) == ["nibp_dia", "nibp_mean", "nibp_sys"]  # once, though sent ~20 times
    assert len({r[2] for r in nibp}) == 1 and nibp[0][2]
    raw = RecordReader(conn).raw_frames()
    assert sum(f.direction == "rx" for f in raw) >= 3
    assert sum(f.direction == "tx" for f in raw) >= 3  # the ACKs
    states = [r[0] for r in conn.execute("SELECT state FROM link_events ORDER BY t")]
    assert "connected" in states
    assert conn.execute("SELECT value FROM meta WHERE key = 'simulated'").fetchone()[0] in (0, "0")
    # the record's received frames replay into the same values
    hr_live = conn.execute("SELECT t, value FROM samples WHERE parameter = 'hr' ORDER BY rowid").fetchall()
    replay_to_session(db, "hl7", tmp_path / "replayed.db")
    again = sqlite3.connect(tmp_path / "replayed.db")
    hr_replayed = again.execute("SELECT value FROM samples WHERE parameter = 'hr' AND source = 'replay' "
                                "ORDER BY rowid").fetchall()
    assert [v for _, v in hr_live] == [v for (v,) in hr_replayed]


@pytest.mark.parametrize("demo", [True, False])
def test_demo_mode_is_recorded_as_demo_and_never_alarmed(tmp_path: Path, demo: bool) -> None:
    now = format_ts(time.time())
    message = (HL7 / "mindray_vs900_demo_mode.hl7").read_bytes()
    message = message.replace(b"20200212125541", now.encode()).replace(b"20200212125008", now.encode())
    message = message.replace(b"|166|", b"|230|")  # far above the NIBP limit
    if not demo:
        message = message.replace(b"||DEMO|||", b"||||||")
    pipeline, driver, db = start_pipeline(tmp_path)
    try:
        with socket.create_connection(("127.0.0.1", driver.bound_port or 0), timeout=5) as sock:
            sock.sendall(frame(message))
            sock.recv(4096)  # the ACK: the message has been decoded
        time.sleep(2.0)
    finally:
        pipeline.stop()
    conn = sqlite3.connect(db)
    statuses = {r[0] for r in conn.execute("SELECT DISTINCT status FROM samples WHERE parameter IN "
                                           "('spo2', 'pulse_rate', 'nibp_sys', 'nibp_dia', 'nibp_mean')")}
    limit_alarms = conn.execute("SELECT count(*) FROM alarm_log WHERE alarm_id = 'nibp_sys.upper' "
                                "AND event = 'raised'").fetchone()[0]
    technical = [r[0] for r in conn.execute("SELECT message FROM alarm_log WHERE kind = 'technical' "
                                            "AND event = 'raised'")]
    notices = [r[0] for r in conn.execute("SELECT code FROM device_notices")]
    if demo:
        assert statuses == {"demo"}
        assert limit_alarms == 0
        assert "demo-mode" in notices
        assert any("demo data" in m for m in technical)  # the nurse is told, as a technical alarm
    else:  # the same values from a patient do alarm: the test above can fail
        assert statuses == {"ok"}
        assert limit_alarms >= 1
        assert "demo-mode" not in notices
        assert not any("demo data" in m for m in technical)
