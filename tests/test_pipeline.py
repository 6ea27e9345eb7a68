"""The whole headless pipeline on an accelerated simulator: alarms judged on the data's own time."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from kapmonitor.alarms.profile import default_profile
from kapmonitor.drivers.base import DriverOptions
from kapmonitor.drivers.simulator import SimulatedMonitor
from kapmonitor.model.clock import AcceleratedClock, DataPacedClock
from kapmonitor.pipeline import MonitoringPipeline


def run(tmp_path: Path, scenario: str, seconds: float, speed: float = 600) -> tuple[sqlite3.Connection, float]:
    clock = AcceleratedClock(speed)
    driver = SimulatedMonitor(DriverOptions(scenario=scenario, seed=2), clock)
    pipeline = MonitoringPipeline(driver, tmp_path / f"{scenario}.db", alarm_profile=default_profile())
    pipeline.start()
    deadline = time.monotonic() + seconds / speed + 20
    while time.monotonic() < deadline:
        time.sleep(0.05)
        if driver.patient is not None and pipeline.trends.last_time >= driver.patient.start_time + seconds:
            break
    pipeline.stop()
    conn = sqlite3.connect(tmp_path / f"{scenario}.db")
    assert driver.patient is not None
    return conn, driver.patient.infusion_start


def test_no_false_link_lost_under_acceleration(tmp_path: Path) -> None:
    conn, _ = run(tmp_path, "normal", 1200)
    assert conn.execute("SELECT count(*) FROM alarm_log WHERE alarm_id = 'link-lost'").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM samples WHERE parameter = 'hr'").fetchone()[0] >= 1200


def test_link_loss_scenario_raises_link_lost_at_the_right_time(tmp_path: Path) -> None:
    conn, infusion_start = run(tmp_path, "link-loss", 1100)
    rows = conn.execute("SELECT t, event FROM alarm_log WHERE alarm_id = 'link-lost' ORDER BY id").fetchall()
    raised = [t for t, e in rows if e == "raised"]
    ended = [t for t, e in rows if e == "condition_ended"]
    silent_from = infusion_start + 15 * 60
    assert raised == [pytest.approx(silent_from - 1 + 10)]  # 10 s after the last value
    assert ended == [pytest.approx(silent_from + 30)]


def test_hypertensive_raises_high_priority_bp_alarms(tmp_path: Path) -> None:
    conn, infusion_start = run(tmp_path, "hypertensive", 2500)
    rows = conn.execute("SELECT t, alarm_id, priority, event FROM alarm_log ORDER BY id").fetchall()
    high = [(t, a) for t, a, p, e in rows if p == "high" and a == "nibp_sys.upper"]
    assert rows and high, rows
    assert 30 * 60 <= high[0][0] - infusion_start <= 41 * 60


def test_paced_clock_moves_on_by_itself_when_the_source_is_silent() -> None:
    base = AcceleratedClock(1000)
    paced = DataPacedClock(base, allowance_s=0.05)
    start = paced.now()
    paced.observe(start + 5)
    assert paced.now() == pytest.approx(start + 5, abs=1)
    time.sleep(0.2)  # 200 s of base time with no data: more than the 50 s allowance
    assert paced.now() > start + 100
