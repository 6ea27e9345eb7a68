"""The session recorder against real SQLite files, including a kill -9 of a writing process."""

from __future__ import annotations

import os
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import LinkEvent, LinkState, RawFrame, Source, Status, VitalSample, WaveChunk
from kapmonitor.recording.database import SessionDatabaseError, open_for_writing, open_read_only
from kapmonitor.recording.reader import RecordReader
from kapmonitor.recording.recorder import SessionRecorder
from kapmonitor.recording.schema import SCHEMA_VERSION


def test_rows_of_every_kind_are_written(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    wave = np.linspace(0, 1, 100, dtype=np.float32)
    wave[5] = np.nan
    with SessionRecorder(path, meta={"driver": "simulated"}) as rec:
        rec.on_items([
            VitalSample(10.0, Parameter.HR, 72.0, Status.OK, Source.MONITOR),
            VitalSample(11.0, Parameter.SPO2, None, Status.SENSOR_OFF, Source.MONITOR),
            VitalSample(12.0, Parameter.NIBP_SYS, 130.0, Status.OK, Source.MONITOR, "m1"),
            WaveChunk(10.0, Parameter.PLETH, 100.0, wave),
            RawFrame(10.5, "rx", b"\x7e\x01\x7e"),
            LinkEvent(9.0, LinkState.CONNECTED, "ok"),
        ])
        rec.insert("clinical_events", {"t": 13.0, "category": "side-effect", "name": "nausea", "severity": "mild"})
        assert rec.flush()
    conn = open_read_only(path)
    rows = conn.execute("SELECT t, parameter, value, status, source, measurement_id FROM samples ORDER BY t").fetchall()
    assert rows == [
        (10.0, "hr", 72.0, "ok", "monitor", None),
        (11.0, "spo2", None, "sensor-off", "monitor", None),
        (12.0, "nibp_sys", 130.0, "ok", "monitor", "m1"),
    ]
    (wave_row,) = RecordReader(conn).rows("waves", "t0")  # stored compactly: read through the reader
    back = np.frombuffer(wave_row["data"], dtype="<f4")
    # the stated precision of the compact wave storage: 0.1 % of the chunk's full scale
    assert np.array_equal(np.isnan(back), np.isnan(wave))
    assert np.allclose(back[~np.isnan(back)], wave[~np.isnan(wave)], rtol=0, atol=0.001)
    assert RecordReader(conn).raw_frames() == [RawFrame(10.5, "rx", b"\x7e\x01\x7e")]  # stored in pieces
    assert conn.execute("SELECT state FROM link_events").fetchone()[0] == "connected"
    assert conn.execute("SELECT value FROM meta WHERE key='driver'").fetchone()[0] == "simulated"
    assert conn.execute("SELECT name FROM clinical_events").fetchone()[0] == "nausea"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_database_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "sessions" / "s.db"
    with SessionRecorder(path) as rec:
        rec.on_items([VitalSample(1.0, Parameter.HR, 70.0)])
        rec.flush()
        for f in path.parent.iterdir():
            assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_bad_row_is_reported_not_raised_and_the_rest_survives(tmp_path: Path) -> None:
    failures: list[str] = []
    path = tmp_path / "s.db"
    rec = SessionRecorder(path, on_failure=failures.append).start()
    rec.on_items([VitalSample(1.0, Parameter.HR, 70.0)])
    assert rec.flush()
    rec.insert("no_such_table", {"x": 1})
    assert not rec.flush()
    assert failures and "no_such_table" in failures[0]
    rec.stop()
    assert open_read_only(path).execute("SELECT count(*) FROM samples").fetchone()[0] == 1


def test_newer_schema_is_refused_and_not_modified(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(SessionDatabaseError, match="schema version"):
        open_read_only(path)
    with pytest.raises(SessionDatabaseError, match="schema version"):
        open_for_writing(path)
    assert path.read_bytes() == before


def test_corrupt_or_foreign_files_give_a_clear_error(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(SessionDatabaseError, match="not a readable session database"):
        open_read_only(garbage)
    with pytest.raises(SessionDatabaseError, match="no session database"):
        open_read_only(tmp_path / "missing.db")
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE x (y)").connection.close()
    with pytest.raises(SessionDatabaseError, match="not a kapmonitor session"):
        open_read_only(other)


WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from kapmonitor.model.parameters import Parameter
    from kapmonitor.model.samples import VitalSample
    from kapmonitor.recording.recorder import SessionRecorder

    rec = SessionRecorder(Path(sys.argv[1]), commit_interval=0.5).start()
    i = 0
    while True:
        # one sample per 10 ms, value = its own index, wall time of submission as t
        rec.on_items([VitalSample(time.time(), Parameter.HR, float(i))])
        i += 1
        if i == 50:
            print("writing", flush=True)
        time.sleep(0.01)
    """
)


def test_kill_9_loses_at_most_the_last_second(tmp_path: Path) -> None:
    path = tmp_path / "crash.db"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "writing"
        time.sleep(2.5)
        killed_at = time.time()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    conn = open_read_only(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = conn.execute("SELECT t, value FROM samples ORDER BY value").fetchall()
    values = [v for _, v in rows]
    assert values == [float(i) for i in range(len(values))]  # nothing missing in between
    assert killed_at - rows[-1][0] <= 1.0  # at most the last second lost
