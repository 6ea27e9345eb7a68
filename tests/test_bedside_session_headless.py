"""The nurse's session is the Qt-free core's too: kapmonitor.bedside.Bedside, in its own interpreter that
never imports Qt, starts the simulator's demo session, creates a patient's session (in a new record), starts
and stops the infusion, discharges, starts the next session in yet another record, and on the way keeps the
alarm engine linked to the session shown; a patient's monitor then sets the last session aside. The records
are read back after the stop."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from kapmonitor.recording.reader import read_rows
from kapmonitor.session.storage import summarize

ROOT = Path(__file__).resolve().parent.parent

CHILD = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path

    from kapmonitor.bedside import Bedside
    from kapmonitor.config import MonitorChoice
    from kapmonitor.drivers.base import DriverOptions
    from kapmonitor.drivers.simulator import SimulatedMonitor
    from kapmonitor.model.clock import RealClock
    from kapmonitor.session.model import demo_setup

    clock = RealClock()
    bedside = Bedside(SimulatedMonitor(DriverOptions(seed=2), clock), clock, Path(sys.argv[1]), music=False)
    bedside.start(sound=False)
    facts = {}
    try:
        demo = bedside.begin_session()  # the simulator's demo session, in the record given
        facts["demo"] = [demo is not None and demo.simulated, bedside.session is demo,
                         bedside.alarm_link is not None]
        deadline = time.monotonic() + 20  # the demo session hears the monitor's readings
        while time.monotonic() < deadline and not demo.latest():
            time.sleep(0.05)
        setup = demo_setup().with_changes(pseudonym="KAP-7")
        session = bedside.create_session(setup, on_duty="AB")  # after a simulated one: a new record
        facts["record"] = str(bedside.pipeline.recorder.path)
        facts["linked"] = bedside.session is session and bedside.alarm_link is not None and bedside.who() == "AB"
        t0 = clock.now()
        session.start_infusion(t=t0, override_reason="headless check")
        facts["close_reason"] = bedside.close_reason()
        session.stop_infusion(t=t0 + 40 * 60, volume_ml=session.plan.volume_ml)
        session.discharge("AB", {item.key: True for item in session.discharge_items}, t=t0 + 101 * 60,
                          override_reason="headless check")
        facts["closed"] = session.closed
        after = bedside.create_session(setup.with_changes(pseudonym="KAP-8"))  # discharged: the next record
        facts["next_record"] = str(bedside.pipeline.recorder.path)
        facts["next"] = [after is not session, bedside.session is after, after.on_duty]
        # a patient's monitor instead of the simulator: a new record, the session of the old one set aside
        bedside.switch_monitor(MonitorChoice("ge-s5", sys.argv[2]))
        facts["set_aside"] = [bedside.session is None, bedside.alarm_link is None,
                              bedside.sessions.can_start_new_session(), bedside.who()]
    finally:
        bedside.stop()
    facts["qt"] = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6", "pyqtgraph"))
    print(json.dumps(facts))
    """
)


def test_the_bedside_creates_runs_and_discharges_a_session_without_qt(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    env = dict(os.environ, KAPMONITOR_DATA_DIR=str(tmp_path / "data"), KAPMONITOR_CONFIG_DIR=str(tmp_path / "config"))
    env.pop("DISPLAY", None)
    env.pop("QT_QPA_PLATFORM", None)
    proc = subprocess.run([sys.executable, "-c", CHILD, str(db), str(tmp_path / "no-port")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    facts = json.loads(proc.stdout.strip().splitlines()[-1])
    assert facts["qt"] == []  # not even imported on the way
    assert facts["demo"] == [True, True, True]
    assert facts["linked"] and facts["close_reason"] == "The infusion is running."
    assert facts["closed"] and facts["next"] == [True, True, "AB"]  # the nurse on duty stays signed in
    assert facts["set_aside"] == [True, True, True, "AB"]  # alarms unlinked from it; she is still on duty
    record, next_record = Path(facts["record"]), Path(facts["next_record"])
    assert len({db, record, next_record}) == 3  # never two sessions in one record
    # read back: the demo in its record, the patient's session discharged in hers, the next one just begun
    assert summarize(db).pseudonym == "DEMO-001"
    done = summarize(record)
    assert done.pseudonym == "KAP-7" and done.status == "discharged"
    events = [(row["action"], row["t"]) for table, row in read_rows(record, ["infusion_events"])
              if table == "infusion_events"]
    assert [action for action, _t in events] == ["start", "stop", "discharge"]
    assert float(events[1][1]) - float(events[0][1]) == 40 * 60  # type: ignore[arg-type]
    nxt = summarize(next_record)
    assert nxt.pseudonym == "KAP-8" and nxt.status != "discharged"
    assert not [row for table, row in read_rows(next_record, ["infusion_events"]) if table == "infusion_events"]
