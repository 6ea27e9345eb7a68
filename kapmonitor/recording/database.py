"""Opening session databases safely: owner-only files, WAL, the schema brought up to date."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from kapmonitor.recording.schema import SchemaError, migrate, schema_version


class SessionDatabaseError(Exception):
    """A session database could not be opened or is not usable; the message says why in one line."""


def create_private_file(path: Path) -> None:
    """Create `path` (and its folder) readable by its owner only, if it does not exist yet.

    SQLite gives the -wal and -shm files the permissions of the database file, so they stay
    private too.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


def open_for_writing(path: Path) -> sqlite3.Connection:
    """A write connection in WAL mode with the schema migrated. Use from one thread only."""
    try:
        create_private_file(path)
        conn = sqlite3.connect(path, check_same_thread=True, isolation_level=None)
        # refuse a newer database before anything (even the journal mode) changes the file
        from kapmonitor.recording.schema import SCHEMA_VERSION

        version = schema_version(conn)
        if version > SCHEMA_VERSION:
            conn.close()
            raise SchemaError(
                f"session database has schema version {version}; this kapmonitor knows up to {SCHEMA_VERSION}"
            )
        conn.execute("PRAGMA journal_mode=WAL")
        # FULL syncs the WAL at each commit: a commit survives power loss, not just a crash.
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        migrate(conn)
    except SchemaError as exc:
        raise SessionDatabaseError(f"{path}: {exc}") from exc
    except (sqlite3.Error, OSError) as exc:
        raise SessionDatabaseError(f"cannot open session database {path}: {exc}") from exc
    return conn


def open_read_only(path: Path, immutable: bool = False) -> sqlite3.Connection:
    """A read-only connection that never modifies the file. Raises SessionDatabaseError.

    `immutable` reads a database nobody is writing exactly as it is, creating no -wal/-shm files
    beside it (wrong for a database that is still being recorded).
    """
    if not path.is_file():
        raise SessionDatabaseError(f"no session database at {path}")
    uri = f"{path.resolve().as_uri()}?mode=ro" + ("&immutable=1" if immutable else "")
    try:
        conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
        conn.execute("PRAGMA query_only=ON")
        version = schema_version(conn)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        raise SessionDatabaseError(f"{path} is not a readable session database: {exc}") from exc
    from kapmonitor.recording.schema import SCHEMA_VERSION

    if version == 0:
        conn.close()
        raise SessionDatabaseError(f"{path} is not a kapmonitor session database")
    if version > SCHEMA_VERSION:
        conn.close()
        raise SessionDatabaseError(
            f"{path} has schema version {version}; this kapmonitor reads up to {SCHEMA_VERSION} (update kapmonitor)"
        )
    return conn
