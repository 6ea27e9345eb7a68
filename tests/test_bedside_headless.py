"""The bedside runs without a screen (a later `kapmonitor gateway`): kapmonitor.bedside.Bedside, in its
own interpreter that never imports Qt, reads the simulator, records into a real session database,
raises the simulated desaturation alarm, answers the questions the window asks of it, and stops
cleanly (no thread left behind, the record complete). Switching the monitor is the core's too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kapmonitor.model.parameters import Parameter
from kapmonitor.recording.reader import read_rows, read_vitals

ROOT = Path(__file__).resolve().parent.parent

CHILD = textwrap.dedent(
    """
    import json, sys, threading, time
    from pathlib import Path

    from kapmonitor.bedside import Bedside
    from kapmonitor.drivers.base import DriverOptions
    from kapmonitor.drivers.simulator import SimulatedMonitor
    from kapmonitor.model.clock import AcceleratedClock
    from kapmonitor.model.parameters import Parameter

    clock = AcceleratedClock(600)  # the desaturation starts 21 simulated minutes in: ~2 s here
    bedside = Bedside(SimulatedMonitor(DriverOptions(scenario="desaturation", seed=3), clock), clock,
                      Path(sys.argv[1]))
    bedside.start(sound=False)
    alarm = None
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline and alarm is None:
        alarm = next((a.alarm_id for a in bedside.alarms.active_alarms()
                      if a.parameter is Parameter.SPO2 and a.condition_present), None)
        time.sleep(0.05)
    facts = {
        "alarm": alarm,
        "device": bedside.device_text(),
        "simulated": bedside.simulated,
        "who": bedside.who(),
        "close_reason": bedside.close_reason(),
        "recording": list(bedside.recording_text()),
        "hr_shown": bedside.trends.latest(Parameter.HR) is not None,
        "can_switch": bedside.can_switch_monitor(),
    }
    bedside.stop()
    facts["threads_left"] = [t.name for t in threading.enumerate()
                             if t is not threading.main_thread() and not t.daemon and t.is_alive()]
    facts["qt"] = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6", "pyqtgraph"))
    print(json.dumps(facts))
    """
)


def test_the_bedside_runs_headless_records_and_alarms(tmp_path: Path) -> None:
    db = tmp_path / "headless.db"
    env = dict(os.environ, KAPMONITOR_DATA_DIR=str(tmp_path / "data"), KAPMONITOR_CONFIG_DIR=str(tmp_path / "config"))
    env.pop("DISPLAY", None)
    env.pop("QT_QPA_PLATFORM", None)
    proc = subprocess.run([sys.executable, "-c", CHILD, str(db)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    facts = json.loads(proc.stdout.strip().splitlines()[-1])
    assert facts["qt"] == []  # not even imported on the way
    assert facts["alarm"] is not None, "the simulated desaturation raised no SpO2 alarm"
    assert facts["simulated"] and facts["device"] == "Simulated monitor \u2014 scenario desaturation"
    assert facts["who"] is None and facts["close_reason"] is None  # nobody on duty, no session to guard
    assert facts["recording"][1] is True and facts["hr_shown"] and facts["can_switch"] is None
    assert facts["threads_left"] == []  # stopped cleanly
    # the record holds the vitals and the alarm, read back after the stop
    vitals = read_vitals(db)
    assert any(s.parameter is Parameter.HR for s in vitals)
    assert any(s.parameter is Parameter.SPO2 and s.value is not None and s.value < 90 for s in vitals)
    alarms = [row for table, row in read_rows(db, ["alarm_log"]) if table == "alarm_log"]
    assert any(row["alarm_id"] == facts["alarm"] and row["event"] == "raised" for row in alarms), alarms


def test_the_core_switches_monitor_and_tells_its_window(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Monitor switching is the core's typed method: from the simulator to a patient's monitor a new
    record starts, the callbacks (the window, the session dock) hear of it, and the choice is saved."""
    from kapmonitor.bedside import Bedside, MonitorSwitch
    from kapmonitor.config import MonitorChoice, load_monitor_choice
    from kapmonitor.drivers.base import DriverOptions
    from kapmonitor.drivers.errors import DriverError
    from kapmonitor.drivers.simulator import SimulatedMonitor
    from kapmonitor.model.clock import AcceleratedClock, RealClock

    monkeypatch.setenv("KAPMONITOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KAPMONITOR_CONFIG_DIR", str(tmp_path / "config"))
    port = str(tmp_path / "no-port")
    fast = AcceleratedClock(10)
    bedside = Bedside(SimulatedMonitor(DriverOptions(seed=1), fast), fast, tmp_path / "sim.db", music=False)
    with pytest.raises(DriverError, match="real time"):  # a real monitor runs in real time: refused
        bedside.switch_monitor(MonitorChoice("ge-s5", port))
    assert bedside.simulated and bedside.pipeline.recorder.path == tmp_path / "sim.db"  # nothing changed
    clock = RealClock()
    bedside = Bedside(SimulatedMonitor(DriverOptions(seed=1), clock), clock, tmp_path / "sim2.db", music=False)
    heard: list[MonitorSwitch] = []
    bedside.on_monitor_switched.append(heard.append)
    bedside.start(sound=False)
    try:
        assert bedside.switch_warning(MonitorChoice("ge-s5", port)) is None  # no session to leave
        message = bedside.switch_monitor(MonitorChoice("ge-s5", port))
        assert len(heard) == 1 and heard[0].driver is bedside.driver and heard[0].message == message
        assert heard[0].new_record == bedside.pipeline.recorder.path != tmp_path / "sim2.db"
        assert not bedside.simulated and bedside.device_text().endswith(f"on {port}")
        assert "new session record" in message and bedside.current_monitor() == MonitorChoice("ge-s5", port, None)
        assert load_monitor_choice() == (MonitorChoice("ge-s5", port, None), None)  # used at the next start
    finally:
        bedside.stop()
