"""Live monitor times onto this computer's clock: the screen's "now" and "how long ago" stay true."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from ge_s5_support import PtyPair, wait_for

from kapmonitor.acquisition.clock_alignment import MonitorClockAligner
from kapmonitor.acquisition.dispatcher import Dispatcher
from kapmonitor.acquisition.reader import ReaderThread
from kapmonitor.drivers.base import DriverOptions
from kapmonitor.drivers.ge_s5.driver import GeS5Driver
from kapmonitor.drivers.ge_s5.emulator import run_emulator
from kapmonitor.model.clock import RealClock
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import DeviceNotice, Item, Source, Status, VitalSample, WaveChunk

PC0 = 1_800_000_000.0


def second(t_monitor: float) -> list[Item]:
    return [
        VitalSample(t_monitor, Parameter.HR, 70.0),
        WaveChunk(t_monitor - 1, Parameter.PLETH, 100.0, np.zeros(100, dtype=np.float32)),
    ]


def feed(aligner: MonitorClockAligner, offset: float, seconds: range, delay: float = 0.3) -> list[Item]:
    out: list[Item] = []
    for n in seconds:
        out += aligner.align(second(PC0 + n - offset), PC0 + n + delay)
    return out


@pytest.mark.parametrize("offset", [-90.0, 240.0])
def test_an_offset_monitor_lands_on_this_clock(offset: float) -> None:
    aligner = MonitorClockAligner()
    out = feed(aligner, offset, range(10))
    hr = [i for i in out if isinstance(i, VitalSample)]
    assert [round(i.time - (PC0 + n)) for n, i in enumerate(hr)][3:] == [0] * 7  # aligned once settled
    notices = [i for i in out if isinstance(i, DeviceNotice)]
    assert len(notices) == 1 and notices[0].code == "clock-aligned"
    assert notices[0].details["offset_s"] == pytest.approx(offset, abs=0.5)


def test_a_monitor_that_agrees_keeps_its_own_time() -> None:
    aligner = MonitorClockAligner()
    out = feed(aligner, 0.2, range(20))
    assert aligner.offset == 0.0
    assert not any(isinstance(i, DeviceNotice) for i in out)
    assert [i.time for i in out if isinstance(i, VitalSample)] == [PC0 + n - 0.2 for n in range(20)]


def test_the_monitor_clock_being_set_is_followed() -> None:
    aligner = MonitorClockAligner(window_s=30.0)
    feed(aligner, 60.0, range(10))
    assert aligner.offset == pytest.approx(60.3)
    feed(aligner, 0.0, range(10, 60))  # someone set the monitor's clock right
    assert aligner.offset == 0.0


def test_nibp_keeps_its_measurement_time_and_other_sources_are_untouched() -> None:
    aligner = MonitorClockAligner()
    feed(aligner, 100.0, range(5))
    nibp = VitalSample(PC0 - 100 - 30, Parameter.NIBP_SYS, 120.0, Status.OK, Source.MONITOR, "m1")
    manual = VitalSample(PC0 + 5, Parameter.HR, 80.0, Status.OK, Source.MANUAL)
    out = aligner.align([nibp, manual, *second(PC0 + 5 - 100)], PC0 + 5.3)
    assert out[0].time == pytest.approx(PC0 - 30, abs=0.5)  # measured 30 s ago on this clock
    assert out[1] is manual


def test_live_ge_monitor_with_a_wrong_clock_over_a_pty(tmp_path: Path) -> None:
    pty = PtyPair(tmp_path)
    stop = threading.Event()
    emulator = threading.Thread(target=run_emulator, args=(pty.monitor_end, "normal", 1.0, 3, stop),
                                kwargs={"clock_offset_s": -120.0}, daemon=True)
    emulator.start()
    items: list[Item] = []
    lock = threading.Lock()

    class Collect:
        def on_items(self, batch: list[Item]) -> None:
            with lock:
                items.extend(batch)

    dispatcher = Dispatcher()
    dispatcher.add_listener(Collect())
    reader = ReaderThread(GeS5Driver(DriverOptions(port=pty.pc_end), RealClock()), dispatcher)
    reader.start()
    try:
        def aligned_hr() -> list[VitalSample]:
            with lock:
                return [i for i in items if isinstance(i, VitalSample) and i.parameter is Parameter.HR
                        and abs(i.time - time.time()) < 5]

        assert wait_for(lambda: len(aligned_hr()) >= 3, timeout=20)
        with lock:
            notices = [i for i in items if isinstance(i, DeviceNotice) and i.code == "clock-aligned"]
        assert notices and notices[0].details["offset_s"] == pytest.approx(120, abs=3)
    finally:
        reader.stop()
        stop.set()
        emulator.join(5)
        pty.close()
