"""IntelliVue driver against the emulator over real pseudo-terminals: the whole session, NIBP once,
abort and refuse with re-association, release on close, the association time-out, echo and silence,
and an unplugged and re-plugged cable under the reader thread."""

from __future__ import annotations

import contextlib
import os
import random
import threading
import time
import tty
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kapmonitor.acquisition.dispatcher import Dispatcher
from kapmonitor.acquisition.reader import ReaderThread
from kapmonitor.drivers.base import DriverOptions
from kapmonitor.drivers.intellivue import messages as m
from kapmonitor.drivers.intellivue.decoder import NOT_ANSWERING_TEXT
from kapmonitor.drivers.intellivue.driver import IntelliVueDriver
from kapmonitor.drivers.intellivue.emulator import FdTransport, IntelliVueEmulator, association_timeout
from kapmonitor.drivers.intellivue.framing import FrameReader, build_frame
from kapmonitor.drivers.registry import create_driver
from kapmonitor.model.clock import RealClock
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import DeviceNotice, Item, LinkEvent, LinkState, RawFrame, Status, VitalSample, WaveChunk

pytestmark = pytest.mark.timeout(60)


def _pty() -> tuple[int, int, str]:
    master, slave = os.openpty()
    tty.setraw(master)
    tty.setraw(slave)
    return master, slave, os.ttyname(slave)


class Monitor:
    """An emulator serving the master side of a pty in a thread."""

    def __init__(self, emulator: IntelliVueEmulator) -> None:
        self.emulator = emulator
        self.master, self.slave, self.path = _pty()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=emulator.serve, args=(FdTransport(self.master), self.stop), daemon=True)
        self.thread.start()

    def unplug(self) -> None:
        self.stop.set()
        self.thread.join(5)
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)


@pytest.fixture
def monitor() -> Iterator[Monitor]:
    mon = Monitor(IntelliVueEmulator(speed=30.0, seed=3))
    yield mon
    mon.unplug()


def _run(driver: IntelliVueDriver, seconds: float, until: object = None) -> list[Item]:
    items: list[Item] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        items += driver.read(0.05)
        if callable(until) and until(items):
            break
    return items


def _driver(path: str, **extra: float) -> IntelliVueDriver:
    drv = create_driver("philips-intellivue", DriverOptions(port=path, extra=dict(extra)), RealClock())
    assert isinstance(drv, IntelliVueDriver)
    return drv


def _nibp_done(items: Sequence[Item]) -> bool:
    return any(isinstance(i, VitalSample) and i.parameter is Parameter.NIBP_PULSE for i in items)


def test_whole_session_polling_and_nibp_once(monitor: Monitor) -> None:
    drv = _driver(monitor.path)
    assert drv.serial_settings is not None and drv.serial_settings.baudrate == 115200
    assert drv.serial_settings.alternative_baudrates == (19200,) and drv.serial_settings.parity == "N"
    drv.open()
    items = _run(drv, 8.0, until=lambda it: _nibp_done(it) and sum(isinstance(i, WaveChunk) for i in it) > 5)
    items += _run(drv, 1.5)  # the same NIBP stays on the monitor: it must not come again
    drv.close()
    time.sleep(0.3)
    c = monitor.emulator.counters
    assert c.associations == 1 and c.create_results_ok == 1 and c.refusals == 0
    assert c.releases == 2  # the stale-association release at start and the release on close
    assert c.poll_requests >= 2  # numerics and waves
    # what went out: release first, then the association request, with at most 4 frames per 128 ms
    tx = [i for i in items if isinstance(i, RawFrame) and i.direction == "tx"]
    assert tx[0].data == build_frame(m.RELEASE_REQUEST)
    assert tx[1].data[5] == m.CN_SPDU_SI
    times = [f.time for f in tx]
    assert all(times[k + 4] - times[k] >= 0.128 - 0.01 for k in range(len(times) - 4))
    assert any(isinstance(i, RawFrame) and i.direction == "rx" for i in items)
    vitals = [i for i in items if isinstance(i, VitalSample)]
    got = Counter(v.parameter for v in vitals if v.valid)
    assert got[Parameter.HR] >= 2 and got[Parameter.SPO2] >= 2 and got[Parameter.PULSE_RATE] >= 2
    nibp = [v for v in vitals if v.parameter.value.startswith("nibp") and v.valid]
    assert sorted(v.parameter.value for v in nibp) == ["nibp_dia", "nibp_mean", "nibp_pulse", "nibp_sys"]
    assert len({v.measurement_id for v in nibp}) == 1 and len({v.time for v in nibp}) == 1
    assert any(v.status is Status.MEASURING for v in vitals)
    hr = next(v for v in vitals if v.parameter is Parameter.HR)
    assert abs(hr.time - time.time()) < 120  # the monitor's clock, mapped to epoch
    waves = [i for i in items if isinstance(i, WaveChunk)]
    assert waves and all(w.parameter is Parameter.PLETH and w.rate_hz == 100.0 for w in waves)


def test_abort_and_refuse_lead_to_reassociation() -> None:
    mon = Monitor(IntelliVueEmulator(speed=5.0, seed=1, refuse_associations=1))
    try:
        drv = _driver(mon.path)
        drv.open()
        items = _run(drv, 8.0, until=lambda it: any(isinstance(i, VitalSample) and i.valid for i in it))
        assert mon.emulator.counters.refusals == 1
        assert any(isinstance(i, DeviceNotice) and i.code == "association-refused" for i in items)
        mon.emulator.abort_now()
        after = _run(
            drv,
            8.0,
            until=lambda it: (
                any(isinstance(i, DeviceNotice) for i in it)
                and any(isinstance(i, VitalSample) and i.valid for i in it[-20:])
            ),
        )
        assert any(isinstance(i, DeviceNotice) and i.code == "association-aborted" for i in after)
        notice_at = next(k for k, i in enumerate(after) if isinstance(i, DeviceNotice))
        assert any(isinstance(i, VitalSample) and i.valid for i in after[notice_at:])
        assert mon.emulator.counters.associations == 2 and mon.emulator.counters.aborts_sent == 1
        drv.close()
    finally:
        mon.unplug()


def test_emulator_aborts_a_silent_client() -> None:
    assert association_timeout(1.0) == 10.0
    assert association_timeout(10.0) == 30.0
    assert association_timeout(60.0) == 130.0
    mon = Monitor(IntelliVueEmulator(silence_timeout=1.0))
    try:
        reader = FrameReader()
        os.write(mon.slave, build_frame(m.association_request(1.0, waves=False)))
        kinds: list[str] = []
        end = time.monotonic() + 6
        answered = False
        while time.monotonic() < end and "abort" not in kinds:
            time.sleep(0.05)
            try:
                data = os.read(mon.slave, 65536)
            except BlockingIOError:
                continue
            for f in reader.feed(data):
                msg = m.parse_message(f.payload)
                kinds.append(msg.kind)
                if msg.kind == "event_report" and not answered:
                    answered = True
                    os.write(mon.slave, build_frame(m.mds_create_event_result(msg.invoke_id, msg.event_time)))
        assert kinds[0] == "assoc_result" and "event_report" in kinds and kinds[-1] == "abort"
        assert mon.emulator.counters.create_results_ok == 1 and mon.emulator.counters.aborts_sent == 1
        assert not mon.emulator.associated
    finally:
        mon.unplug()


def test_echoing_line_is_reported_not_decoded() -> None:
    """A cable that returns our own requests: NOT_ANSWERING with the hint, no values, no hang."""
    master, slave, path = _pty()
    stop = threading.Event()

    def echo() -> None:
        while not stop.is_set():
            try:
                data = FdTransport(master).read(0.02)
                if data:
                    os.write(master, data)
            except OSError:
                time.sleep(0.02)

    t = threading.Thread(target=echo, daemon=True)
    t.start()
    try:
        drv = _driver(path, answer_timeout_s=0.4)
        drv.open()
        t0 = time.monotonic()
        items = _run(drv, 4.0, until=lambda it: any(isinstance(i, LinkEvent) for i in it))
        assert time.monotonic() - t0 < 4.0
        links = [i for i in items if isinstance(i, LinkEvent)]
        assert links and links[0].state is LinkState.NOT_ANSWERING and links[0].detail == NOT_ANSWERING_TEXT
        assert not [i for i in items if isinstance(i, VitalSample | WaveChunk)]
        drv.close()
    finally:
        stop.set()
        t.join(2)
        os.close(master)
        os.close(slave)


def test_silent_line_is_reported_not_answering() -> None:
    master, slave, path = _pty()
    try:
        drv = _driver(path, answer_timeout_s=0.3)
        drv.open()
        items = _run(drv, 3.0, until=lambda it: any(isinstance(i, LinkEvent) for i in it))
        links = [i for i in items if isinstance(i, LinkEvent)]
        assert [e.state for e in links] == [LinkState.NOT_ANSWERING]
        assert any(isinstance(i, DeviceNotice) and i.code == "not-answering" for i in items)
        drv.close()
    finally:
        os.close(master)
        os.close(slave)


class _Collector:
    def __init__(self) -> None:
        self.items: list[Item] = []
        self.lock = threading.Lock()

    def on_items(self, items: Sequence[Item]) -> None:
        with self.lock:
            self.items.extend(items)

    def snapshot(self) -> list[Item]:
        with self.lock:
            return list(self.items)


def _wait(pred: object, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if callable(pred) and pred():
            return True
        time.sleep(0.05)
    return False


def test_unplug_and_replug_mid_stream(tmp_path: Path) -> None:
    emulator = IntelliVueEmulator(speed=10.0, seed=2)
    link = tmp_path / "ttyIntelliVue"
    mon = Monitor(emulator)
    link.symlink_to(mon.path)
    dispatcher = Dispatcher()
    col = _Collector()
    dispatcher.add_listener(col)
    drv = _driver(str(link))
    reader = ReaderThread(drv, dispatcher, backoff_min=0.2, backoff_max=0.5)
    reader.start()
    mon2: Monitor | None = None
    try:

        def valid_count() -> int:
            return sum(isinstance(i, VitalSample) and i.valid for i in col.snapshot())

        def nibp_rows() -> list[tuple[str, str | None]]:
            return [
                (i.parameter.value, i.measurement_id)
                for i in col.snapshot()
                if isinstance(i, VitalSample) and i.measurement_id is not None
            ]

        # wait for the first cuff measurement (30 s of monitor time), so it is on screen when re-plugged
        assert _wait(lambda: len(nibp_rows()) == 4, 10)
        assert reader.link_state is LinkState.CONNECTED
        mon.unplug()  # the adapter is pulled out
        link.unlink()
        assert _wait(lambda: reader.link_state is LinkState.DISCONNECTED, 5)
        before = valid_count()
        time.sleep(0.6)
        mon2 = Monitor(emulator)  # plugged in again (a new device node, same monitor)
        link.symlink_to(mon2.path)
        assert _wait(lambda: valid_count() >= before + 3, 10)
        assert reader.link_state is LinkState.CONNECTED and reader.reconnects >= 1
        states = [i.state for i in col.snapshot() if isinstance(i, LinkEvent)]
        assert LinkState.DISCONNECTED in states and states[-1] is LinkState.CONNECTED
        assert emulator.counters.associations >= 2
        rows = nibp_rows()
        assert len(rows) == len(set(rows))  # the measurement still shown after re-plugging is not new
    finally:
        reader.stop()
        if mon2 is not None:
            mon2.unplug()
        mon.unplug()
    assert not reader.alive


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.binary(max_size=300), max_size=6), st.booleans())
def test_fuzz_driver_never_raises(chunks: list[bytes], framed: bool) -> None:
    """Whatever comes down the line (here a loop:// port), the driver neither raises nor hangs."""
    drv = _driver("loop://")
    drv.open()
    try:
        port = drv._port
        assert port is not None
        for c in chunks:
            port.write(build_frame(b"\xe1\x00\x00\x02" + c) if framed else c)
        t0 = time.monotonic()
        for _ in range(3):
            for item in drv.read(0.02):
                if isinstance(item, VitalSample):
                    assert item.value is None or item.status is not Status.OK or 0 < item.value < 400
        assert time.monotonic() - t0 < 2.0
    finally:
        drv.close()


def test_poll_is_renewed_before_its_period_runs_out(monitor: Monitor) -> None:
    """A 1 s poll period renewed every 0.4 s keeps results coming; without waves no wave poll is sent."""
    drv = create_driver(
        "philips-intellivue",
        DriverOptions(
            port=monitor.path, waves=False, extra={"poll_period_s": 1.0, "renew_s": 0.4, "result_timeout_s": 30}
        ),
        RealClock(),
    )
    drv.open()
    try:
        first = _run(drv, 5.0, until=lambda it: any(isinstance(i, VitalSample) and i.valid for i in it))
        assert any(isinstance(i, VitalSample) and i.valid for i in first)
        later = _run(drv, 2.5)
    finally:
        drv.close()
    hr_later = [i for i in later if isinstance(i, VitalSample) and i.parameter is Parameter.HR]
    assert len(hr_later) >= 3  # the 1 s period would have ended long ago without the renewals
    assert not [i for i in first + later if isinstance(i, WaveChunk)]
    assert monitor.emulator.counters.wave_results == 0
    assert monitor.emulator.counters.poll_requests >= 6


class _LossyEmulator(IntelliVueEmulator):
    """Loses its first Association Result on the line (no flow control, no retries on RS232)."""

    lost = 0

    def _send(self, transport, payload: bytes) -> None:  # type: ignore[no-untyped-def]
        if payload[0] == m.AC_SPDU_SI and not self.lost:
            self.lost += 1
            return
        super()._send(transport, payload)


def test_lost_association_result_still_polls() -> None:
    emulator = _LossyEmulator(speed=5.0)
    mon = Monitor(emulator)
    try:
        drv = _driver(mon.path)
        drv.open()
        items = _run(drv, 6.0, until=lambda it: any(isinstance(i, VitalSample) and i.valid for i in it))
        drv.close()
        assert emulator.lost == 1
        assert any(isinstance(i, VitalSample) and i.valid for i in items)
        assert emulator.counters.associations == 1 and emulator.counters.create_results_ok == 1
    finally:
        mon.unplug()


def test_monitor_local_time_is_mapped_to_utc_across_reconnects() -> None:
    """A monitor whose wall clock runs at UTC+2: values are stamped in UTC, also after re-opening."""
    mon = Monitor(IntelliVueEmulator(utc_offset_s=7200.0))
    try:
        drv = _driver(mon.path)
        for _ in range(2):
            drv.open()
            items = _run(drv, 6.0, until=lambda it: any(isinstance(i, VitalSample) and i.valid for i in it))
            drv.close()
            hr = [i for i in items if isinstance(i, VitalSample) and i.parameter is Parameter.HR and i.valid]
            assert hr and abs(hr[-1].time - time.time()) < 5.0
        assert mon.emulator.counters.associations == 2
    finally:
        mon.unplug()


def test_garbage_after_a_good_session_is_reported_not_answering() -> None:
    """A monitor that answered, then sends only noise (wrong baud rate after a reboot, a failing cable):
    the link says "monitor not answering", not merely "no data"."""
    mon = Monitor(IntelliVueEmulator(speed=30.0, seed=5))
    drv = _driver(mon.path, answer_timeout_s=0.3, result_timeout_s=1.0)
    try:
        drv.open()
        first = _run(drv, 10.0, until=lambda it: any(isinstance(i, VitalSample) and i.valid for i in it))
        assert any(isinstance(i, VitalSample) and i.valid for i in first)
        mon.stop.set()
        mon.thread.join(5)
        rng = random.Random(7)
        items: list[Item] = []
        end = time.monotonic() + 8.0
        while time.monotonic() < end and not any(isinstance(i, LinkEvent) for i in items):
            os.write(mon.master, bytes(rng.randrange(256) for _ in range(200)))
            items += drv.read(0.05)
        links = [i for i in items if isinstance(i, LinkEvent)]
        assert links and links[0].state is LinkState.NOT_ANSWERING
        assert not any(isinstance(i, VitalSample) and i.valid for i in items)
        drv.close()
    finally:
        mon.unplug()
