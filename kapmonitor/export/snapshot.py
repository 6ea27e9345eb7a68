"""A consistent, private copy of a session database to export from.

The source may still be written by a running session (WAL mode). We open it read-only and copy it
with SQLite's online backup API, which reads every page inside one read transaction, so the copy
is one consistent state of the database. The source file is never modified: the connection is
read-only (`mode=ro`, `query_only`) and the copy goes to memory (or, for a very large database, to
a temporary file that is deleted when the copy is closed).

Thread-safety: each call makes its own connections; the returned connection belongs to the caller.
"""

from __future__ import annotations

import glob
import logging
import os
import sqlite3
import tempfile
from pathlib import Path

from kapmonitor.export.errors import ExportError
from kapmonitor.recording.database import SessionDatabaseError, integrity_summary, open_read_only
from kapmonitor.recording.reader import RecordReader
from kapmonitor.recording.schema import expected_tables

log = logging.getLogger(__name__)

# Above this size the snapshot goes to a temporary file instead of memory.
MEMORY_LIMIT_BYTES = 768 * 1024 * 1024


def take_snapshot(path: Path) -> sqlite3.Connection:
    """A read-only snapshot of the session database at `path`. Raises ExportError (one line)."""
    path = Path(path)
    try:
        source = _open_source(path)
    except SessionDatabaseError as exc:
        raise ExportError(str(exc)) from None
    try:
        size = _database_size(path)
        if size > MEMORY_LIMIT_BYTES:
            # The temporary file is unlinked at once: only this connection can see it.
            fd, tmp = tempfile.mkstemp(prefix="kapmonitor-export-", suffix=".db")
            os.close(fd)
            copy = sqlite3.connect(tmp, check_same_thread=False)
            os.unlink(tmp)
        else:
            copy = sqlite3.connect(":memory:", check_same_thread=False)
        source.backup(copy)
    except sqlite3.DatabaseError as exc:
        raise ExportError(f"{path} is not a readable session database: {_one_line(str(exc))}") from None
    except OSError as exc:
        raise ExportError(f"cannot copy {path} for export: {exc.strerror or exc}") from None
    finally:
        source.close()
    try:
        reader = RecordReader(copy)
        reader.set_query_only()
        check = reader.quick_check()
        version = reader.schema_version()
        tables = reader.tables()
    except sqlite3.DatabaseError as exc:
        copy.close()
        raise ExportError(f"{path} is damaged: {_one_line(str(exc))}") from None
    if check != ["ok"]:
        copy.close()
        raise ExportError(f"{path} is damaged ({integrity_summary(chr(10).join(check))})")
    # a record must have every table of its schema version: an empty export would hide the loss
    expected = expected_tables(version)
    missing = expected - tables
    if missing:
        copy.close()
        if not expected & tables:
            raise ExportError(f"{path} is an SQLite file but not a kapmonitor session database")
        raise ExportError(f"{path} is damaged: table(s) {', '.join(sorted(missing))} missing")
    log.debug("snapshot of %s taken (%d bytes)", path, size)
    return copy


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _open_source(path: Path) -> sqlite3.Connection:
    """Open the source read-only without leaving anything behind.

    While a recorder has the database open its -wal and -shm files exist and a read-only
    connection shares them (seeing only committed transactions). When there is no -wal file no
    one is writing, and a plain read-only open would create -wal/-shm files beside the database;
    `immutable=1` reads the file as it is and creates nothing.
    """
    if not path.is_file():
        # a record deleted or moved while recording continued in a recovery file beside it
        recovered = sorted(path.parent.glob(f"{glob.escape(path.stem)}.recovered-*{path.suffix}"))
        hint = f" (its recording continued in {recovered[-1].name})" if recovered and path.suffix else ""
        raise SessionDatabaseError(f"no session database at {path}{hint}")
    wal = path.with_name(path.name + "-wal")
    return open_read_only(path, immutable=not wal.exists())


def _database_size(path: Path) -> int:
    size = path.stat().st_size
    wal = path.with_name(path.name + "-wal")
    if wal.exists():
        size += wal.stat().st_size
    return size
