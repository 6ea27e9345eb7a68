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
from kapmonitor.alarms.engine import AlarmEngine
from kapmonitor.alarms.log import AlarmLogWriter
from kapmonitor.alarms.profile import AlarmProfile, Priority
from kapmonitor.drivers.base import Driver
from kapmonitor.model.clock import Clock, DataPacedClock
from kapmonitor.model.samples import Item, VitalSample, WaveChunk
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


class PacedFeeder:
    """Feeds an accelerated source to a listener one instant at a time, advancing the paced clock
    to each instant first, so a batch that spans many simulated seconds is judged second by second."""

    def __init__(self, clock: DataPacedClock, listener: Listener) -> None:
        self._clock = clock
        self._listener = listener

    def on_items(self, items: Sequence[Item]) -> None:
        # only data carries the source's time; link events and raw frames carry the PC clock's
        data = sorted((i for i in items if isinstance(i, VitalSample | WaveChunk)), key=lambda i: i.time)
        other = [i for i in items if not isinstance(i, VitalSample | WaveChunk)]
        if other:
            self._listener.on_items(other)
        group: list[Item] = []
        for item in data:
            if group and item.time != group[0].time:
                self._clock.observe(group[0].time)
                self._listener.on_items(group)
                group = []
            group.append(item)
        if group:
            self._clock.observe(group[0].time)
            self._listener.on_items(group)


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
        alarm_profile: AlarmProfile | None = None,
    ) -> None:
        self.driver = driver
        self.clock = driver.clock
        self.dispatcher = Dispatcher()
        self.trends = TrendStore()
        self.recorder = SessionRecorder(session_path, session_meta(driver, meta), on_failure=self._storage_failed)
        self.reader = ReaderThread(driver, self.dispatcher)
        # the alarm engine hears every batch first: the shortest path from a frame to an alarm
        self.alarms: AlarmEngine | None = None
        self._paced: DataPacedClock | None = None
        if alarm_profile is not None:
            engine_clock: Clock = self.clock
            if 1.0 < self.clock.speed < float("inf"):
                self._paced = engine_clock = DataPacedClock(self.clock)
            self.alarms = AlarmEngine(alarm_profile, engine_clock)
            self.alarms.add_listener(AlarmLogWriter(self.recorder))
            self.alarm_listener: Listener = self.alarms
            if self._paced is not None:
                self.alarm_listener = PacedFeeder(self._paced, self.alarms)
            self.dispatcher.add_listener(self.alarm_listener)
        self.dispatcher.add_listener(self.trends)
        self.dispatcher.add_listener(self.recorder)
        for listener in extra_listeners:
            self.dispatcher.add_listener(listener)
        self._started = False

    def _storage_failed(self, message: str) -> None:
        """A failing record is itself an alarm: the nurse must know that nothing is being kept."""
        if self.alarms is not None:
            self.alarms.report_technical("storage-failure", f"Session record failing: {message}", Priority.HIGH)

    @property
    def session_path(self) -> Path:
        return self.recorder.path

    def start(self) -> None:
        """Open the session database first (fail early), then start reading the monitor."""
        self.recorder.start()
        if self._paced is not None:
            self._paced.restart()
        if self.alarms is not None:
            self.alarms.session_active(True)
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
