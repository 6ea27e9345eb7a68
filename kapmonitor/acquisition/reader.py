"""One reader thread per device: reads the driver, dispatches items, supervises the link.

The thread owns the driver. When the port goes away it reports the link as disconnected and
re-opens with exponential backoff (0.5 s doubling to 5 s) until stopped, so data resumes
within the same session when the cable comes back. It also turns "no valid data for a while"
into a NO_DATA link event, so a silent monitor is visible even when the port stays open.

Thread-safety: `start`, `stop`, `link_state` and `request_nibp` may be called from any thread.
"""

from __future__ import annotations

import logging
import threading
import time

from kapmonitor.acquisition.clock_alignment import MonitorClockAligner
from kapmonitor.acquisition.dispatcher import Dispatcher
from kapmonitor.drivers.base import Driver
from kapmonitor.drivers.errors import DriverError, LinkLostError, PortOpenError
from kapmonitor.model.samples import Item, LinkEvent, LinkState, Source, VitalSample, WaveChunk

log = logging.getLogger(__name__)


class ReaderThread:
    """Drives one `Driver` in a thread of its own."""

    def __init__(
        self,
        driver: Driver,
        dispatcher: Dispatcher,
        read_timeout: float = 0.05,
        no_data_after: float = 5.0,
        backoff_min: float = 0.5,
        backoff_max: float = 5.0,
    ) -> None:
        self.driver = driver
        self.dispatcher = dispatcher
        self._read_timeout = read_timeout
        self._no_data_after = no_data_after  # clock seconds without a valid value
        self._backoff_min = backoff_min
        self._backoff_max = backoff_max
        self._stop = threading.Event()
        self._nibp_requested = threading.Event()
        self._thread: threading.Thread | None = None
        self._state = LinkState.CLOSED
        self._state_lock = threading.Lock()
        self.last_error: str = ""
        self.reconnects = 0
        # a live monitor on the real clock: its timestamps go onto this computer's clock
        live = driver.source is Source.MONITOR and driver.clock.speed == 1.0
        self.aligner: MonitorClockAligner | None = MonitorClockAligner() if live else None

    @property
    def link_state(self) -> LinkState:
        with self._state_lock:
            return self._state

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"reader-{self.driver.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def request_nibp(self) -> None:
        """Ask for a NIBP measurement; carried out by the reader thread on its next turn."""
        self._nibp_requested.set()

    # -- thread ---------------------------------------------------------------------------
    def _set_state(self, state: LinkState, detail: str = "") -> None:
        with self._state_lock:
            if state is self._state:
                return
            self._state = state
        log.info("link %s: %s %s", self.driver.name, state.value, detail)
        self.dispatcher.dispatch([LinkEvent(self.driver.clock.now(), state, detail)])

    def _run(self) -> None:
        backoff = self._backoff_min
        first = True
        while not self._stop.is_set():
            self._set_state(LinkState.CONNECTING, self.driver.options.port or self.driver.name)
            try:
                self.driver.open()
            except Exception as exc:
                if not isinstance(exc, PortOpenError):
                    log.exception("opening driver %s failed", self.driver.name)
                self.last_error = str(exc)
                self._set_state(LinkState.DISCONNECTED, str(exc))
                if first:
                    log.warning("%s", exc)
                first = False
                if self._stop.wait(backoff):
                    break
                backoff = min(backoff * 2, self._backoff_max)
                continue
            if not first:
                self.reconnects += 1
            first = False
            backoff = self._backoff_min
            try:
                self._read_loop()
            except LinkLostError as exc:
                self.last_error = str(exc)
                self._set_state(LinkState.DISCONNECTED, str(exc))
            except DriverError as exc:
                self.last_error = str(exc)
                log.error("driver %s failed: %s", self.driver.name, exc)
                self._set_state(LinkState.DISCONNECTED, str(exc))
            except Exception as exc:
                self.last_error = f"driver error: {exc}"
                log.exception("driver %s crashed; reconnecting", self.driver.name)
                self._set_state(LinkState.DISCONNECTED, self.last_error)
            finally:
                try:
                    self.driver.close()
                except Exception:
                    log.exception("closing driver %s", self.driver.name)
            if not self._stop.is_set():
                self._stop.wait(backoff)
        self._set_state(LinkState.CLOSED, "stopped")

    def _read_loop(self) -> None:
        clock = self.driver.clock
        last_valid = clock.now()
        while not self._stop.is_set():
            if self._nibp_requested.is_set():
                self._nibp_requested.clear()
                if not self.driver.request_nibp():
                    log.info("driver %s cannot start a NIBP measurement", self.driver.name)
            items: list[Item] = self.driver.read(self._read_timeout)
            now = clock.now()
            if self.aligner is not None and items:
                items = self.aligner.align(items, now)
            got_valid = False
            for item in items:
                if isinstance(item, LinkEvent):
                    with self._state_lock:
                        self._state = item.state
                elif (isinstance(item, VitalSample) and item.valid) or isinstance(item, WaveChunk):
                    got_valid = True
            if items:
                self.dispatcher.dispatch(items)
            if got_valid:
                last_valid = now
                if self.link_state is not LinkState.CONNECTED:
                    self._set_state(LinkState.CONNECTED, "receiving data")
            elif now - last_valid > self._no_data_after and self.link_state is LinkState.CONNECTED:
                self._set_state(LinkState.NO_DATA, f"no valid data for {now - last_valid:.0f} s")
            if not items:
                time.sleep(0)  # let other threads run when the driver returned at once
