"""Replay: a capture through the live pipeline on its own clock; same capture, same session."""

from __future__ import annotations

import math
import sqlite3
from datetime import datetime
from pathlib import Path

import pytest
from shared_paths import CAPTURES

from kapmonitor.cli import main
from kapmonitor.commands.replay import replay_to_session
from kapmonitor.drivers.base import DriverOptions
from kapmonitor.drivers.ge_s5 import protocol as p
from kapmonitor.drivers.replay import ReplayDriver
from kapmonitor.model.clock import ManualClock
from kapmonitor.model.samples import Item, RawFrame, VitalSample
from kapmonitor.recording.reader import RecordReader

DB00 = CAPTURES / "ge_s5_carescape_db00.raw"

TABLES = {
    "samples": "t, parameter, value, status, source, measurement_id",
    "waves": "t0, parameter, rate_hz, data, source",
    "raw_frames": "t, direction, data",
    "link_events": "t, state, detail",
    "alarm_log": "t, alarm_id, event, priority, message",
}


def _t(hms: str) -> float:
    return datetime.fromisoformat(f"2018-08-02T{hms}+00:00").timestamp()


def dump(path: Path) -> dict[str, list[tuple[object, ...]]]:
    with sqlite3.connect(path) as db:
        out = {t: db.execute(f"SELECT {cols} FROM {t} ORDER BY rowid").fetchall()
               for t, cols in TABLES.items() if t != "raw_frames"}
        # raw frames are stored in compressed pieces: read back one per frame, in arrival order
        out["raw_frames"] = [(f.time, f.direction, f.data) for f in RecordReader(db).raw_frames()]
    return out


def test_same_capture_same_session_rows(tmp_path: Path) -> None:
    replay_to_session(DB00, "ge-s5", tmp_path / "a.db")
    replay_to_session(DB00, "ge-s5", tmp_path / "b.db")
    a, b = dump(tmp_path / "a.db"), dump(tmp_path / "b.db")
    assert a == b
    with RecordReader.open(tmp_path / "a.db") as reader:  # the 1,760 chunks of the capture, stored compactly
        waves = reader.rows("waves", "t0")
    assert sum(len(w["data"]) // 4 for w in waves) == 175_999
    assert sum(len(r[2]) for r in a["raw_frames"]) == DB00.stat().st_size
    nibp = [r for r in a["samples"] if r[1] == "nibp_sys" and r[2] is not None]
    assert [(r[0], r[2], r[3]) for r in nibp][:2] == [(_t("14:30:20"), 87.0, "old"), (_t("14:30:28"), 86.0, "ok")]
    assert len(nibp) == 10
    assert {r[4] for r in a["samples"]} == {"replay"}
    assert [r[1] for r in a["link_events"]] == ["connecting", "connected", "closed"]
    assert a["link_events"][0][0] == _t("14:30:20")  # the capture's clock, not the wall clock
    # the low systolic readings of this patient raise NIBP alarms at the reading's capture time
    raised = [r for r in a["alarm_log"] if r[1].startswith("nibp_sys") and r[2] == "raised"]
    assert raised and raised[0][0] == _t("14:30:28")


def _frames_with_gap(gap_from: float, gap_to: float) -> bytes:
    """db00 without the records whose time lies in [gap_from, gap_to): the monitor fell silent."""
    data = DB00.read_bytes()
    out = bytearray()
    splitter = p.FrameSplitter()
    for record in splitter.feed(data):
        if not gap_from <= p.parse_header(record).r_time < gap_to:
            out += p.frame(record)
    return bytes(out)


def test_silent_stretch_raises_link_lost_at_the_capture_time(tmp_path: Path) -> None:
    capture = tmp_path / "gap.raw"
    capture.write_bytes(_frames_with_gap(_t("14:31:00"), _t("14:32:00")))
    replay_to_session(capture, "ge-s5", tmp_path / "gap.db")
    rows = dump(tmp_path / "gap.db")
    last_before = max(r[0] for r in rows["samples"] if r[0] < _t("14:31:00"))
    lost = [r for r in rows["alarm_log"] if r[1] == "link-lost" and r[2] == "raised"]
    assert len(lost) == 1
    assert lost[0][0] == pytest.approx(last_before + 10.0)  # link_lost_s of the default profile
    states = [(r[0], r[1]) for r in rows["link_events"]]
    no_data = [t for t, s in states if s == "no-data"]
    assert len(no_data) == 1 and last_before + 5.0 < no_data[0] <= last_before + 7.0
    assert any(s == "connected" and t >= _t("14:32:00") for t, s in states)


def test_replay_driver_paces_and_reads_sessions(tmp_path: Path) -> None:
    short = tmp_path / "short.raw"
    short.write_bytes(DB00.read_bytes()[:60_000])  # about 40 monitor seconds
    clock = ManualClock()
    fast = ReplayDriver(short, "ge-s5", DriverOptions(extra={"speed": "max"}), clock)
    fast.open()
    assert clock.now() == fast.start_time == _t("14:30:20")
    got: list[Item] = []
    while not fast.finished:
        got.extend(fast.read(0.05))
    assert clock.now() == fast.end_time
    paced_clock = ManualClock()
    paced = ReplayDriver(short, "ge-s5", DriverOptions(extra={"speed": 100.0}), paced_clock)
    paced.open()
    paced_items: list[Item] = []
    while not paced.finished:
        paced_items.extend(paced.read(0.05))
    vitals = [i for i in got if isinstance(i, VitalSample)]
    assert vitals and [i for i in paced_items if isinstance(i, VitalSample)] == vitals
    assert b"".join(i.data for i in got if isinstance(i, RawFrame)) == short.read_bytes()
    # a session database is a capture too: its received raw frames replay to the same values
    replay_to_session(short, "ge-s5", tmp_path / "s.db")
    again = ReplayDriver(tmp_path / "s.db", "ge-s5", DriverOptions(extra={"speed": math.inf}), ManualClock())
    again.open()
    items: list[Item] = []
    while not again.finished:
        items.extend(again.read(0.05))
    assert [i for i in items if isinstance(i, VitalSample)] == vitals


def test_replay_cli_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    existing = tmp_path / "exists.db"
    existing.write_bytes(b"")
    assert main(["replay", str(DB00), "--driver", "ge-s5", "--session", str(existing)]) == 2
    assert main(["replay", str(DB00), "--driver", "nope", "--session", str(tmp_path / "n.db")]) == 2
    assert main(["replay", str(tmp_path / "none.raw"), "--driver", "ge-s5", "--session", str(tmp_path / "m.db")]) == 2
    empty = tmp_path / "empty.raw"
    empty.write_bytes(b"\x00" * 100)
    assert main(["replay", str(empty), "--driver", "ge-s5", "--session", str(tmp_path / "e.db")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 4 and all(line.startswith("kapmonitor: error:") for line in err)
    assert main(["replay", str(DB00), "--driver", "ge-s5", "--speed", "max", "--session", str(tmp_path / "ok.db")]) == 0
    assert "frames 3520" in capsys.readouterr().err


def test_replay_on_a_running_clock_is_shifted_to_now(tmp_path: Path) -> None:
    from kapmonitor.model.clock import AcceleratedClock

    short = tmp_path / "short.raw"
    short.write_bytes(DB00.read_bytes()[:30_000])  # about 20 monitor seconds
    clock = AcceleratedClock(100.0)
    driver = ReplayDriver(short, "ge-s5", DriverOptions(), clock)
    assert driver.speed == 100.0
    start_now = clock.now()
    driver.open()
    items: list[Item] = []
    while not driver.finished:
        items.extend(driver.read(0.05))
    vitals = [i for i in items if isinstance(i, VitalSample)]
    assert vitals
    offset = start_now - _t("14:30:20")
    assert vitals[0].time == pytest.approx(_t("14:30:20") + offset, abs=1.0)
    assert all(v.time <= clock.now() + 1.0 for v in vitals)  # never ahead of the clock showing them
    assert clock.now() - start_now >= (driver.end_time or 0) - (driver.start_time or 0) - 2.0


def test_unreadable_capture_in_a_reader_thread_is_reported_not_fatal(tmp_path: Path) -> None:
    from kapmonitor.acquisition.dispatcher import Dispatcher
    from kapmonitor.acquisition.reader import ReaderThread
    from kapmonitor.model.samples import LinkEvent, LinkState

    seen: list[LinkEvent] = []

    class Listener:
        def on_items(self, items: list[Item]) -> None:
            seen.extend(i for i in items if isinstance(i, LinkEvent))

    dispatcher = Dispatcher()
    dispatcher.add_listener(Listener())
    driver = ReplayDriver(tmp_path / "gone.raw", "ge-s5", DriverOptions(), ManualClock(0))
    reader = ReaderThread(driver, dispatcher, backoff_min=0.05, backoff_max=0.1)
    reader.start()
    try:
        import time

        time.sleep(0.3)
        assert reader.alive
    finally:
        reader.stop()
    assert any(e.state is LinkState.DISCONNECTED and "gone.raw" in e.detail for e in seen)
