"""End to end: GE S/5 emulator -> pseudo-terminal -> driver -> engine -> GUI, `hypertensive` scenario.

The emulator plays the monitor at 600x on one end of a socat PTY pair; the real driver reads the
other end through the real pipeline (dispatcher, engine, recorder); the real main window redraws
on its own timer. The severe rise must appear in the alarm bar as a high-priority alarm, the NIBP
tile must take the red alarm colour, and the alarm log must hold it in the session database.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest

from kapmonitor.alarms.model import AlarmEvent
from kapmonitor.alarms.profile import Priority, default_profile
from kapmonitor.alarms.supervisor import AlarmSupervisor
from kapmonitor.drivers.base import DriverOptions
from kapmonitor.drivers.ge_s5.emulator import run_emulator
from kapmonitor.drivers.registry import create_driver
from kapmonitor.model.clock import RealClock
from kapmonitor.pipeline import MonitoringPipeline

pytestmark = pytest.mark.slow


@pytest.fixture
def pty_pair(tmp_path: Path):  # type: ignore[no-untyped-def]
    if shutil.which("socat") is None:
        pytest.fail("socat is needed for the end-to-end test (apt-get install socat)")
    a, b = tmp_path / "monitor", tmp_path / "kapmonitor"
    proc = subprocess.Popen(["socat", f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 5
    while not (a.exists() and b.exists()):
        assert time.monotonic() < deadline, "socat did not create the PTY pair"
        time.sleep(0.02)
    yield a, b
    proc.terminate()
    proc.wait(5)


def test_hypertensive_infusion_raises_high_alarm_on_screen(qtbot, pty_pair, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from kapmonitor.bedside import WindowFacts
    from kapmonitor.ui.main_window import MainWindow

    monitor_end, our_end = pty_pair
    stop = threading.Event()
    emulator = threading.Thread(target=run_emulator, args=(str(monitor_end), "hypertensive", 600.0, 0, stop),
                                daemon=True)
    emulator.start()
    clock = RealClock()
    driver = create_driver("ge-s5", DriverOptions(port=str(our_end)), clock)
    db = tmp_path / "session.db"
    pipeline = MonitoringPipeline(driver, db, alarm_profile=default_profile())
    engine = pipeline.alarms
    assert engine is not None
    raised_at: dict[str, float] = {}

    def note(ev: AlarmEvent) -> None:
        if ev.alarm_id == "nibp_sys.upper" and ev.priority is Priority.HIGH and ev.alarm_id not in raised_at:
            raised_at[ev.alarm_id] = time.monotonic()

    engine.add_listener(note)
    supervisor = AlarmSupervisor(engine)
    window = MainWindow(WindowFacts(pipeline.trends, engine.profile, session_start=clock.now(), now_fn=clock.now,
                        simulated=False, device="GE S/5 emulator", engine=engine))
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    pipeline.start()
    supervisor.start()
    window.start()
    try:
        bar = window.alarm_bar
        assert bar is not None

        def high_shown() -> bool:
            return any(t.startswith("***") and "Systolic BP very high" in t for t in bar.row_texts())

        qtbot.waitUntil(high_shown, timeout=30_000)
        shown_at = time.monotonic()
        assert shown_at - raised_at["nibp_sys.upper"] < 0.5  # within a redraw or two of the engine
        text = next(t for t in bar.row_texts() if "Systolic BP very high" in t)
        value = float(text.split("NIBP sys ")[1].split()[0])  # value first: it survives a narrow bar
        assert value >= 180 and text.split(" \u00b7 ")[0].endswith(" 180")  # monitor wording: "195 > 180"
        assert window.nibp_tile.alarm_priority is Priority.HIGH
        assert "link-lost" not in {a.alarm_id for a in engine.active_alarms()}
        window.acknowledge_alarms()
        assert all(a.acknowledged for a in engine.active_alarms())
    finally:
        window.fast_timer.stop()
        window.trend_timer.stop()
        supervisor.stop()
        stop.set()
        pipeline.stop()
        emulator.join(5)
    rows = sqlite3.connect(db).execute(
        "SELECT event, priority, value, limit_value FROM alarm_log WHERE alarm_id = 'nibp_sys.upper' ORDER BY id"
    ).fetchall()
    assert rows[0][0] == "raised"
    assert any(r[1] == "high" and r[2] >= 180 and r[3] == 180 for r in rows)
    assert rows[-1][0] == "acknowledged"
