"""Assembling the monitoring pipeline: driver → reader thread → dispatcher → listeners.

The same assembly serves the GUI, `replay` and the tests; only the driver (byte source) and
the clock differ. Qt-free: the GUI reads the `TrendStore` on its own timer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from kapmonitor import __version__
from kapmonitor.acquisition.dispatcher import Dispatcher, Listener
from kapmonitor.acquisition.reader import ReaderThread
from kapmonitor.drivers.base import Driver
from kapmonitor.model.samples import Item
from kapmonitor.model.trends import TrendStore
from kapmonitor.recording.recorder import SessionRecorder

log = logging.getLogger(__name__)


def session_meta(driver: Driver, extra: Mapping[str, object] | None = None) -> dict[str, object]:
    """Facts about the recording stored in the session's `meta` table."""
    offset_s = -time.altzone if time.daylight and time.localtime().tm_isdst > 0 else -time.timezone
    meta: dict[str, object] = {
        "app_version": __version__,
        "created_at": driver.clock.now(),
        "driver": driver.name,
        "port": driver.options.port or "",
        "simulated": int(driver.is_simulated),
        "scenario": driver.options.scenario if driver.is_simulated else "",
        "seed": driver.options.seed if driver.is_simulated else "",
        "speed": driver.clock.speed,
        "utc_offset_minutes": offset_s // 60,
    }
    meta.update(extra or {})
    return meta


class MonitoringPipeline:
    """Owns the parts of one monitoring session and starts/stops them in the right order.

    Thread-safety: `submit` may be called from any thread (manual vitals from the GUI);
    `start`/`stop` from the thread that owns the pipeline.
    """

    def __init__(
        self,
        driver: Driver,
        session_path: Path,
        meta: Mapping[str, object] | None = None,
        extra_listeners: Sequence[Listener] = (),
    ) -> None:
        self.driver = driver
        self.clock = driver.clock
        self.dispatcher = Dispatcher()
        self.trends = TrendStore()
        self.recorder = SessionRecorder(session_path, session_meta(driver, meta))
        self.reader = ReaderThread(driver, self.dispatcher)
        self.dispatcher.add_listener(self.trends)
        self.dispatcher.add_listener(self.recorder)
        for listener in extra_listeners:
            self.dispatcher.add_listener(listener)
        self._started = False

    @property
    def session_path(self) -> Path:
        return self.recorder.path

    def start(self) -> None:
        """Open the session database first (fail early), then start reading the monitor."""
        self.recorder.start()
        self.reader.start()
        self._started = True

    def stop(self) -> None:
        """Stop reading, then flush and close the record. Idempotent."""
        if not self._started:
            return
        self._started = False
        self.reader.stop()
        self.recorder.stop()

    def submit(self, items: Sequence[Item]) -> None:
        """Feed items that did not come from the driver (manual vitals) through the same path."""
        self.dispatcher.dispatch(items)
