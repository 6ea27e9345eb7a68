"""After a restart the nurse sees the whole session again: the recorded vitals are back on the trend."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np

from kapmonitor.drivers.base import DriverOptions
from kapmonitor.drivers.simulator import SimulatedMonitor, SimulatedPatient, run_patient_for
from kapmonitor.model.clock import RealClock
from kapmonitor.model.parameters import Parameter
from kapmonitor.recording.recorder import SessionRecorder


def test_a_resumed_record_shows_its_earlier_vitals(qtbot, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from kapmonitor.recording.reader import read_history
    from kapmonitor.ui.app import MonitorApplication

    monkeypatch.setenv("KAPMONITOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KAPMONITOR_CONFIG_DIR", str(tmp_path / "config"))
    clock = RealClock()
    start = clock.now() - 1200  # a record of the 20 minutes before the restart
    db = tmp_path / "s.db"
    with SessionRecorder(db, meta={"created_at": start}) as rec:
        rec.on_items(run_patient_for(SimulatedPatient(start, "normal", seed=4), 1200))
        rec.flush()
    recorded_hr = sqlite3.connect(db).execute("SELECT count(*) FROM samples WHERE parameter = 'hr'").fetchone()[0]
    history, first = read_history(db)
    assert first == start and sum(s.parameter is Parameter.HR for s in history) == recorded_hr

    app = MonitorApplication(SimulatedMonitor(DriverOptions(), clock), clock, db, None)
    app.start(sound=False)
    try:
        window = app.window
        qtbot.addWidget(window)
        assert app.bedside.session_start == start
        window.refresh_trend()
        x, y = window.trend_plot.hr_curve.getOriginalDataset()
        assert np.count_nonzero(np.isfinite(y)) >= recorded_hr and x[0] < 1.0  # from minute 0, not the restart
    finally:
        app.stop()


def test_no_history_for_a_new_or_unreadable_file(tmp_path: Path) -> None:
    from kapmonitor.recording.reader import read_history

    assert read_history(tmp_path / "new.db") == ([], None)
    (tmp_path / "junk.db").write_bytes(b"not a database" * 50)
    assert read_history(tmp_path / "junk.db") == ([], None)
