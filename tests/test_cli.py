"""The command line: bad input ends in one line and exit code 2; the screenshot run end to end."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from shared_paths import CAPTURES

from kapmonitor.recording.reader import RecordReader


def kap(*args: str, env_extra: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "kapmonitor", *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


def test_version() -> None:
    from kapmonitor import __version__

    result = kap("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"kapmonitor {__version__}"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--driver", "nosuch"], "unknown driver 'nosuch'"),
        (["--speed", "-3"], "must be a positive number"),
        (["--speed", "fast"], "not a number"),
        (["--scenario", "zombie"], "unknown scenario 'zombie'"),
        (["--driver", "ge-s5"], "needs --port"),
        (["--driver", "ge-s5", "--port", "/dev/kapmonitor-no-such-port"], "cannot open port /dev/kapmonitor-no-such"),
        (["--screenshot", "out.jpg"], "must name a .png file"),
        (["--replay", "/nonexistent/capture.raw", "--driver", "ge-s5"], "cannot read capture"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str, tmp_path: Path) -> None:
    result = kap(*args, env_extra={"KAPMONITOR_DATA_DIR": str(tmp_path)})
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0]
    assert "Traceback" not in result.stderr


def test_no_display_is_a_clear_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = subprocess.run([sys.executable, "-m", "kapmonitor", "run"], capture_output=True, text=True, env=env,
                            timeout=60)
    assert result.returncode == 2
    assert "no display" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_unwritable_session_path_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = kap("--session", str(blocker / "s.db"), "--screenshot", str(tmp_path / "x.png"),
                 "--screenshot-after", "1", "--speed", "50")
    assert result.returncode == 2
    assert "cannot open session database" in result.stderr and "Traceback" not in result.stderr


def test_screenshot_of_forty_simulated_minutes(tmp_path: Path) -> None:
    png = tmp_path / "out.png"
    db = tmp_path / "session.db"
    result = kap("--screenshot", str(png), "--screenshot-after", "2400", "--speed", "600", "--session", str(db),
                 "--seed", "3", env_extra={"KAPMONITOR_DATA_DIR": str(tmp_path)}, timeout=90)
    assert result.returncode == 0, result.stderr
    from PySide6.QtGui import QImage

    image = QImage(str(png))
    assert image.width() >= 1280 and image.height() >= 800
    # the simulated banner's orange is in the picture (near the top, below the menus and the alarm bar)
    assert "#ff8c00" in {image.pixelColor(20, y).name() for y in range(0, 300)}
    conn = sqlite3.connect(db)
    hr_t = np.array([t for (t,) in conn.execute("SELECT t FROM samples WHERE parameter='hr' ORDER BY t")])
    assert hr_t[-1] - hr_t[0] >= 2400 - 1
    assert np.all(np.diff(hr_t) == 1.0)  # every second of those 40 minutes, none missing
    assert conn.execute("SELECT count(*) FROM samples WHERE parameter='nibp_sys' AND status='ok'").fetchone()[0] >= 8
    with RecordReader.open(db) as reader:  # waves are stored compactly: counted as read back
        pleth = sum(len(row["data"]) // 4 for row in reader.rows("waves", "t0"))
    assert pleth >= 2400 * 100
    assert conn.execute("SELECT value FROM meta WHERE key='simulated'").fetchone()[0] == "1"




def test_gui_replay_of_a_real_capture(tmp_path: Path) -> None:
    capture = CAPTURES / "ge_s5_carescape_db00.raw"
    assert capture.is_file(), f"capture missing: {capture}"
    png = tmp_path / "replay.png"
    db = tmp_path / "replay.db"
    result = kap("run", "--replay", str(capture), "--driver", "ge-s5", "--speed", "600", "--screenshot", str(png),
                 "--screenshot-after", "400", "--session", str(db), timeout=90)
    assert result.returncode == 0, result.stderr
    conn = sqlite3.connect(db)
    sources = {s for (s,) in conn.execute("SELECT DISTINCT source FROM samples")}
    assert sources == {"replay"}  # recorded data is never shown as live
    # the capture's own clock: 2018-08-02 14:30:20 UTC onwards
    first = conn.execute("SELECT min(t) FROM samples").fetchone()[0]
    assert 1533220219 <= first <= 1533220222
    assert len(RecordReader(conn).raw_frames()) > 100


def test_sigterm_ends_the_app_cleanly_with_the_record_flushed_even_mid_infusion(tmp_path: Path) -> None:
    import signal
    import time

    db = tmp_path / "s.db"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "KAPMONITOR_DATA_DIR": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-m", "kapmonitor", "run", "--speed", "60", "--session", str(db)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the demo infusion has started: the window refuses a plain close
            try:  # the file exists a moment before its first schema step is committed
                started = db.exists() and sqlite3.connect(db).execute(
                    "SELECT count(*) FROM infusion_events WHERE action = 'start'").fetchone()[0]
            except sqlite3.OperationalError:
                started = False
            if started:
                break
            time.sleep(0.2)
        else:
            pytest.fail("the demo infusion did not start")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT state FROM link_events ORDER BY rowid DESC LIMIT 1").fetchone()[0] == "closed"


def test_resumed_accelerated_runs_never_overlap_in_time(tmp_path: Path) -> None:
    """Each accelerated run records far ahead of the wall clock; the next run on the same record starts
    after its end, so the record's time never runs backwards (one HR value per time)."""
    db = tmp_path / "s.db"
    env = {"KAPMONITOR_DATA_DIR": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    ends = []
    for i in range(3):
        result = kap("--session", str(db), "--screenshot", str(tmp_path / f"{i}.png"), "--screenshot-after", "600",
                     "--speed", "300", env_extra=env)
        assert result.returncode == 0, result.stderr
        with sqlite3.connect(db) as conn:
            rows = conn.execute("SELECT t FROM samples WHERE parameter = 'hr' ORDER BY rowid").fetchall()
        times = [t for (t,) in rows]
        assert len(times) == len(set(times)), f"run {i}: HR values share times"
        assert times == sorted(times), f"run {i}: time ran backwards"
        ends.append(times[-1])
    assert ends[0] < ends[1] < ends[2]


def test_a_simulated_record_is_not_continued_by_a_real_monitor(tmp_path: Path) -> None:
    from kapmonitor.recording.recorder import SessionRecorder

    demo = tmp_path / "demo-sim.db"
    with SessionRecorder(demo, {"simulated": 1}):
        pass
    master, slave = os.openpty()  # a port that opens
    try:
        result = kap("--driver", "philips-intellivue", "--port", os.ttyname(slave), "--session", str(demo),
                     env_extra={"KAPMONITOR_DATA_DIR": str(tmp_path), "KAPMONITOR_CONFIG_DIR": str(tmp_path / "cfg")})
    finally:
        os.close(master)
        os.close(slave)
    assert result.returncode == 2 and "is simulated record" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
