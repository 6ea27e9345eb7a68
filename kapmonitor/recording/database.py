"""Opening session databases safely: one writer, owner-only files, WAL, the schema brought up to date.

A record has one writer: `open_for_writing` takes an exclusive lock (`flock`) on the database file
and the returned connection holds it until it is closed, so a second kapmonitor (another process or
another recorder in this one) is refused with a clear message and changes nothing. A file that is
refused (not SQLite, a foreign SQLite file, a newer schema, a damaged database, a symbolic link) is
never modified: every check runs before anything is written or its mode changed.

Thread-safety: each call makes its own connection; a connection belongs to one thread.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import stat
import sys
import threading
from pathlib import Path
from typing import Any

from kapmonitor.recording.schema import SCHEMA_VERSION, SchemaError, expected_tables, migrate, schema_version

log = logging.getLogger(__name__)

SQLITE_MAGIC = b"SQLite format 3\x00"

try:  # POSIX; on Windows a record is not locked (logged once)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


class SessionDatabaseError(Exception):
    """A session database could not be opened or is not usable; the message says why in one line."""


class RecordInUseError(SessionDatabaseError):
    """Another kapmonitor is recording into this database."""


class DamagedDatabaseError(SessionDatabaseError):
    """The file is an SQLite database of ours but fails its integrity check: never written into."""


# (st_dev, st_ino) of the records this process writes: a second writer here is refused without
# opening the file again (closing an extra descriptor would drop SQLite's own POSIX locks)
_locked: set[tuple[int, int]] = set()
_locked_guard = threading.Lock()


class WriterLock:
    """The exclusive lock of one record, held on an open descriptor of the database file.

    The descriptor also lets the recorder see whether its file is still there (`still_linked`).
    Thread-safe: `release` may be called from any thread, once or more.
    """

    def __init__(self, fd: int, path: Path) -> None:
        self.fd = fd
        self.path = path
        st = os.fstat(fd)
        self.identity = (st.st_dev, st.st_ino)
        self._released = False
        self._guard = threading.Lock()

    def header(self, size: int = 100) -> bytes:
        """The first bytes of the file, read without opening it again."""
        if hasattr(os, "pread"):
            return os.pread(self.fd, size, 0)
        os.lseek(self.fd, 0, os.SEEK_SET)  # pragma: no cover - Windows has no pread
        return os.read(self.fd, size)

    def size(self) -> int:
        return os.fstat(self.fd).st_size

    def still_linked(self) -> bool:
        """False once the locked file has no name left (deleted)."""
        try:
            return os.fstat(self.fd).st_nlink > 0
        except OSError:
            return False

    def release(self) -> None:
        with self._guard:
            if self._released:
                return
            self._released = True
        with _locked_guard:
            _locked.discard(self.identity)
        with contextlib.suppress(OSError):
            os.close(self.fd)  # closing drops the flock


def _refuse_symlink(path: Path) -> None:
    """A --session symlink is refused (not followed): writing through it would change another file."""
    try:
        is_link = stat.S_ISLNK(os.lstat(path).st_mode)
    except OSError:  # missing, or a folder that is not one: opening says why
        return
    if is_link:
        raise SessionDatabaseError(f"{path} is a symbolic link; give the session database itself (left untouched)")


_IN_USE_HERE = "{path} is already being recorded by this kapmonitor; a record has one writer"


def _refuse_if_locked_here(path: Path) -> None:
    try:
        st = os.stat(path)
    except OSError:
        return
    with _locked_guard:
        if (st.st_dev, st.st_ino) in _locked:
            raise RecordInUseError(_IN_USE_HERE.format(path=path))


def acquire_writer_lock(path: Path) -> WriterLock:
    """Create `path` owner-only if missing, and lock it for writing. Raises SessionDatabaseError.

    An existing file is opened as it is (its mode is not changed here): the caller checks it first.
    """
    path = Path(path)
    _refuse_symlink(path)
    _refuse_if_locked_here(path)  # before opening: closing a descriptor would drop SQLite's locks
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        if exc.errno is not None and os.path.islink(path):
            raise SessionDatabaseError(f"{path} is a symbolic link; give the session database itself") from None
        raise SessionDatabaseError(f"cannot open session database {path}: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise SessionDatabaseError(f"{path} is not a regular file")
        identity = (st.st_dev, st.st_ino)
        with _locked_guard:
            if identity in _locked:  # only in a race with _refuse_if_locked_here
                raise RecordInUseError(_IN_USE_HERE.format(path=path))
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    raise RecordInUseError(
                        f"{path} is being recorded by another kapmonitor; a record has one writer "
                        "(close the other one, or start a new session)"
                    ) from None
            elif sys.platform == "win32":  # pragma: no cover
                log.warning("records are not locked on Windows: start one kapmonitor per record")
            _locked.add(identity)
    except BaseException:
        os.close(fd)
        raise
    return WriterLock(fd, path)


class LockedConnection(sqlite3.Connection):
    """A write connection that holds its record's lock; closing the connection releases it."""

    writer_lock: WriterLock | None = None

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self.writer_lock is not None:
                self.writer_lock.release()


def _make_private(path: Path) -> None:
    """Owner-only modes for an accepted record and its -wal/-shm (symbolic links are never followed)."""
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(FileNotFoundError):
            st = os.lstat(p)
            if stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) != 0o600:
                os.chmod(p, 0o600)


def integrity_summary(report: str) -> str:
    """SQLite's integrity report in one line: its first problem and how many more."""
    lines = [ln.strip() for ln in str(report).splitlines() if ln.strip() and not ln.startswith("*** in database")]
    if not lines:
        return "integrity check failed"
    more = f" (and {len(lines) - 1} more problem{'s' if len(lines) > 2 else ''})" if len(lines) > 1 else ""
    return f"integrity check failed: {lines[0]}{more}"


def check_record(conn: sqlite3.Connection, path: Path) -> int:
    """Refuse (raising, changing nothing) what must not be written into; the schema version else.

    Newer schema or a foreign SQLite file: SessionDatabaseError. Failing integrity check or a
    missing table of ours: DamagedDatabaseError.
    """
    try:
        version = schema_version(conn)
        tables = {str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
    except sqlite3.DatabaseError as exc:
        raise DamagedDatabaseError(f"{path} is damaged: {exc}") from None
    if version > SCHEMA_VERSION:
        raise SessionDatabaseError(
            f"{path} has schema version {version}; this kapmonitor knows up to {SCHEMA_VERSION} "
            "(update kapmonitor); it was left untouched"
        )
    if version == 0:
        if tables:
            raise SessionDatabaseError(f"{path} is an SQLite file but not a kapmonitor session; it was left untouched")
        return 0
    missing = expected_tables(version) - tables
    if missing and not tables & expected_tables(version):
        raise SessionDatabaseError(f"{path} is an SQLite file but not a kapmonitor session; it was left untouched")
    if missing:
        raise DamagedDatabaseError(f"{path} is damaged: table(s) {', '.join(sorted(missing))} missing")
    try:
        check = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as exc:
        raise DamagedDatabaseError(f"{path} is damaged: {exc}") from None
    if [tuple(r) for r in check] != [("ok",)]:
        report = "\n".join(str(r[0]) for r in check)
        raise DamagedDatabaseError(f"{path} is damaged ({integrity_summary(report)})")
    return version


def open_for_writing(path: Path) -> sqlite3.Connection:
    """A locked write connection in WAL mode with the schema migrated. Use from one thread only.

    Raises RecordInUseError (another writer), DamagedDatabaseError (never written into) or
    SessionDatabaseError; in every case the file is left as it was (a missing file is created).
    """
    path = Path(path)
    lock = acquire_writer_lock(path)
    conn: LockedConnection | None = None
    try:
        if lock.size() > 0 and not lock.header(len(SQLITE_MAGIC)) == SQLITE_MAGIC:
            raise SessionDatabaseError(f"{path} is not a session database (not an SQLite file); it was left untouched")
        factory: Any = LockedConnection
        conn = sqlite3.connect(path, check_same_thread=True, isolation_level=None, factory=factory)
        assert isinstance(conn, LockedConnection)
        conn.writer_lock = lock
        check_record(conn, path)
        _make_private(path)
        conn.execute("PRAGMA journal_mode=WAL")
        # FULL syncs the WAL at each commit: a commit survives power loss, not just a crash.
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        migrate(conn)
        _make_private(path)  # the -wal/-shm just created
    except BaseException as exc:
        if conn is not None:
            conn.close()  # releases the lock
        else:
            lock.release()
        if isinstance(exc, SessionDatabaseError):
            raise
        if isinstance(exc, SchemaError):
            raise SessionDatabaseError(f"{path}: {exc}") from None
        if isinstance(exc, sqlite3.DatabaseError | OSError):
            raise SessionDatabaseError(f"cannot open session database {path}: {exc}") from None
        raise
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
    if version == 0:
        conn.close()
        raise SessionDatabaseError(f"{path} is not a kapmonitor session database")
    if version > SCHEMA_VERSION:
        conn.close()
        raise SessionDatabaseError(
            f"{path} has schema version {version}; this kapmonitor reads up to {SCHEMA_VERSION} (update kapmonitor)"
        )
    return conn


def open_closed_record(path: Path) -> sqlite3.Connection:
    """Read-only, leaving nothing behind: immutable when no writer has the record open (no -wal)."""
    wal = path.with_name(path.name + "-wal")
    return open_read_only(path, immutable=not wal.exists())
