"""Storage faults against real files and processes: a deleted record is noticed and recovered,
a full disk is waited out, a record has one writer, a damaged or foreign file is never written
into, refused files are never touched, broken records export with one clear line."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from benchmarks.faults import HOLDER  # the fault suite's record holder, one copy
from kapmonitor.export import ExportError, ExportOptions, run_export
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import VitalSample
from kapmonitor.recording.database import RecordInUseError, SessionDatabaseError, open_for_writing, open_read_only
from kapmonitor.recording.recorder import SessionRecorder

ROOT = Path(__file__).resolve().parent.parent


def kap(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "kapmonitor", *args], capture_output=True, text=True, env=env,
                          timeout=timeout, cwd=cwd)


class Feeder:
    """Submits one HR sample every `period` s, value = its index, until stopped."""

    def __init__(self, rec: SessionRecorder, period: float = 0.01) -> None:
        self.rec, self.period, self.count = rec, period, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.rec.on_items([VitalSample(1000.0 + self.count, Parameter.HR, float(self.count))])
            self.count += 1
            time.sleep(self.period)

    def __enter__(self) -> Feeder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def hr_values(path: Path) -> list[float]:
    conn = open_read_only(path)
    try:
        return [v for (v,) in conn.execute("SELECT value FROM samples WHERE parameter = 'hr' ORDER BY value")]
    finally:
        conn.close()


def sibling_files(folder: Path, label: str) -> list[Path]:
    return sorted(p for p in folder.iterdir() if f".{label}-" in p.name and p.suffix == ".db")


# -- defect 2: the record deleted mid-session --------------------------------------------------------------


def test_deleted_record_raises_the_alarm_within_2_s_and_recovers_every_sample(tmp_path: Path) -> None:
    path = tmp_path / "sessions" / "s.db"
    alarms: list[tuple[float, str]] = []
    recovered: list[float] = []
    rec = SessionRecorder(path, on_failure=lambda m: alarms.append((time.monotonic(), m)),
                          on_recovered=lambda: recovered.append(time.monotonic())).start()
    with Feeder(rec) as feeder:
        time.sleep(1.0)
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink()
        deleted_at = time.monotonic()
        deadline = deleted_at + 5
        while not recovered and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # recording goes on in the recovery file
    rec.stop()
    assert alarms, "no storage-failure alarm"
    assert alarms[0][0] - deleted_at <= 2.0 and "s.db was deleted" in alarms[0][1]
    assert recovered, "recording did not continue"
    (recovery,) = sibling_files(path.parent, "recovered")
    assert rec.path == recovery and not path.exists()
    text, ok = rec.status()
    assert not ok and recovery.name in text and "s.db was deleted" in text
    assert stat.S_IMODE(recovery.stat().st_mode) == 0o600
    # nothing recorded before or after the deletion is lost
    assert hr_values(recovery) == [float(i) for i in range(feeder.count)]
    conn = open_read_only(recovery)
    assert conn.execute("SELECT value FROM meta WHERE key = 'recovered_from'").fetchone() == ("s.db",)
    assert conn.execute("SELECT count(*) FROM alarm_log WHERE event = 'record_recovered'").fetchone() == (1,)
    conn.close()
    # and it exports as the session: every sample; the deleted name points to it
    with pytest.raises(ExportError, match=re.escape(f"its recording continued in {recovery.name}")):
        run_export(path, tmp_path / "out", ExportOptions(formats=("csv",)))
    result = run_export(recovery, tmp_path / "out", ExportOptions(formats=("csv",)))
    vitals = next(p for p in result.files if p.name.endswith("_vitals.csv"))
    assert len(vitals.read_text().strip().splitlines()) == feeder.count + 1


def test_moved_record_continues_in_a_recovery_file_beside_the_old_name(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    alarms: list[str] = []
    rec = SessionRecorder(path, on_failure=alarms.append, watch_interval=0.2).start()
    rec.on_items([VitalSample(1.0, Parameter.HR, 1.0)])
    assert rec.flush()
    os.rename(path, tmp_path / "elsewhere.db")
    time.sleep(1.0)
    rec.on_items([VitalSample(2.0, Parameter.HR, 2.0)])
    rec.stop()
    assert alarms and "s.db was deleted or moved" in alarms[0]
    (recovery,) = sibling_files(tmp_path, "recovered")
    assert hr_values(recovery) == [1.0, 2.0]


def test_deleted_journal_alone_is_noticed_and_its_commits_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    alarms: list[str] = []
    rec = SessionRecorder(path, on_failure=alarms.append, watch_interval=0.2).start()
    rec.on_items([VitalSample(float(i), Parameter.HR, float(i)) for i in range(500)])
    assert rec.flush()  # committed into the -wal, not yet into the database file
    path.with_name("s.db-wal").unlink()
    time.sleep(1.0)
    rec.on_items([VitalSample(500.0, Parameter.HR, 500.0)])
    rec.stop()
    assert alarms and "s.db-wal" in alarms[0]
    (recovery,) = sibling_files(tmp_path, "recovered")
    assert hr_values(recovery) == [float(i) for i in range(501)]


def test_running_pipeline_alarms_on_deletion_and_the_record_holds_the_whole_session(tmp_path: Path) -> None:
    from kapmonitor.alarms.engine import STORAGE_FAILURE
    from kapmonitor.alarms.model import ActiveAlarm
    from kapmonitor.alarms.profile import default_profile
    from kapmonitor.drivers.base import DriverOptions
    from kapmonitor.drivers.simulator import SimulatedMonitor
    from kapmonitor.model.clock import RealClock
    from kapmonitor.pipeline import MonitoringPipeline

    path = tmp_path / "live.db"
    pipeline = MonitoringPipeline(SimulatedMonitor(DriverOptions(seed=2), RealClock()), path,
                                  alarm_profile=default_profile())
    assert pipeline.alarms is not None
    pipeline.start()
    try:
        time.sleep(2.0)
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink()
        deleted_at = time.monotonic()
        assert _until(lambda: any(a.alarm_id == STORAGE_FAILURE for a in pipeline.alarms.active_alarms()), 2.0)
        assert time.monotonic() - deleted_at <= 2.0
        assert _until(lambda: pipeline.recorder.path != path and pipeline.recorder.failure is None, 5.0)

        def storage_alarm() -> ActiveAlarm:
            return next(a for a in pipeline.alarms.active_alarms() if a.alarm_id == STORAGE_FAILURE)  # type: ignore[union-attr]

        # the condition has ended (recording goes on) but the high alarm stays until acknowledged
        assert _until(lambda: storage_alarm().latched, 2.0)
        alarm = storage_alarm()
        assert not alarm.condition_present and pipeline.recorder.path.name in alarm.message
        text, ok = pipeline.recorder.status()
        assert not ok and pipeline.recorder.path.name in text
        time.sleep(1.0)
    finally:
        pipeline.stop()
    recovery = pipeline.recorder.path
    conn = open_read_only(recovery)
    try:
        times = [t for (t,) in conn.execute("SELECT t FROM samples WHERE parameter = 'hr' ORDER BY t")]
        events = [e for (e,) in conn.execute("SELECT event FROM alarm_log WHERE alarm_id = ?", (STORAGE_FAILURE,))]
    finally:
        conn.close()
    assert times[-1] - times[0] >= 3.0 and all(b - a <= 1.01 for a, b in itertools.pairwise(times))
    assert "raised" in events  # the alarm itself is in the recovered record


def _until(condition: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return bool(condition())  # type: ignore[operator]


# -- defect 3: a transient disk-full ---------------------------------------------------------------------


class FullDisk(SessionRecorder):
    """The recorder with its writes failing as SQLite fails on a full disk while `full` is set."""

    full = False

    def _write_items(self, conn: sqlite3.Connection, items: list) -> None:  # type: ignore[type-arg]
        if self.full:
            raise sqlite3.OperationalError("database or disk is full")
        super()._write_items(conn, items)


def test_recording_resumes_after_a_full_disk_and_counts_what_was_lost(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    events: list[str] = []
    rec = FullDisk(path, on_failure=lambda m: events.append("failed: " + m),
                   on_recovered=lambda: events.append("recovered"), retry_interval=0.2, buffer_limit=100)
    rec.start()
    for i in range(10):
        rec.on_items([VitalSample(float(i), Parameter.HR, float(i))])
    assert rec.flush()
    rec.full = True
    for i in range(10, 160):
        rec.on_items([VitalSample(float(i), Parameter.HR, float(i))])
    rec.insert("clinical_events", {"t": 150.0, "category": "note", "name": "note", "note": "kept"})
    assert not rec.flush()
    assert events == ["failed: the disk is full"]
    text, ok = rec.status()
    assert not ok and "NOT RECORDING: the disk is full" in text and "held in memory" in text
    assert rec.held_items <= 100
    rec.full = False
    deadline = time.monotonic() + 5
    while rec.failure is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert rec.failure is None and events[-1] == "recovered"
    assert rec.status() == ("\u25cf Recording s.db", True)
    rec.on_items([VitalSample(200.0, Parameter.HR, 200.0)])
    assert rec.flush()
    rec.stop()
    values = hr_values(path)
    # 151 held (150 values and the note) for room for 100: the oldest monitor values went first
    assert values == [float(i) for i in range(10)] + [float(i) for i in range(61, 160)] + [200.0]
    conn = open_read_only(path)
    assert conn.execute("SELECT note FROM clinical_events").fetchall() == [("kept",)]
    (gap,) = conn.execute("SELECT value, message FROM alarm_log WHERE event = 'recording_gap'").fetchall()
    conn.close()
    assert gap[0] == 51.0 and "51 lost" in gap[1]
    assert rec.lost_items == 51


def _mount_tmpfs(where: Path, size: str) -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)],
                          capture_output=True)
    return done.returncode == 0


@pytest.mark.slow
def test_real_full_filesystem_then_space_freed(tmp_path: Path) -> None:
    mnt = tmp_path / "small"
    if not _mount_tmpfs(mnt, "2m"):
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        path = mnt / "s.db"
        events: list[str] = []
        rec = SessionRecorder(path, on_failure=events.append, on_recovered=lambda: events.append("recovered"),
                              retry_interval=0.2).start()
        filler = mnt / "filler"
        with Feeder(rec, period=0.002) as feeder:
            time.sleep(0.3)
            text, ok = rec.status()  # a 2 MB disk: the status bar warns before it is full
            assert not ok and "s.db (disk almost full: 2 MB free)" in text
            with open(filler, "wb") as fh:  # fill the disk
                try:
                    while True:
                        fh.write(b"\0" * 65536)
                        fh.flush()
                except OSError:
                    pass
            deadline = time.monotonic() + 10
            while rec.failure is None and time.monotonic() < deadline:
                time.sleep(0.05)
            assert rec.failure == "the disk is full"
            time.sleep(0.5)
            filler.unlink()  # space returns
            deadline = time.monotonic() + 10
            while rec.failure is not None and time.monotonic() < deadline:
                time.sleep(0.05)
            assert rec.failure is None and events[-1] == "recovered"
            time.sleep(0.3)
        rec.stop()
        assert hr_values(path) == [float(i) for i in range(feeder.count)]  # nothing lost
        conn = open_read_only(path)
        assert conn.execute("SELECT count(*) FROM alarm_log WHERE event = 'recording_gap'").fetchone() == (1,)
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        conn.close()
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


# -- defect 7: one writer per record -----------------------------------------------------------------------


def test_second_recorder_in_this_process_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with SessionRecorder(path) as first:
        first.on_items([VitalSample(1.0, Parameter.HR, 70.0)])
        assert first.flush()
        with pytest.raises(RecordInUseError, match="one writer"):
            SessionRecorder(path).start()
        first.on_items([VitalSample(2.0, Parameter.HR, 71.0)])
        assert first.flush()  # the first one goes on unharmed
    assert hr_values(path) == [70.0, 71.0]
    with SessionRecorder(path) as again:  # released on stop
        assert again.flush()




@pytest.mark.slow
def test_second_kapmonitor_on_the_same_record_exits_2_and_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "same.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        # the record and its journal (the -shm index holds only readers' marks)
        files = {p.name: p.read_bytes() for p in tmp_path.iterdir() if not p.name.endswith("-shm")}
        names = sorted(p.name for p in tmp_path.iterdir())
        result = kap("run", "--session", str(path), "--screenshot", str(tmp_path / "x.png"),
                     "--screenshot-after", "1", "--speed", "50")
        assert result.returncode == 2, result.stderr
        assert "being recorded by another kapmonitor" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
        assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if not p.name.endswith("-shm")} == files
        assert sorted(p.name for p in tmp_path.iterdir()) == names  # nothing added
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(10)
    conn = open_read_only(path)
    assert conn.execute("SELECT value FROM meta WHERE key = 'driver'").fetchone() == ("first",)
    assert conn.execute("SELECT count(*) FROM samples").fetchone() == (100,)
    conn.close()


# -- defect 9: a damaged database is never written into ----------------------------------------------------------


def _damage(path: Path) -> None:
    """Overwrite the cell pointers of some b-tree pages: integrity_check fails, the header stays."""
    data = bytearray(path.read_bytes())
    page = 4096
    for n in range(4, len(data) // page, 3):
        data[n * page + 8:n * page + 40] = b"\0" * 32
    path.write_bytes(data)


def _recorded(path: Path, n: int = 5000) -> None:
    with SessionRecorder(path) as rec:
        rec.on_items([VitalSample(float(i), Parameter.HR, 70.0) for i in range(n)])


def test_damaged_record_is_left_untouched_and_a_new_one_is_started(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _recorded(path)
    _damage(path)
    before = path.read_bytes()
    told: list[str] = []
    with SessionRecorder(path, on_failure=told.append) as rec:
        rec.on_items([VitalSample(1.0, Parameter.HR, 99.0)])
        assert rec.flush()
        text, ok = rec.status()
    assert path.read_bytes() == before
    assert not path.with_name("old.db-wal").exists()
    (fresh,) = sibling_files(tmp_path, "continued")
    assert rec.path == fresh and hr_values(fresh) == [99.0]
    assert told and "old.db is damaged" in told[0]
    assert not ok and fresh.name in text and "old.db is damaged" in text
    with pytest.raises(SessionDatabaseError, match="damaged"):
        open_for_writing(path)


# -- defect 10: refused files are never modified ----------------------------------------------------------------


def test_refused_files_keep_their_content_and_mode(tmp_path: Path) -> None:
    text = tmp_path / "text.db"
    text.write_text("shopping list\n")
    os.chmod(text, 0o644)
    foreign = tmp_path / "foreign.db"
    sqlite3.connect(foreign).execute("CREATE TABLE contacts (name)").connection.close()
    os.chmod(foreign, 0o644)
    target = tmp_path / "target.db"
    _recorded(target, 10)
    os.chmod(target, 0o644)
    link = tmp_path / "link.db"
    link.symlink_to(target)
    for path, message in ((text, "not an SQLite file"), (foreign, "not a kapmonitor session"),
                          (link, "symbolic link")):
        before = {p.name: (p.read_bytes(), stat.S_IMODE(p.stat().st_mode)) for p in tmp_path.iterdir()}
        with pytest.raises(SessionDatabaseError, match=message):
            SessionRecorder(path).start()
        after = {p.name: (p.read_bytes(), stat.S_IMODE(p.stat().st_mode)) for p in tmp_path.iterdir()}
        assert after == before, path


@pytest.mark.slow
def test_run_on_a_text_file_exits_2_without_changing_it(tmp_path: Path) -> None:
    text = tmp_path / "text.db"
    text.write_text("not a database\n")
    os.chmod(text, 0o644)
    result = kap("run", "--session", str(text), "--screenshot", str(tmp_path / "x.png"),
                 "--screenshot-after", "1", "--speed", "50")
    assert result.returncode == 2 and "not an SQLite file" in result.stderr, result.stderr
    assert stat.S_IMODE(text.stat().st_mode) == 0o644 and text.read_text() == "not a database\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["text.db"]


def test_decode_of_a_closed_record_leaves_nothing_behind_and_refuses_a_newer_schema(tmp_path: Path) -> None:
    from kapmonitor.model.samples import RawFrame

    path = tmp_path / "s.db"
    with SessionRecorder(path) as rec:
        rec.on_items([RawFrame(1.0, "rx", b"\x7e\x00\x7e")])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.db"]
    result = kap("decode", str(path), "--driver", "ge-s5")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.db"]
    future = tmp_path / "future.db"
    conn = sqlite3.connect(future)
    conn.executescript("CREATE TABLE raw_frames (t, direction, data); PRAGMA user_version = 99;")
    conn.close()
    before = future.read_bytes()
    result = kap("decode", str(future), "--driver", "ge-s5")
    assert result.returncode == 2 and "schema version 99" in result.stderr
    assert future.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["future.db", "s.db"]


# -- defect 11: broken records export with one clear line -----------------------------------------------------------


def test_broken_records_export_with_a_clear_one_line_error(tmp_path: Path) -> None:
    dropped = tmp_path / "dropped.db"
    _recorded(dropped, 10)
    conn = sqlite3.connect(dropped)
    conn.execute("DROP TABLE sample_rows")  # the table that holds the samples (schema version 5)
    conn.close()
    foreign = tmp_path / "foreign.db"
    conn = sqlite3.connect(foreign)
    conn.executescript("CREATE TABLE contacts (name); PRAGMA user_version = 1;")
    conn.close()
    corrupt = tmp_path / "corrupt.db"
    _recorded(corrupt, 20000)
    _damage(corrupt)
    cases = ((dropped, "table(s) sample_rows missing"), (foreign, "not a kapmonitor session"),
             (corrupt, "integrity check failed"))
    for path, message in cases:
        with pytest.raises(ExportError, match=re.escape(message)):
            run_export(path, tmp_path / "out", ExportOptions(formats=("csv",)))
        result = kap("export", str(path), "-f", "csv", "-o", str(tmp_path / "out"))
        assert result.returncode == 2 and message in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "out").exists()


# -- the fault suite's short variant (CI) ------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_fault_suite_short_variant_meets_every_target(tmp_path: Path) -> None:
    out = tmp_path / "faults.json"
    proc = subprocess.run([sys.executable, "-m", "benchmarks.faults", "--short", "--out", str(out)], cwd=ROOT,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}, capture_output=True, text=True,
                          timeout=540)
    doc = json.loads(out.read_text())
    figures = {r["figure"]: r for r in doc["results"]}
    assert set(figures) >= {  # the storage faults (the suite also covers the monitor link and de-identification)
        "faults.kill9.max_loss", "faults.disk_full.resume_after_free", "faults.disk_full.values_lost",
        "faults.deleted.alarm_delay", "faults.deleted.values_lost", "faults.two_writers.refused",
    }
    failed = [f"{name}: {r['value']} {r['unit']} ({r['note']})" for name, r in figures.items() if r["pass"] is not True]
    assert failed == [] and proc.returncode == 0, (failed, proc.stdout, proc.stderr[-2000:])
    assert figures["faults.kill9.max_loss"]["value"] <= 1.0 and figures["faults.kill9.max_loss"]["runs"] == 3
    assert figures["faults.deleted.alarm_delay"]["value"] <= 2.0
