"""The reader thread: dispatches, reports link states, reconnects with backoff, survives driver bugs."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from kapmonitor.acquisition.dispatcher import Dispatcher
from kapmonitor.acquisition.reader import ReaderThread
from kapmonitor.drivers.base import Driver, DriverOptions
from kapmonitor.drivers.errors import LinkLostError, PortOpenError
from kapmonitor.model.clock import RealClock
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import Item, LinkEvent, LinkState, VitalSample


class ScriptedDriver(Driver):
    """A driver whose port fails to open twice, then delivers values, then is unplugged once."""

    name = "scripted"
    description = "scripted test driver"

    def __init__(self) -> None:
        super().__init__(DriverOptions(port="test://"), RealClock())
        self.opens = 0
        self.reads = 0
        self.closed = 0

    def open(self) -> None:
        self.opens += 1
        if self.opens <= 2:
            raise PortOpenError("cannot open port test://: no such device")

    def read(self, timeout: float) -> list[Item]:
        self.reads += 1
        time.sleep(0.005)
        if self.reads == 20:
            raise LinkLostError("device unplugged")
        if self.reads == 40:
            raise RuntimeError("a bug in a driver")
        return [VitalSample(time.time(), Parameter.HR, 70.0)]

    def close(self) -> None:
        self.closed += 1


class Collector:
    def __init__(self) -> None:
        self.items: list[Item] = []
        self.lock = threading.Lock()

    def on_items(self, items: Sequence[Item]) -> None:
        with self.lock:
            self.items.extend(items)


class FailingListener:
    def on_items(self, items: Sequence[Item]) -> None:
        raise ValueError("listener bug")


def test_reconnects_and_keeps_going() -> None:
    driver = ScriptedDriver()
    dispatcher = Dispatcher()
    collector = Collector()
    dispatcher.add_listener(FailingListener())  # must not stop the others
    dispatcher.add_listener(collector)
    reader = ReaderThread(driver, dispatcher, backoff_min=0.02, backoff_max=0.05)
    reader.start()
    deadline = time.monotonic() + 10
    while driver.reads < 60 and time.monotonic() < deadline:
        time.sleep(0.02)
    reader.stop()
    states = [i.state for i in collector.items if isinstance(i, LinkEvent)]
    assert states[:3] == [LinkState.CONNECTING, LinkState.DISCONNECTED, LinkState.CONNECTING]
    assert states.count(LinkState.CONNECTED) >= 3  # first connect, after unplug, after the driver bug
    assert states[-1] is LinkState.CLOSED
    assert driver.opens >= 5 and reader.reconnects >= 2
    assert sum(isinstance(i, VitalSample) for i in collector.items) >= 55
    assert dispatcher.listener_errors > 0
    assert not reader.alive
