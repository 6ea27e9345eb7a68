"""When the record's storage fails: the file watched, work held in memory, the record copied out.

The recorder (recorder.py) decides when; this module holds the pieces that change for their own
reasons (what counts as a lost file, how much is kept in memory, how a lost record is rescued):
- `FileWatch` tells whether the file being written is still the record on disk (deleted, moved,
  replaced, its -wal deleted or replaced);
- `HeldWork` keeps the work the disk could not take, bounded: the oldest monitor data goes first
  (counted), never the nurse's rows;
- `copy_into_recovery` copies every committed row of a record that SQLite still holds open into a
  new file beside it (`<name>.recovered-<time>.db`) and opens that file for writing;
- `note_gap` and `note_recovered` write what the record says about it (`alarm_log` rows of kind
  'system': `recording_gap`, `record_recovered`).

Thread-safety: none of these are shared; the recorder's writer thread owns them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from collections import deque
from pathlib import Path
from typing import Any

from kapmonitor.recording.database import SessionDatabaseError, WriterLock, open_for_writing

log = logging.getLogger(__name__)

# Items held in memory while the disk cannot be written: a monitor sends about 5-10 a second (values,
# 1-s pleth chunks, raw frames), so this is hours, in under ~100 MB. Above it the oldest monitor data
# is dropped and counted, never the nurse's entries.
BUFFER_LIMIT_ITEMS = 100_000

_STORAGE_SQL = (
    "INSERT INTO alarm_log (t, alarm_id, kind, priority, event, value, limit_value, message) "
    "VALUES (?, 'storage', 'system', 'low', ?, ?, ?, ?)"
)


def sibling(path: Path, label: str, t: float) -> Path:
    """`<stem>.<label>-<local time>.db` beside `path`, never an existing file."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(t))
    candidate = path.with_name(f"{path.stem}.{label}-{stamp}{path.suffix or '.db'}")
    n = 2
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}.{label}-{stamp}-{n}{path.suffix or '.db'}")
        n += 1
    return candidate


def items_in(work: tuple[Any, ...]) -> int:
    """How many values one queued work item carries (a batch of monitor items, or one row)."""
    return len(work[1]) if work[0] == "items" else 1


class FileWatch:
    """Whether the file being written is still the record on disk (by its and its -wal's identity)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._wal_id: tuple[int, int] | None = None

    def follow(self, path: Path) -> None:
        """Watch `path` from now on (a new connection: its -wal is noted on the next look)."""
        self.path = path
        self._wal_id = None

    def note_wal(self) -> None:
        with contextlib.suppress(OSError):
            st = os.stat(self.path.with_name(self.path.name + "-wal"))
            self._wal_id = (st.st_dev, st.st_ino)

    def problem(self, lock: WriterLock | None) -> str | None:
        """Why the file being written is no longer the record on disk, or None."""
        if lock is None:
            return None
        name = self.path.name
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return f"the session record {name} was deleted or moved"
        except OSError:
            return None  # cannot look (permissions): the writes will tell
        if not lock.still_linked():
            return f"the session record {name} was deleted"
        if (st.st_dev, st.st_ino) != lock.identity:
            return f"the session record {name} was replaced by another file"
        if self._wal_id is None:
            self.note_wal()
            return None
        try:
            wst = os.stat(self.path.with_name(name + "-wal"))
        except FileNotFoundError:
            return f"the journal of the session record ({name}-wal) was deleted"
        except OSError:
            return None
        if (wst.st_dev, wst.st_ino) != self._wal_id:
            return f"the journal of the session record ({name}-wal) was replaced"
        return None


class HeldWork:
    """Work waiting for the disk, oldest first, within `limit` values."""

    def __init__(self, limit: int = BUFFER_LIMIT_ITEMS) -> None:
        self.limit = max(1, limit)
        self.work: deque[tuple[Any, ...]] = deque()
        self.items = 0
        self.lost_now = 0  # dropped during the current failure
        self.lost_total = 0  # dropped over the whole recording

    def __bool__(self) -> bool:
        return bool(self.work)

    def append(self, work: tuple[Any, ...]) -> None:
        self.work.append(work)
        self.items += items_in(work)
        self.trim()

    def put_back(self, unwritten: list[tuple[Any, ...]]) -> None:
        """Work of a rolled-back transaction: before everything held since, in its order."""
        for work in reversed(unwritten):
            self.work.appendleft(work)
            self.items += items_in(work)
        self.trim()

    def trim(self) -> None:
        """Keep the memory bound: drop the oldest monitor data first, never the nurse's rows."""
        while self.items > self.limit:
            index = next((i for i, w in enumerate(self.work) if w[0] == "items"), None)
            if index is None:
                return
            dropped = self.work[index]
            del self.work[index]
            self.items -= len(dropped[1])
            self.lost_now += len(dropped[1])
            self.lost_total += len(dropped[1])

    def clear(self) -> None:
        self.work.clear()
        self.items = 0


def copy_into_recovery(old: sqlite3.Connection, original: Path) -> tuple[sqlite3.Connection, Path] | None:
    """Copy every committed row of `old` (still open, though its file may be gone) into a new
    recovery file beside `original`, opened for writing. None when that cannot be done (logged;
    an empty file left by the attempt is removed). `old` is closed on success."""
    target = sibling(original, "recovered", time.time())
    try:
        with contextlib.suppress(sqlite3.Error):
            old.execute("ROLLBACK")
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(target, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
        os.close(fd)
        copy = sqlite3.connect(target)
        try:
            old.backup(copy)  # SQLite still has the unlinked files open: every committed row
        finally:
            copy.close()
        conn = open_for_writing(target)
    except (OSError, sqlite3.Error, SessionDatabaseError) as exc:
        log.error("cannot create the recovery file %s: %s", target, exc)
        with contextlib.suppress(OSError):
            if target.exists() and target.stat().st_size == 0:
                target.unlink()
        return None
    with contextlib.suppress(sqlite3.Error):
        old.close()  # releases the old file (and its lock)
    return conn, target


def note_gap(conn: sqlite3.Connection, seconds: float, held: int, lost: int, why: str) -> None:
    """The `recording_gap` row, in the caller's transaction: how long writing failed, what was kept
    in memory and written, and what was lost."""
    conn.execute(
        _STORAGE_SQL,
        (time.time(), "recording_gap", float(lost), round(seconds, 1),
         f"Recording resumed after {seconds:.0f} s ({why}); {held} values kept in memory and written, {lost} lost"),
    )


def note_recovered(conn: sqlite3.Connection, original: Path, target: Path, why: str) -> None:
    """In the recovery file, in its own transaction: where it came from and why (logged when that fails)."""
    try:
        conn.execute("BEGIN")
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('recovered_from', ?)", (original.name,))
        conn.execute(
            _STORAGE_SQL,
            (time.time(), "record_recovered", None, None,
             f"{why}: the record was copied into {target.name} and recording continues there"),
        )
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        log.error("cannot note the recovery in %s: %s", target, exc)
