"""The real program (`kapmonitor run --driver X --port ... --screenshot`) offscreen against each new
emulator: HL7 over real loopback TCP, Masimo and Ivy over real PTYs (socat). The record holds the
monitor's values and the PNG of the nurse's window is written."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from ge_s5_support import PtyPair

from kapmonitor.drivers.hl7.emulator import run_emulator as run_hl7
from kapmonitor.drivers.ivy.emulator import run_emulator as run_ivy
from kapmonitor.drivers.masimo.emulator import run_emulator as run_masimo

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.timeout(120)


def run_app(tmp_path: Path, driver: str, port: str) -> tuple[dict[str, int], dict[str, str], Path]:
    """Run the program until its screenshot; (valid values per parameter, meta, png)."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", KAPMONITOR_DATA_DIR=str(tmp_path / "data"),
               KAPMONITOR_CONFIG_DIR=str(tmp_path / "config"), PYTHONPATH=str(ROOT))
    png, db = tmp_path / "shot.png", tmp_path / "session.db"
    done = subprocess.run([sys.executable, "-m", "kapmonitor", "run", "--driver", driver, "--port", port,
                           "--session", str(db), "--screenshot", str(png), "--screenshot-after", "5"],
                          env=env, capture_output=True, text=True, timeout=100)
    assert done.returncode == 0, done.stderr
    con = sqlite3.connect(db)
    try:
        counts = dict(con.execute("SELECT parameter, count(*) FROM samples WHERE value IS NOT NULL "
                                  "AND source = 'monitor' GROUP BY parameter"))
        meta = dict(con.execute("SELECT key, value FROM meta"))
    finally:
        con.close()
    return counts, meta, png


def assert_png(png: Path) -> None:
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000  # a real window, not an empty image
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width >= 800 and height >= 600


def emulator(run: Callable[..., None], port: str, **kwargs: object) -> threading.Event:
    stop = threading.Event()
    threading.Thread(target=run, args=(port, "normal", 5.0, 4, stop), kwargs=kwargs, daemon=True).start()
    return stop


def test_hl7_emulator_over_tcp(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    stop = emulator(run_hl7, f"tcp:127.0.0.1:{port}", dialect="mindray")  # it connects once the app listens
    try:
        counts, meta, png = run_app(tmp_path, "hl7", f"listen:127.0.0.1:{port}")
    finally:
        stop.set()
    assert meta["driver"] == "hl7" and meta["simulated"] == "0"
    assert counts.get("hr", 0) > 0 and counts.get("spo2", 0) > 0, counts
    assert_png(png)


@pytest.mark.parametrize(("driver", "run", "expected"), [
    ("masimo-ascii1", run_masimo, ("spo2", "pulse_rate")),
    ("ivy-450c", run_ivy, ("hr", "spo2", "resp_rate", "etco2")),
])
def test_serial_emulators_over_a_pty(tmp_path: Path, driver: str, run: Callable[..., None],
                                     expected: tuple[str, ...]) -> None:
    pty = PtyPair(tmp_path)
    stop = emulator(run, pty.monitor_end)
    try:
        counts, meta, png = run_app(tmp_path, driver, pty.pc_end)
    finally:
        stop.set()
        pty.close()
    assert meta["driver"] == driver and meta["simulated"] == "0"
    for parameter in expected:
        assert counts.get(parameter, 0) > 0, (parameter, counts)
    assert_png(png)
