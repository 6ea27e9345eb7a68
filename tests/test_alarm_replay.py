"""`kapmonitor replay` reruns the alarm engine on the capture's clock: a silent stretch in a GE S/5
capture raises link lost 10 s (capture time) after the last data, every time the same."""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path

import pytest

from kapmonitor.drivers.ge_s5 import protocol as p
from kapmonitor.drivers.ge_s5.emulator import GeS5MonitorState
from kapmonitor.drivers.simulator import SimulatedPatient
from kapmonitor.model.samples import Source

START = 1_790_000_000.0


def _capture(path: Path, seconds: int) -> None:
    """The monitor's bytes of `seconds` of the link-loss scenario (30 s of silence at minute 15)."""
    state = GeS5MonitorState(SimulatedPatient(START, "link-loss", 0, source=Source.MONITOR))
    state.displ_on = True
    out = bytearray()
    for _ in range(seconds):
        t, silent = state.advance()
        if not silent:
            out += p.frame(state.displayed_record(t + 1))
    path.write_bytes(bytes(out))


def test_silent_stretch_raises_link_lost_at_capture_time(tmp_path: Path) -> None:
    replay = pytest.importorskip("kapmonitor.commands.replay")
    capture = tmp_path / "capture.bin"
    _capture(capture, 60 + 15 * 60 + 120)
    logs = []
    for n in range(2):
        session = tmp_path / f"replay{n}.db"
        replay.replay_to_session(capture, "ge-s5", session)
        conn = sqlite3.connect(session)
        logs.append(conn.execute(
            "SELECT t, alarm_id, event, priority FROM alarm_log WHERE kind = 'technical' ORDER BY id").fetchall())
        sample_times = [r[0] for r in conn.execute(
            "SELECT DISTINCT t FROM samples WHERE parameter = 'hr' ORDER BY t").fetchall()]
        conn.close()
    assert logs[0] == logs[1]  # a replay is a faithful, repeatable rerun
    gaps = [(a, b) for a, b in itertools.pairwise(sample_times) if b - a > 5]
    assert len(gaps) == 1
    last_before, first_after = gaps[0]
    link = [(t, ev, prio) for t, alarm_id, ev, prio in logs[0] if alarm_id == "link-lost"]
    assert link[0] == (pytest.approx(last_before + 10.0), "raised", "high")
    assert link[1][1] == "condition_ended" and link[1][0] == pytest.approx(first_after, abs=1.0)
