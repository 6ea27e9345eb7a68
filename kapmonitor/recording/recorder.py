"""The session recorder: every sample, wave chunk, raw frame and event into SQLite.

One writer thread owns the write connection. Other threads only put work on a queue, so a
slow disk never blocks acquisition or the GUI. The writer commits at least every
`commit_interval` seconds while there is work, so a crash loses at most that much.

Thread-safety: every public method may be called from any thread.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kapmonitor.model.samples import DeviceNotice, Item, LinkEvent, RawFrame, VitalSample, WaveChunk
from kapmonitor.recording.database import open_for_writing

log = logging.getLogger(__name__)

_SAMPLE_SQL = "INSERT INTO samples (t, parameter, value, status, source, measurement_id) VALUES (?, ?, ?, ?, ?, ?)"
_WAVE_SQL = "INSERT INTO waves (t0, parameter, rate_hz, data, source) VALUES (?, ?, ?, ?, ?)"
_RAW_SQL = "INSERT INTO raw_frames (t, direction, data) VALUES (?, ?, ?)"
_LINK_SQL = "INSERT INTO link_events (t, state, detail) VALUES (?, ?, ?)"
_NOTICE_SQL = "INSERT INTO device_notices (t, code, message) VALUES (?, ?, ?)"

_STOP = object()


class RecorderError(Exception):
    """The recorder cannot write (disk full, file removed, ...)."""


class SessionRecorder:
    """Writes one session database. Use as a context manager or call `start()` / `stop()`."""

    def __init__(
        self,
        path: Path,
        meta: Mapping[str, object] | None = None,
        commit_interval: float = 0.5,
        on_failure: Callable[[str], None] | None = None,
    ) -> None:
        self.path = Path(path)
        self._meta = dict(meta or {})
        self._commit_interval = commit_interval
        self._on_failure = on_failure
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._tables: set[str] = set()
        self._columns: dict[str, set[str]] = {}
        self._ready = threading.Event()
        self._open_error: Exception | None = None
        self.failure: str | None = None
        self.rows_written = 0
        self.commits = 0
        self.last_commit_monotonic = 0.0

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> SessionRecorder:
        """Open the database (in the writer thread) and start writing. Raises on open failure."""
        self._thread = threading.Thread(target=self._run, name="session-recorder", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._open_error is not None:
            raise self._open_error
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Write everything queued, commit, close. Idempotent."""
        if self._thread is None:
            return
        self._queue.put(_STOP)
        self._thread.join(timeout)
        self._thread = None

    def __enter__(self) -> SessionRecorder:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- producers (any thread) ---------------------------------------------------------------
    def on_items(self, items: Sequence[Item]) -> None:
        """Dispatcher listener: queue acquisition items for writing."""
        if items:
            self._queue.put(("items", list(items)))

    def insert(self, table: str, row: Mapping[str, object]) -> None:
        """Queue one row for `table`; columns are checked against the schema when written."""
        self._queue.put(("row", table, dict(row)))

    def execute(self, sql: str, params: Sequence[object] = ()) -> None:
        """Queue an arbitrary write statement (for audited edits); runs in order with the rest."""
        self._queue.put(("sql", sql, tuple(params)))

    def set_meta(self, key: str, value: object) -> None:
        self.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, str(value)))

    def flush(self, timeout: float = 5.0) -> bool:
        """Block until everything queued before this call is committed. True on success."""
        if self._thread is None:
            return self.failure is None
        done = threading.Event()
        self._queue.put(("flush", done))
        return done.wait(timeout) and self.failure is None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def queue_depth(self) -> int:
        return self._queue.qsize()

    # -- writer thread ----------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            conn = open_for_writing(self.path)
            self._tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            for table in self._tables:
                self._columns[table] = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
            if self._meta:
                conn.execute("BEGIN")
                conn.executemany(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                    [(k, str(v)) for k, v in self._meta.items()],
                )
                conn.execute("COMMIT")
        except Exception as exc:  # noqa: BLE001 - reported to the starter
            self._open_error = exc
            self._ready.set()
            return
        self._ready.set()
        log.info("recording to %s", self.path)
        try:
            self._loop(conn)
        finally:
            try:
                conn.close()
            except sqlite3.Error:
                log.exception("closing session database")

    def _loop(self, conn: sqlite3.Connection) -> None:
        in_tx = False
        last_commit = time.monotonic()
        waiting: list[threading.Event] = []
        stop = False
        while not stop:
            timeout = self._commit_interval if in_tx else None
            try:
                first = self._queue.get(timeout=timeout) if timeout is not None else self._queue.get()
                batch = [first]
                while len(batch) < 5000:
                    try:
                        batch.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
            except queue.Empty:
                batch = []
            for work in batch:
                if work is _STOP:
                    stop = True
                    continue
                if work[0] == "flush":
                    waiting.append(work[1])
                    continue
                if self.failure is not None:
                    continue  # storage failed: keep draining so producers never block
                try:
                    if not in_tx:
                        conn.execute("BEGIN")
                        in_tx = True
                    self._write(conn, work)
                except (sqlite3.Error, OSError, ValueError) as exc:
                    self._fail(conn, f"cannot write the session record: {exc}")
                    in_tx = False
            now = time.monotonic()
            if in_tx and (stop or waiting or now - last_commit >= self._commit_interval):
                try:
                    conn.execute("COMMIT")
                    self.commits += 1
                except sqlite3.Error as exc:
                    self._fail(conn, f"cannot commit the session record: {exc}")
                in_tx = False
                last_commit = now
                self.last_commit_monotonic = now
            elif not in_tx:
                last_commit = now if not batch else last_commit
            for event in waiting:
                event.set()
            waiting.clear()

    def _fail(self, conn: sqlite3.Connection, message: str) -> None:
        if self.failure is None:
            log.error("%s", message)
            self.failure = message
            if self._on_failure is not None:
                try:
                    self._on_failure(message)
                except Exception:
                    log.exception("recorder failure listener")
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")

    def _write(self, conn: sqlite3.Connection, work: tuple[Any, ...]) -> None:
        kind = work[0]
        if kind == "items":
            self._write_items(conn, work[1])
        elif kind == "row":
            table, row = work[1], work[2]
            if table not in self._tables:
                raise ValueError(f"no table {table!r} in the session schema")
            unknown = set(row) - self._columns[table]
            if unknown:
                raise ValueError(f"no column(s) {sorted(unknown)} in table {table!r}")
            cols = ", ".join(row)
            marks = ", ".join("?" for _ in row)
            conn.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", tuple(row.values()))
            self.rows_written += 1
        elif kind == "sql":
            conn.execute(work[1], work[2])
            self.rows_written += 1

    def _write_items(self, conn: sqlite3.Connection, items: list[Item]) -> None:
        samples = []
        waves = []
        raws = []
        for item in items:
            if isinstance(item, VitalSample):
                p, st, src = item.parameter.value, item.status.value, item.source.value
                samples.append((item.time, p, item.value, st, src, item.measurement_id))
            elif isinstance(item, WaveChunk):
                data = np.asarray(item.values, dtype="<f4").tobytes()
                waves.append((item.time, item.parameter.value, item.rate_hz, data, item.source.value))
            elif isinstance(item, RawFrame):
                raws.append((item.time, item.direction, item.data))
            elif isinstance(item, LinkEvent):
                conn.execute(_LINK_SQL, (item.time, item.state.value, item.detail))
            elif isinstance(item, DeviceNotice):
                conn.execute(_NOTICE_SQL, (item.time, item.code, item.message))
        if samples:
            conn.executemany(_SAMPLE_SQL, samples)
        if waves:
            conn.executemany(_WAVE_SQL, waves)
        if raws:
            conn.executemany(_RAW_SQL, raws)
        self.rows_written += len(items)
