"""Link supervision with the real reader thread, recorder and a GE S/5 emulator on a pty pair.

Unplug/replug, far end gone quiet, monitor reboot (subscriptions lost) and garbage on the line:
never a crash or a freeze; the link state is recorded; data resumes in the same session.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial
from ge_s5_support import EmulatorThread, PtyPair, wait_for

from kapmonitor.acquisition.dispatcher import Dispatcher
from kapmonitor.acquisition.reader import ReaderThread
from kapmonitor.drivers.base import DriverOptions
from kapmonitor.drivers.ge_s5.driver import GeS5Driver
from kapmonitor.drivers.ge_s5.emulator import run_emulator
from kapmonitor.model.clock import RealClock
from kapmonitor.model.samples import Item, LinkEvent, LinkState, VitalSample
from kapmonitor.recording.reader import RecordReader
from kapmonitor.recording.recorder import SessionRecorder


class Collector:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: list[Item] = []

    def on_items(self, items: list[Item]) -> None:
        with self.lock:
            self.items.extend(items)

    def states(self) -> list[LinkState]:
        with self.lock:
            return [i.state for i in self.items if isinstance(i, LinkEvent)]

    def valid_count(self) -> int:
        with self.lock:
            return sum(1 for i in self.items if isinstance(i, VitalSample) and i.valid)


class Rig:
    def __init__(self, pty: PtyPair, session: Path, **extra: object) -> None:
        options = DriverOptions(port=pty.pc_end, extra={"silent_resend_s": 0.5, "silent_after_s": 1.0, **extra})
        self.driver = GeS5Driver(options, RealClock())
        self.dispatcher = Dispatcher()
        self.collector = Collector()
        self.recorder = SessionRecorder(session).start()
        self.dispatcher.add_listener(self.collector)
        self.dispatcher.add_listener(self.recorder)
        self.reader = ReaderThread(self.driver, self.dispatcher, no_data_after=1.0, backoff_min=0.1, backoff_max=0.4)
        self.reader.start()

    def stop(self) -> None:
        self.reader.stop()
        assert not self.reader.alive
        self.recorder.stop()


@pytest.fixture
def pty(tmp_path: Path) -> Iterator[PtyPair]:
    pair = PtyPair(tmp_path)
    yield pair
    pair.close()


def test_unplug_replug_resumes_in_the_same_session(pty: PtyPair, tmp_path: Path) -> None:
    emu = EmulatorThread(run_emulator, pty.monitor_end, speed=10.0)
    time.sleep(0.3)
    session = tmp_path / "s.db"
    rig = Rig(pty, session)
    try:
        assert wait_for(lambda: LinkState.CONNECTED in rig.collector.states(), 5.0)
        pty.unplug()
        assert wait_for(lambda: LinkState.DISCONNECTED in rig.collector.states(), 5.0)
        time.sleep(0.5)  # a few failed re-opens with backoff
        before = rig.collector.valid_count()
        assert rig.reader.alive
        pty.replug()
        assert wait_for(lambda: rig.collector.valid_count() > before + 30, 8.0)
        assert rig.reader.reconnects >= 1
    finally:
        rig.stop()
        emu.halt()
    states = rig.collector.states()
    i = states.index(LinkState.DISCONNECTED)
    assert LinkState.CONNECTED in states[i:]
    with sqlite3.connect(session) as db:
        rows = [r[0] for r in db.execute("SELECT state FROM link_events ORDER BY rowid")]
        assert "disconnected" in rows and rows[-1] == "closed"
        assert "connected" in rows[rows.index("disconnected"):]
        assert db.execute("SELECT count(*) FROM samples WHERE parameter='hr'").fetchone()[0] > 10
        assert sum(f.direction == "tx" for f in RecordReader(db).raw_frames()) >= 6


def test_monitor_silent_then_rebooted(pty: PtyPair, tmp_path: Path) -> None:
    emu = EmulatorThread(run_emulator, pty.monitor_end, speed=10.0)
    time.sleep(0.3)
    rig = Rig(pty, tmp_path / "s.db")
    try:
        assert wait_for(lambda: LinkState.CONNECTED in rig.collector.states(), 5.0)
        emu.halt()  # monitor switched off: the port stays, nothing arrives
        assert wait_for(lambda: LinkState.NO_DATA in rig.collector.states(), 5.0)
        before = rig.collector.valid_count()
        # rebooted: a fresh monitor that knows no subscription; only re-sent requests restart it
        emu = EmulatorThread(run_emulator, pty.monitor_end, speed=10.0, seed=2)
        assert wait_for(lambda: rig.collector.valid_count() > before + 5, 8.0)
        assert rig.collector.states()[-1] is LinkState.CONNECTED
    finally:
        rig.stop()
        emu.halt()


def test_garbage_on_the_line_is_reported_and_survived(pty: PtyPair, tmp_path: Path) -> None:
    rig = Rig(pty, tmp_path / "s.db")
    try:
        with serial.Serial(pty.monitor_end, 19200, parity="E", timeout=0.1) as monitor:
            for _ in range(20):
                monitor.write(os.urandom(512).replace(b"\x7e", b"\x00"))
                time.sleep(0.01)
            assert wait_for(lambda: LinkState.NOT_ANSWERING in rig.collector.states(), 5.0)
            monitor.write(os.urandom(3000))  # with flags: bad frames
            time.sleep(0.3)
        assert rig.reader.alive
        assert rig.driver.stats.frames == 0
        assert rig.driver.stats.checksum_errors + rig.driver.stats.length_errors > 0
        emu = EmulatorThread(run_emulator, pty.monitor_end, speed=10.0)
        try:
            assert wait_for(lambda: rig.collector.valid_count() > 3, 8.0)
            assert rig.collector.states()[-1] is LinkState.CONNECTED
        finally:
            emu.halt()
    finally:
        rig.stop()


@pytest.mark.slow
def test_short_monitor_reboot_relinks_within_5_s_with_default_settings(pty: PtyPair, tmp_path: Path) -> None:
    """Real time, the driver's own defaults: a monitor that restarts for 3 s (and forgets our requests)
    sends values again within 5 s of its return."""
    emu = EmulatorThread(run_emulator, pty.monitor_end, speed=1.0)
    time.sleep(0.3)
    driver = GeS5Driver(DriverOptions(port=pty.pc_end), RealClock())
    collector = Collector()
    dispatcher = Dispatcher()
    dispatcher.add_listener(collector)
    reader = ReaderThread(driver, dispatcher)
    reader.start()
    try:
        assert wait_for(lambda: collector.valid_count() > 0, 12.0)
        count = collector.valid_count()
        assert wait_for(lambda: collector.valid_count() > count, 8.0)  # just after a transmission
        emu.halt()
        time.sleep(3.0)
        before = collector.valid_count()
        emu = EmulatorThread(run_emulator, pty.monitor_end, speed=1.0, seed=2)
        back = time.monotonic()
        assert wait_for(lambda: collector.valid_count() > before, 12.0)
        assert time.monotonic() - back <= 5.0
    finally:
        reader.stop()
        emu.halt()
