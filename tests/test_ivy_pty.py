"""The Ivy 450C over a real pseudo-terminal pair: emulator → driver → pipeline → session record,
including respiratory rate and EtCO2 through the alarm engine, trends and the record."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from ge_s5_support import EmulatorThread, PtyPair, wait_for

from kapmonitor.alarms.profile import default_profile
from kapmonitor.drivers.base import DriverOptions
from kapmonitor.drivers.ivy.driver import Ivy450cDriver
from kapmonitor.drivers.ivy.emulator import run_emulator
from kapmonitor.drivers.probe import probe_connection
from kapmonitor.model.clock import RealClock
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import Status
from kapmonitor.pipeline import MonitoringPipeline, read_vitals
from kapmonitor.recording.reader import RecordReader


@pytest.fixture
def pty(tmp_path: Path) -> Iterator[PtyPair]:
    pair = PtyPair(tmp_path)
    yield pair
    pair.close()


def test_emulated_ivy_is_recorded_with_rr_etco2_and_one_nibp(pty: PtyPair, tmp_path: Path) -> None:
    db = tmp_path / "ivy.db"
    emulator = EmulatorThread(run_emulator, pty.monitor_end, speed=20.0, seed=5)
    driver = Ivy450cDriver(DriverOptions(port=pty.pc_end), RealClock())
    pipeline = MonitoringPipeline(driver, db, alarm_profile=default_profile())
    pipeline.start()
    try:
        # 40 frames: past the simulator's first cuff result (30 s after the start)
        assert wait_for(lambda: driver.stats.frames >= 40, 20.0)
        assert pipeline.trends.latest(Parameter.RESP_RATE) is not None
    finally:
        pipeline.stop()
        emulator.halt()
    vitals = read_vitals(db)
    by = {p: [v for v in vitals if v.parameter is p] for p in Parameter}
    for p in (Parameter.HR, Parameter.SPO2, Parameter.PULSE_RATE, Parameter.RESP_RATE, Parameter.ETCO2):
        assert len(by[p]) >= 30 and all(v.status is Status.OK for v in by[p]), p
    assert all(10 <= (v.value or 0) <= 20 for v in by[Parameter.RESP_RATE])
    assert [v.status for v in by[Parameter.NIBP_SYS]] == [Status.OK]  # one measurement, not one per frame
    assert by[Parameter.NIBP_SYS][0].measurement_id == by[Parameter.NIBP_DIA][0].measurement_id
    assert abs(by[Parameter.HR][-1].time - time.time()) < 60
    with sqlite3.connect(db) as conn:
        waves = len(RecordReader(conn).rx_frames())
    assert waves > 0  # the bytes are kept for replay
    assert driver.stats.length_errors == 0
    # every export format takes the new parameters without failing
    for extra in ([], ["--deidentify", "--salt", "s"]):
        out = tmp_path / f"export{len(extra)}"
        run = subprocess.run([sys.executable, "-m", "kapmonitor", "export", str(db), "-f", "all", "-o", str(out),
                              "-q", *extra], capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        csv_text = "".join(p.read_text(errors="replace") for p in out.rglob("*.csv"))
        assert "resp_rate" in csv_text and "etco2" in csv_text


def test_connection_test_recognises_the_ivy(pty: PtyPair) -> None:
    emulator = EmulatorThread(run_emulator, pty.monitor_end, speed=2.0)
    try:
        result = probe_connection("ivy-450c", pty.pc_end, None, 3.0)
    finally:
        emulator.halt()
    assert result.ok, result.summary()
    assert Parameter.RESP_RATE in result.values and result.wave_chunks > 0
    assert "RR" in result.summary()


def test_garbage_is_not_answering_and_an_unplugged_cable_reconnects(pty: PtyPair, tmp_path: Path) -> None:
    import os

    from kapmonitor.acquisition.dispatcher import Dispatcher
    from kapmonitor.acquisition.reader import ReaderThread
    from kapmonitor.model.samples import Item, LinkEvent, LinkState

    events: list[LinkEvent] = []

    class Links:
        def on_items(self, items: list[Item]) -> None:
            events.extend(i for i in items if isinstance(i, LinkEvent))

    def states() -> list[LinkState]:
        return [e.state for e in events]

    dispatcher = Dispatcher()
    dispatcher.add_listener(Links())
    driver = Ivy450cDriver(DriverOptions(port=pty.pc_end), RealClock())
    reader = ReaderThread(driver, dispatcher, no_data_after=1.0, backoff_min=0.1, backoff_max=0.4)
    reader.start()
    try:
        import serial

        noise = serial.Serial(pty.monitor_end, 9600, timeout=0.1)
        deadline = time.monotonic() + 10.0
        # garbage keeps arriving (bytes sent before the driver has opened its end may be discarded by the open)
        while LinkState.NOT_ANSWERING not in states() and time.monotonic() < deadline:
            noise.write(os.urandom(1500).replace(b"\xff", b"\x00"))  # no frame header can appear
            time.sleep(0.2)
        noise.close()
        assert LinkState.NOT_ANSWERING in states()
        detail = next(e.detail for e in events if e.state is LinkState.NOT_ANSWERING)
        assert "ANSAR-B" in detail and "9600" in detail
        emulator = EmulatorThread(run_emulator, pty.monitor_end, speed=4.0)
        try:
            assert wait_for(lambda: LinkState.CONNECTED in states(), 10.0)
            pty.unplug()
            assert wait_for(lambda: LinkState.DISCONNECTED in states(), 10.0)
            seen = len(events)
            pty.replug()
            assert wait_for(lambda: LinkState.CONNECTED in states()[seen:], 15.0)
        finally:
            emulator.halt()
    finally:
        reader.stop()
