"""The session recorder: every sample, wave chunk, raw frame and event into SQLite.

One writer thread owns the write connection. Other threads only put work on a queue, so a
slow disk never blocks acquisition or the GUI. The writer commits at least every
`commit_interval` seconds while there is work, so a crash loses at most that much.

The record is watched and recovers by itself:
- the database (or its -wal) deleted, moved or replaced: noticed within `watch_interval`, the
  failure is reported (the storage-failure alarm) and the whole record, which SQLite still holds
  open, is copied with the backup API into a recovery file beside it
  (`<name>.recovered-<time>.db`); recording goes on there and nothing is lost;
- a write that fails (disk full, I/O error): the work is held in memory (bounded; the oldest
  monitor data goes first when the bound is reached, counted) and written again every
  `retry_interval` once space returns; the alarm ends and a `recording_gap` row in `alarm_log`
  says how long it lasted and how much was lost;
- a damaged database (integrity check fails) is never written into: a new record is started
  beside it (`<name>.continued-<time>.db`) and the failure is reported once.
The record has one writer: a second recorder (in this or another process) is refused.
The watching, the memory hold and the recovery copy are in recovery.py; how monitor data is laid
out in rows (waves, raw frames) is in monitor_rows.py.

Thread-safety: every public method may be called from any thread.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from kapmonitor.model.samples import Item
from kapmonitor.recording.database import DamagedDatabaseError, LockedConnection, WriterLock, open_for_writing
from kapmonitor.recording.monitor_rows import MonitorRowWriter
from kapmonitor.recording.recovery import (
    BUFFER_LIMIT_ITEMS,
    FileWatch,
    HeldWork,
    copy_into_recovery,
    items_in,
    note_gap,
    note_recovered,
    sibling,
)

log = logging.getLogger(__name__)

# Writing the held work again is tried only with at least this much free space.
MIN_FREE_BYTES = 512 * 1024
# Below this much free space the status bar warns (a session takes about 1.5 MB an hour).
LOW_SPACE_BYTES = 50 * 1024 * 1024
_SPACE_CHECK_S = 10.0
_STOP = object()
# a row the schema refuses is dropped alone; anything else is the storage failing
_BAD_ROW = (ValueError, sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError)


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
        on_recovered: Callable[[], None] | None = None,
        watch_interval: float = 0.5,
        retry_interval: float = 1.0,
        buffer_limit: int = BUFFER_LIMIT_ITEMS,
    ) -> None:
        self.path = Path(path)  # the file written now (a recovery or continued file after a fault)
        self.requested_path = self.path
        self._meta = dict(meta or {})
        self._commit_interval = commit_interval
        self._watch_interval = watch_interval
        self._retry_interval = retry_interval
        self._on_failure = on_failure
        self._on_recovered = on_recovered
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._tables: set[str] = set()
        self._columns: dict[str, set[str]] = {}
        self._ready = threading.Event()
        self._open_error: Exception | None = None
        self._open_checked = False  # the open's outcome was reported to the starter
        self._conn: sqlite3.Connection | None = None
        self._watch = FileWatch(self.path)
        # the open wave rows (writer thread); forgotten whenever a transaction is rolled back or the file changes
        self._rows = MonitorRowWriter()
        self._held = HeldWork(buffer_limit)  # work waiting for the disk, oldest first
        self._failed_since: float | None = None
        self._failed_wall: float | None = None
        self._lost_file = False  # the record's file is gone: recover, not just retry
        self._rejected_since_flush = False
        self._tried_writing = False  # the last retry wrote (and rolled back), not just looked at free space
        self.failure: str | None = None  # the storage problem now (None: writing normally)
        self.free_bytes: int | None = None  # free space beside the record, looked at every 10 s
        self.replaced: str | None = None  # why `path` is not the file asked for
        self.rejected_rows = 0
        self.rows_written = 0
        self.commits = 0
        self.last_commit_monotonic = 0.0

    # -- lifecycle --------------------------------------------------------------------------
    def start(self, wait: bool = True) -> SessionRecorder:
        """Open the database (in the writer thread) and start writing. Raises on open failure
        (SessionDatabaseError: another writer, not a session, newer schema, cannot create).
        `wait` False returns at once (the window is built meanwhile): whatever is queued is written
        once the file is open, and `wait_open()` then raises the failure. Starting a started
        recorder does nothing."""
        if self._thread is not None:
            return self
        self._thread = threading.Thread(target=self._run, name="session-recorder", daemon=True)
        self._thread.start()
        return self.wait_open() if wait else self

    def wait_open(self) -> SessionRecorder:
        """Block until the writer thread has opened the file; raise its open failure (the recorder
        is then stopped). Call from the thread that started it; a second call returns at once."""
        if self._thread is None or self._open_checked:
            return self
        self._ready.wait()
        if self._open_error is not None:
            self._thread.join(5.0)
            self._thread = None
            raise self._open_error
        self._open_checked = True
        if self.replaced is not None:
            self._report_failure(self.replaced)  # the nurse is told which file is written now
            self._report_recovered()
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
        """Block until everything queued before this call is committed. True on success (False
        while the storage fails or when a row was refused since the last flush)."""
        if self._thread is None:
            return self.failure is None
        done = threading.Event()
        self._queue.put(("flush", done))
        ok = done.wait(timeout) and self.failure is None and not self._rejected_since_flush
        self._rejected_since_flush = False
        return ok

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def queue_depth(self) -> int:
        return self._queue.qsize()

    @property
    def held_items(self) -> int:
        """Items held in memory while the storage fails."""
        return self._held.items

    @property
    def lost_items(self) -> int:
        """Items dropped from the full memory buffer over the whole recording."""
        return self._held.lost_total

    def status(self) -> tuple[str, bool]:
        """The status-bar line and whether all is well (False: shown as a problem)."""
        failure, replaced = self.failure, self.replaced
        if failure is not None:
            held = self._held.items
            keep = f"; {held} values held in memory until it can write again" if held else ""
            return f"\u25cf NOT RECORDING: {failure}{keep}", False
        if replaced is not None:
            return f"\u25cf Recording {self.path.name} ({replaced})", False
        free = self.free_bytes
        if free is not None and free < LOW_SPACE_BYTES:
            return f"\u25cf Recording {self.path.name} (disk almost full: {free / 1e6:.0f} MB free)", False
        return f"\u25cf Recording {self.path.name}", True

    # -- writer thread ----------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            conn = self._open_first()
        except Exception as exc:  # noqa: BLE001 - reported to the starter
            self._open_error = exc
            self._ready.set()
            return
        self._ready.set()
        log.info("recording to %s", self.path)
        try:
            self._loop()
            self._finish()
        finally:
            conn = self._conn or conn
            try:
                conn.close()
            except sqlite3.Error:
                log.exception("closing session database")

    def _finish(self) -> None:
        """The last raw-frame piece compressed whole; when that fails, its stream rows stay as they are."""
        if self.failure is not None:
            return
        conn = self._db()
        try:
            conn.execute("BEGIN")
            self._rows.finish(conn)
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            log.warning("the last raw frames stay uncompressed: %s", exc)

    def _open_first(self) -> sqlite3.Connection:
        try:
            conn = open_for_writing(self.path)
        except DamagedDatabaseError as exc:
            # monitoring must start: a new record beside the damaged one, which is kept untouched
            fresh = sibling(self.path, "continued", time.time())
            log.error("%s; recording into %s instead", exc, fresh)
            conn = open_for_writing(fresh)
            self.replaced = f"{self.path.name} is damaged, kept untouched; a new record is written"
            self._meta["continues_damaged_record"] = self.path.name
            self.path = fresh
            self._watch.follow(fresh)
        self._adopt(conn)
        if self._meta:
            conn.execute("BEGIN")
            conn.executemany(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                [(k, str(v)) for k, v in self._meta.items()],
            )
            conn.execute("COMMIT")
        self._watch.note_wal()
        return conn

    def _adopt(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._rows.forget()
        self._tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
        self._columns = {t: {r[1] for r in conn.execute(f"PRAGMA table_info({t})")} for t in self._tables}

    def _lock(self) -> WriterLock | None:
        return self._conn.writer_lock if isinstance(self._conn, LockedConnection) else None

    def _file_problem(self) -> str | None:
        return self._watch.problem(self._lock())

    def _loop(self) -> None:
        in_tx = False
        pending: list[tuple[Any, ...]] = []  # written in the open transaction, kept until it commits
        last_commit = time.monotonic()
        next_watch = last_commit + self._watch_interval
        next_retry = 0.0
        next_space = 0.0
        retries = 0
        waiting: list[threading.Event] = []
        stop = False
        while not stop:
            now = time.monotonic()
            deadlines = [next_watch]
            if in_tx:
                deadlines.append(last_commit + self._commit_interval)
            if self.failure is not None:
                deadlines.append(next_retry)
            timeout = max(0.0, min(deadlines) - now)
            try:
                batch = [self._queue.get(timeout=timeout)]
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
                    self._held.append(work)  # storage failing: keep it, producers never block
                    continue
                try:
                    if not in_tx:
                        self._db().execute("BEGIN")
                        in_tx = True
                    self._write(self._db(), work)
                    pending.append(work)
                except _BAD_ROW as exc:
                    self._reject(work, exc)
                except (sqlite3.Error, OSError) as exc:
                    self._storage_error(f"cannot write the session record: {exc}", [*pending, work])
                    pending, in_tx = [], False
                    next_retry = time.monotonic() + self._retry_interval
            now = time.monotonic()
            if now >= next_space:
                next_space = now + _SPACE_CHECK_S
                try:
                    self.free_bytes = shutil.disk_usage(self.path.parent).free
                except OSError:
                    self.free_bytes = None
            if now >= next_watch or stop:
                next_watch = now + self._watch_interval
                problem = self._file_problem()
                if problem is not None and not self._lost_file:
                    self._lost_file = True
                    self._set_failure(f"{problem}; recovering it into a new file")
                    next_retry = now  # recover at once
            if in_tx and (stop or waiting or self.failure is not None or now - last_commit >= self._commit_interval):
                try:
                    # after a loss this still commits into the open (unlinked) file: the recovery copies it
                    self._rows.flush(self._db())
                    self._db().execute("COMMIT")
                    self.commits += 1
                    self.last_commit_monotonic = now
                except sqlite3.Error as exc:
                    self._storage_error(f"cannot commit the session record: {exc}", pending)
                    next_retry = now + self._retry_interval
                pending, in_tx = [], False
                last_commit = now
            elif not in_tx and not batch:
                last_commit = now
            if self.failure is not None and (now >= next_retry or stop) and not in_tx:
                if self._retry():
                    next_retry, retries = 0.0, 0
                else:  # back off (up to 10 s) from tries that wrote everything held and rolled it back
                    retries = retries + 1 if self._tried_writing else 0
                    next_retry = time.monotonic() + min(10.0, self._retry_interval * 2 ** min(retries, 6))
            for event in waiting:
                event.set()
            waiting.clear()
        if self._held:
            log.error("session record closed with %d values not written: %s", self._held.items, self.failure)

    def _db(self) -> sqlite3.Connection:
        assert self._conn is not None
        return self._conn

    # -- failure and recovery (writer thread) ---------------------------------------------------------
    def _set_failure(self, message: str) -> None:
        if self.failure is None:
            self._failed_since = time.monotonic()
            self._failed_wall = time.time()
            self._held.lost_now = 0
        self.failure = message
        log.error("%s", message)
        self._report_failure(message)

    def _report_failure(self, message: str) -> None:
        if self._on_failure is not None:
            try:
                self._on_failure(message)
            except Exception:
                log.exception("recorder failure listener")

    def _report_recovered(self) -> None:
        if self._on_recovered is not None:
            try:
                self._on_recovered()
            except Exception:
                log.exception("recorder recovery listener")

    def _storage_error(self, message: str, unwritten: list[tuple[Any, ...]]) -> None:
        """The transaction failed: roll it back and hold its work (and all that follows) in memory."""
        self._rows.forget()
        with contextlib.suppress(sqlite3.Error):
            self._db().execute("ROLLBACK")
        self._held.put_back(unwritten)
        problem = self._file_problem()
        if problem is not None:
            self._lost_file = True
            message = f"{problem}; recovering it into a new file"
        elif "full" in message.lower():
            message = "the disk is full"
        if self.failure != message:
            self._set_failure(message)

    def _reject(self, work: tuple[Any, ...], exc: Exception) -> None:
        self.rejected_rows += items_in(work)
        self._rejected_since_flush = True
        log.error("a row was refused by the session record and not written: %s", exc)
        self._report_failure(f"a row was refused by the session record: {exc}")
        if self.failure is None:
            self._report_recovered()  # a one-off: the (latched) alarm stays until acknowledged

    def _retry(self) -> bool:
        """Try to write again (after recovering a lost file). True once recording is back."""
        self._tried_writing = False
        if self._lost_file:
            self._tried_writing = True  # a failed copy of the whole record is costly too
            if not self._recover():
                return False
        else:
            try:
                if shutil.disk_usage(self.path.parent).free < MIN_FREE_BYTES:
                    return False
            except OSError:
                pass  # cannot tell: just try
        seconds = time.monotonic() - (self._failed_since or time.monotonic())
        conn = self._db()
        self._tried_writing = True
        try:
            conn.execute("BEGIN")
            for work in self._held.work:
                try:
                    self._write(conn, work)
                except _BAD_ROW as exc:
                    self._reject(work, exc)
            if self._failed_wall is not None:
                note_gap(conn, seconds, self._held.items, self._held.lost_now, self.failure or "")
            self._rows.flush(conn)
            conn.execute("COMMIT")
        except (sqlite3.Error, OSError) as exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            self._rows.forget()
            log.debug("still cannot write the session record: %s", exc)
            return False
        self.commits += 1
        self.last_commit_monotonic = time.monotonic()
        log.warning("recording resumed after %.0f s: %d values written from memory, %d lost",
                    seconds, self._held.items, self._held.lost_now)
        self._held.clear()
        self.failure = None
        self._failed_since = self._failed_wall = None
        self._report_recovered()
        return True

    def _recover(self) -> bool:
        """Copy the whole open record into a recovery file beside it and continue there."""
        self._rows.forget()
        original = self.path
        copied = copy_into_recovery(self._db(), original)
        if copied is None:
            return False
        conn, target = copied
        self._adopt(conn)
        self.path = target
        self._watch.follow(target)
        lost_at = time.strftime("%H:%M:%S", time.localtime(self._failed_wall or time.time()))
        self.replaced = f"{original.name} was deleted or moved at {lost_at}; nothing was lost"
        # the (latched) alarm says where the record is now
        self._report_failure(f"{original.name} was deleted or moved; recording continues in {target.name}, "
                             "nothing lost")
        self._lost_file = False
        note_recovered(conn, original, target, self.failure or "")
        self._watch.note_wal()
        log.warning("session record recovered into %s", target)
        return True

    # -- writing ---------------------------------------------------------------------------------------
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
        self._rows.write(conn, items)
        self.rows_written += len(items)
