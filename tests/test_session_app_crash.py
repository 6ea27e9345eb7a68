"""Crash recovery of the whole application: `kapmonitor run` with the simulated monitor is killed
with SIGKILL mid-infusion; the record is found as unfinished, the nurse's session resumes from it
(clock, phase, entries), and the application itself reopens it with `--session`.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kapmonitor.model.clock import ManualClock
from kapmonitor.recording.database import open_read_only
from kapmonitor.session import NurseSession, Phase
from kapmonitor.session.storage import find_unfinished_sessions

ROOT = Path(__file__).resolve().parents[1]


def _env(tmp_path: Path) -> dict[str, str]:
    return dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        KAPMONITOR_DATA_DIR=str(tmp_path / "data"),
        KAPMONITOR_CONFIG_DIR=str(tmp_path / "config"),
        KAPMONITOR_CACHE_DIR=str(tmp_path / "cache"),
        PYTHONPATH=str(ROOT),
    )


def _query(db: Path, sql: str) -> list[tuple[object, ...]]:
    try:
        conn = open_read_only(db)
    except Exception:
        return []
    try:
        return conn.execute(sql).fetchall()
    except sqlite3.Error:
        return []
    finally:
        conn.close()


@pytest.mark.slow
def test_kill_9_of_the_app_mid_infusion_then_resume(tmp_path: Path) -> None:
    db = tmp_path / "data" / "sessions" / "crash.db"
    env = _env(tmp_path)
    cmd = [sys.executable, "-m", "kapmonitor", "run", "--speed", "60", "--session", str(db)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        started: float | None = None
        while time.monotonic() < deadline and proc.poll() is None:
            rows = _query(db, "SELECT t FROM infusion_events WHERE action = 'start'")
            if rows:
                started = float(rows[0][0])  # type: ignore[arg-type]
                break
            time.sleep(0.2)
        assert started is not None, f"the app never started the demo infusion: {proc.poll()}"
        time.sleep(3.0)  # about 3 simulated minutes of infusion, with vitals being recorded
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == -signal.SIGKILL, err

    samples = _query(db, "SELECT count(*), max(t) FROM samples")
    assert samples and int(samples[0][0]) > 0  # type: ignore[call-overload]
    last_sample = float(samples[0][1])  # type: ignore[arg-type]
    assert last_sample > started + 60  # vitals recorded well into the infusion

    (unfinished,) = find_unfinished_sessions(db.parent, include_simulated=True)
    assert unfinished.path == db and unfinished.phase == "infusion" and unfinished.simulated
    assert find_unfinished_sessions(db.parent) == []  # a demo is never offered for a real patient

    # the restarted program: the infusion clock and phase come back from the record
    clock = ManualClock(last_sample + 120)
    session = NurseSession.resume(db, clock, who="AB")
    try:
        assert session.phase() is Phase.INFUSION
        assert session.infusion.started_at == started
        assert session.infusion.elapsed_s(clock.now()) == pytest.approx(clock.now() - started)
        assert session.setup.pseudonym == "DEMO-001" and session.simulated
        session.pause_infusion("line check")
        clock.advance(60)
        session.stop_infusion()
        assert session.flush()
    finally:
        session.shutdown()
    actions = [a for (a,) in _query(db, "SELECT action FROM infusion_events ORDER BY id")]
    assert actions == ["start", "recovered", "pause", "stop"]

    # and the application itself reopens the same record as the session (screenshot mode exits)
    shot = tmp_path / "resumed.png"
    done = subprocess.run(
        [*cmd, "--screenshot", str(shot), "--screenshot-after", "5"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert shot.stat().st_size > 0
    actions = [a for (a,) in _query(db, "SELECT action FROM infusion_events ORDER BY id")]
    assert actions == ["start", "recovered", "pause", "stop", "recovered"]
    assert _query(db, "SELECT count(*) FROM session_info WHERE key = 'pseudonym'") == [(1,)]
