"""Assembling the monitoring pipeline: driver → reader thread → dispatcher → listeners.

The same assembly serves the GUI, `replay` and the tests; only the driver (byte source) and
the clock differ. Qt-free: the GUI reads the `TrendStore` on its own timer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from kapmonitor import __version__
from kapmonitor.acquisition.dispatcher import Dispatcher, Listener
from kapmonitor.acquisition.reader import ReaderThread
from kapmonitor.alarms.engine import AlarmEngine
from kapmonitor.alarms.log import AlarmLogWriter
from kapmonitor.alarms.profile import AlarmProfile, Priority
from kapmonitor.config import new_session_path
from kapmonitor.drivers.base import Driver
from kapmonitor.model.clock import Clock, DataPacedClock
from kapmonitor.model.samples import DeviceNotice, Item, LinkEvent, VitalSample, WaveChunk
from kapmonitor.model.trends import TrendStore
from kapmonitor.recording.reader import read_rows, read_vitals, record_is_simulated
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


class RecordSwitch:
    """The session record everyone writes to, whichever file that is at the moment.

    The dispatcher, the alarm log, the nurse's session and the music log all hold this one
    object; `switch_to` moves all of them to another file at once (resuming an unfinished
    record, a new record for another kind of monitor), so nothing keeps writing into a closed
    recorder. Thread-safety: every method may be called from any thread; a write lands either in
    the old record (before the switch; flushed by its stop) or in the new one, never nowhere.
    """

    def __init__(self, recorder: SessionRecorder) -> None:
        self._lock = threading.Lock()
        self._current = recorder

    @property
    def current(self) -> SessionRecorder:
        with self._lock:
            return self._current

    @property
    def path(self) -> Path:
        return self.current.path

    @property
    def failure(self) -> str | None:
        return self.current.failure

    def status(self) -> tuple[str, bool]:
        """The status-bar line of the record written now (see SessionRecorder.status)."""
        return self.current.status()

    @property
    def running(self) -> bool:
        return self.current.running

    @property
    def queue_depth(self) -> int:
        return self.current.queue_depth

    @property
    def rows_written(self) -> int:
        return self.current.rows_written

    def start(self, wait: bool = True) -> RecordSwitch:
        self.current.start(wait)
        return self

    def wait_open(self) -> RecordSwitch:
        self.current.wait_open()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.current.stop(timeout)

    def flush(self, timeout: float = 5.0) -> bool:
        return self.current.flush(timeout)

    def on_items(self, items: Sequence[Item]) -> None:
        with self._lock:
            self._current.on_items(items)

    def insert(self, table: str, row: Mapping[str, object]) -> None:
        with self._lock:
            self._current.insert(table, row)

    def execute(self, sql: str, params: Sequence[object] = ()) -> None:
        with self._lock:
            self._current.execute(sql, params)

    def set_meta(self, key: str, value: object) -> None:
        with self._lock:
            self._current.set_meta(key, value)

    def switch_to(self, recorder: SessionRecorder) -> SessionRecorder:
        """Start `recorder` (raises, changing nothing, when its file cannot be opened), make it the
        record, then stop the old one (its queue is written and committed). Returns the old one."""
        recorder.start()
        with self._lock:
            old, self._current = self._current, recorder
        old.stop()
        return old


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
        self._meta = dict(meta or {})
        self.recorder = RecordSwitch(
            SessionRecorder(session_path, session_meta(driver, meta), on_failure=self._storage_failed,
                            on_recovered=self._storage_back)
        )
        self.reader = ReaderThread(driver, self.dispatcher)
        self.on_trends_replaced: list[Callable[[TrendStore], None]] = []  # the GUI follows a fresh display store
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

    def _storage_back(self) -> None:
        """Recording again (space returned, record recovered): the condition ends; a latched alarm
        stays until the nurse acknowledges it."""
        if self.alarms is not None:
            self.alarms.clear_technical("storage-failure")

    @property
    def session_path(self) -> Path:
        return self.recorder.path

    def start(self, wait_for_record: bool = True) -> None:
        """Open the session database first (fail early), then start reading the monitor.
        `wait_for_record` False: the file opens in the writer thread while monitoring starts (what is
        read meanwhile is queued and written, nothing lost); `wait_for_record()` then fails as this would."""
        self.recorder.start(wait_for_record)
        if self._paced is not None:
            self._paced.restart()
        if self.alarms is not None:
            self.alarms.session_active(True)
        self.reader.start()
        self._started = True

    def wait_for_record(self) -> None:
        """Block until the record is open (after `start(wait_for_record=False)`); when it cannot be,
        monitoring stops and the open failure is raised."""
        try:
            self.recorder.wait_open()
        except BaseException:
            self.stop()
            raise

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

    @property
    def can_start_nibp(self) -> bool:
        """Whether "Measure NIBP now" can really start the cuff of the monitor read now."""
        return self.driver.can_start_nibp

    def request_nibp(self) -> bool:
        """Ask the current monitor for a NIBP measurement. False (nothing asked) when it cannot."""
        if not self.driver.can_start_nibp:
            return False
        self.reader.request_nibp()
        return True

    def replace_driver(self, driver: Driver, new_record: Path | None = None) -> Path | None:
        """Read another monitor from now on, without stopping alarms or the display.

        The same kind of source (real to real, simulator to simulator) continues the record, with
        a `monitor-changed` notice. Between the simulator and a real monitor a record is never
        shared: a new record is started (`new_record`, else a new file in the sessions folder) and
        the trend display starts empty, so simulated values are never shown or kept beside a
        patient's. Returns the new record's path, or None when the record continues.

        The new record is opened before anything changes: if it cannot be, this raises and the old
        monitor goes on. Call from the thread that owns the pipeline.
        """
        if driver.clock is not self.clock:
            raise ValueError("the new driver must run on the pipeline's clock")
        new_kind = driver.is_simulated != self.driver.is_simulated
        started: Path | None = None
        if new_kind:
            path = new_record or new_session_path(driver.is_simulated, self.clock.now())
            recorder = SessionRecorder(path, session_meta(driver, self._meta), on_failure=self._storage_failed,
                                       on_recovered=self._storage_back)
            recorder.start()  # raises before anything changed
        old_reader = self.reader
        old_reader.stop()  # the old driver is closed; its last batch is already dispatched
        if new_kind and self.alarms is not None:  # logged in the old record: its alarms end with it
            self.alarms.source_changed(f"monitor changed to {driver.description}: a new session record")
        if new_kind:
            old = self.recorder.switch_to(recorder)
            started = recorder.path
            self._replace_trends(TrendStore())
            log.info("new session record %s for %s (previous record %s closed)", started, driver.name, old.path)
        self.driver = driver
        self.reader = ReaderThread(driver, self.dispatcher)
        where = f" on {driver.options.port}" if driver.options.port else ""
        text = f"monitor changed to {driver.description}{where}"
        if started is not None:
            text += f"; the earlier monitor was recorded in {old.path.name}"
        self.dispatcher.dispatch([DeviceNotice(self.clock.now(), "monitor-changed", text)])
        if self._started:
            self.reader.start()
        log.info("%s", text)
        return started

    def switch_record(self, path: Path) -> Path:
        """Write from now on into the existing record `path` (an unfinished session resumed) and
        return the path of the record written so far. Monitoring and alarms go on throughout;
        the vitals of the record written so far are copied into `path`, so the resumed record
        has no gap. Its creation time and kind are kept. Raises (changing nothing) when `path`
        cannot be opened for writing. Call from the thread that owns the pipeline.
        """
        recorded_simulated = record_is_simulated(path)
        if recorded_simulated is not None and recorded_simulated != self.driver.is_simulated:
            kind = "simulated" if recorded_simulated else "a patient's"
            raise ValueError(f"{path.name} is {kind} record: it cannot continue with the monitor read now")
        meta = {k: v for k, v in session_meta(self.driver, self._meta).items() if k not in ("created_at", "simulated")}
        recorder = SessionRecorder(path, meta, on_failure=self._storage_failed,
                                   on_recovered=self._storage_back)
        old = self.recorder.switch_to(recorder)
        interim = read_vitals(old.path)
        if interim:
            recorder.on_items(interim)
        for table, row in read_rows(old.path, _CARRIED_TABLES):  # an alarm raised before goes on here
            recorder.insert(table, row)
        self.recorder.insert("device_notices", {
            "t": self.clock.now(),
            "code": "record-resumed",
            "message": f"record resumed while monitoring; the {len(interim)} vital values, alarm events and link "
                       f"changes recorded since the start (in {old.path.name}) are copied here",
        })
        try:  # the record of the minutes before says where they went on (it is kept, never deleted)
            SessionRecorder(old.path, {"continued_in": path.name}).start().stop()
        except Exception as exc:  # noqa: BLE001 - only a pointer; the data are copied already
            log.warning("cannot note in %s where it continues: %s", old.path, exc)
        log.info("recording switched from %s to %s", old.path, path)
        return old.path

    def start_new_record(self, path: Path) -> Path:
        """Record from now on into a new session database `path` (a new session: never two in one
        record) and return the path of the record closed. Monitoring and alarms go on throughout;
        nothing of the old record is copied. Raises (changing nothing) when `path` cannot be opened.
        Call from the thread that owns the pipeline.
        """
        recorder = SessionRecorder(path, session_meta(self.driver, self._meta), on_failure=self._storage_failed,
                                   on_recovered=self._storage_back)
        old = self.recorder.switch_to(recorder)
        log.info("new session record %s (previous record %s closed)", path, old.path)
        return old.path

    def _replace_trends(self, store: TrendStore) -> None:
        """A fresh display store: the new one hears the dispatcher before the old one is dropped."""
        old = self.trends
        self.dispatcher.add_listener(store)
        self.dispatcher.remove_listener(old)
        self.trends = store
        for callback in list(self.on_trends_replaced):
            callback(store)

    def show_history(self, items: Sequence[VitalSample]) -> None:
        """Show a record's vitals (a resumed record, read after the switch): a fresh display store
        gets `items` in time order and the current link state, then replaces the old one."""
        store = TrendStore()
        store.on_items(sorted(items, key=lambda i: i.time))
        state, detail = self.trends.link()
        store.on_items([LinkEvent(self.clock.now(), state, detail)])
        self._replace_trends(store)


_CARRIED_TABLES = ("alarm_log", "limit_changes", "link_events", "device_notices")
