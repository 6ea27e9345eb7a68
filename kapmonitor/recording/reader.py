"""The one reader of a session record, beside its writer (recorder.py) and its schema (schema.py).

Every query against a session database outside recording/ goes through here, so a column is
renamed in one place. `RecordReader` wraps one connection (a read-only one it opened, or one it is
given, such as export's snapshot) and returns model objects or small frozen rows; the module
functions open a read-only connection per call for the callers that hold only a path.

Thread-safety: a `RecordReader` belongs to the thread that made it (as its connection does); the
module functions open and close their own connection and may be called from any thread.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import LinkEvent, LinkState, RawFrame, Source, Status, VitalSample
from kapmonitor.recording import rawcodec, wavecodec
from kapmonitor.recording.database import SessionDatabaseError, open_closed_record, open_read_only
from kapmonitor.recording.schema import schema_version

log = logging.getLogger(__name__)

Row = dict[str, Any]

# every table whose rows carry the record's own time `t`
_TIMED_TABLES = ("samples", "alarm_log", "infusion_events", "clinical_events", "scales", "discharge",
                 "music_events", "link_events")
# the tables a reader may name (a table name is never taken from outside this list)
_TABLES = frozenset((*_TIMED_TABLES, "meta", "session_info", "waves", "raw_frames", "limit_changes",
                     "device_notices", "audit", "hl7_outbox"))
_SAMPLE_COLUMNS = "t, parameter, value, status, source, measurement_id"


@dataclass(frozen=True, slots=True)
class InfusionEvent:
    """One infusion action as recorded (start, pause, resume, stop, …)."""

    id: int
    t: float
    action: str
    reason: str | None
    who: str | None


@dataclass(frozen=True, slots=True)
class ClinicalEvent:
    """A side effect, intervention or note; `deleted` rows stay in the record, marked."""

    id: int
    t: float
    category: str
    name: str
    severity: str | None
    drug: str | None
    dose: str | None
    route: str | None
    note: str | None
    who: str | None
    deleted: bool


@dataclass(frozen=True, slots=True)
class ScaleEntry:
    id: int
    t: float
    scale: str
    score: float
    detail: str | None
    who: str | None


@dataclass(frozen=True, slots=True)
class DischargeEntry:
    t: float
    who: str
    checklist: str  # JSON as the session wrote it


@dataclass(frozen=True, slots=True)
class AuditEntry:
    t: float
    who: str | None
    action: str
    table_name: str
    row_id: int | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class AlarmLogEntry:
    """The fields of an alarm-log row that make up episodes (see session/figures.alarm_counts)."""

    t: float
    alarm_id: str
    event: str
    priority: str
    kind: str

    def as_row(self) -> Row:
        return {"t": self.t, "alarm_id": self.alarm_id, "event": self.event, "priority": self.priority,
                "kind": self.kind}


@dataclass(frozen=True, slots=True)
class SampleColumns:
    """Every vital sample as parallel columns, in time order (the exports format these in bulk).
    Parameter ids are kept as text: a record may name a parameter this version does not know."""

    t: list[float]
    parameter: list[str]
    value: list[float | None]  # a non-finite number is "no value"
    status: list[str]
    source: list[str]
    measurement_id: list[str | None]


class RecordReader:
    """Typed queries on one session record. Raises sqlite3.Error from a damaged record."""

    def __init__(self, conn: sqlite3.Connection, owns: bool = False) -> None:
        self.conn = conn
        self._owns = owns
        self._tables: frozenset[str] | None = None

    @classmethod
    def open(cls, path: Path, closed: bool = False) -> RecordReader:
        """A read-only reader of `path`; `closed` for a record nobody writes (leaves no -wal/-shm).
        Raises SessionDatabaseError."""
        conn = open_closed_record(path) if closed else open_read_only(path)
        return cls(conn, owns=True)

    def close(self) -> None:
        """Closes the connection when this reader opened it."""
        if self._owns:
            self.conn.close()

    def __enter__(self) -> RecordReader:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # -- generic -----------------------------------------------------------------------------------
    def tables(self) -> frozenset[str]:
        """The tables of the record, and its views (`samples` is one from schema version 5)."""
        if self._tables is None:
            self._tables = frozenset(
                str(r[0]) for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
            )
        return self._tables

    def rows(self, table: str, order: str = "t", finite: bool = True) -> list[Row]:
        """Every row of `table` as a dict, in `order` ([] when the table is missing). `finite`: a
        non-finite number becomes None (JSON has no infinity)."""
        if table not in _TABLES:
            raise ValueError(f"not a table of the session record: {table}")
        if table == "raw_frames":  # one row per frame, whichever way the record stored them
            return self._raw_frame_rows(order)
        if table not in self.tables():
            return []
        cur = self.conn.execute(f"SELECT * FROM {table} ORDER BY {_order(order)}")
        names = [d[0] for d in cur.description]
        out = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        if table == "waves":
            _decode_waves(out)
        if finite:
            for row in out:
                for k, v in row.items():
                    if isinstance(v, float) and not math.isfinite(v):
                        row[k] = None
        return out

    def set_query_only(self) -> None:
        """Refuse every write on this connection from now on (for a copy such as export's snapshot)."""
        self.conn.execute("PRAGMA query_only=ON")

    def schema_version(self) -> int:
        return schema_version(self.conn)

    def quick_check(self) -> list[str]:
        """SQLite's quick integrity check: ['ok'] for a sound database."""
        return [str(r[0]) for r in self.conn.execute("PRAGMA quick_check").fetchall()]

    def record_end(self, tables: Sequence[str] = _TIMED_TABLES) -> float | None:
        """The latest time anything was recorded in `tables`; None when nothing was."""
        present = [t for t in tables if t in self.tables() and t in _TABLES]
        # the samples' times straight from their rows (every row has its names: the view adds none)
        present = ["sample_rows" if t == "samples" and "sample_rows" in self.tables() else t for t in present]
        ends = [self.conn.execute(f"SELECT max(t) FROM {t}").fetchone()[0] for t in present]
        times = [float(e) for e in ends if isinstance(e, int | float)]
        return max(times) if times else None

    # -- set-up --------------------------------------------------------------------------------------
    def meta(self) -> dict[str, str]:
        if "meta" not in self.tables():
            return {}
        return {str(k): str(v) for k, v in self.conn.execute("SELECT key, value FROM meta")}

    def meta_value(self, key: str) -> str | None:
        if "meta" not in self.tables():
            return None
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def session_info(self) -> dict[str, str | None]:
        """The session set-up rows as recorded (a value may be None)."""
        if "session_info" not in self.tables():
            return {}
        return {str(k): None if v is None else str(v)
                for k, v in self.conn.execute("SELECT key, value FROM session_info")}

    # -- vitals ----------------------------------------------------------------------------------------
    def vitals(self) -> list[VitalSample]:
        """Every sample as a `VitalSample`, oldest first. Raises ValueError for an unknown parameter,
        status or source (a record of a newer version)."""
        rows = self.conn.execute(f"SELECT {_SAMPLE_COLUMNS} FROM samples ORDER BY t")
        return [VitalSample(t, Parameter(p), v, Status(st), Source(src), mid) for t, p, v, st, src, mid in rows]

    def sample_columns(self) -> SampleColumns:
        if "samples" not in self.tables():
            return SampleColumns([], [], [], [], [], [])
        coded = self._coded_sample_columns()
        if coded is not None:
            t, p, v, st, src, mid = coded
        else:
            rows = self.conn.execute(f"SELECT {_SAMPLE_COLUMNS} FROM samples ORDER BY t, rowid").fetchall()
            # a column at a time and the finite check in numpy: a 4-h record has 43,000 rows
            t, p, v, st, src, mid = (list(map(itemgetter(i), rows)) for i in range(6))
        if not t:
            return SampleColumns([], [], [], [], [], [])
        for i in np.flatnonzero(~np.isfinite(np.array(v, dtype=np.float64))).tolist():
            v[i] = None  # None stays None; inf and NaN are no value
        return SampleColumns(t, p, v, st, src, mid)

    def _coded_sample_columns(self) -> list[list[Any]] | None:
        """The `samples` view's columns of a version-5 record read from `sample_rows` with the codes
        named here (a dict lookup per cell instead of three joins per row in SQLite); None when the
        record has no such table or a code has no name (the view, an inner join, decides then)."""
        if not {"sample_rows", "sample_names"} <= self.tables():
            return None
        names: dict[str, dict[int, str]] = {"parameter": {}, "status": {}, "source": {}}
        for kind, code, name in self.conn.execute("SELECT kind, code, name FROM sample_names"):
            names.setdefault(str(kind), {})[code] = name
        rows = self.conn.execute(f"SELECT {_SAMPLE_COLUMNS} FROM sample_rows ORDER BY t, rowid").fetchall()
        cols = [list(map(itemgetter(i), rows)) for i in range(6)]
        try:
            for i, kind in ((1, "parameter"), (3, "status"), (4, "source")):
                cols[i] = list(map(names[kind].__getitem__, cols[i]))
        except KeyError:
            return None
        return cols

    def series(self, parameter: Parameter | str) -> list[tuple[float, float]]:
        """(time, value) of the valid values of one parameter, oldest first."""
        rows = self.conn.execute(
            "SELECT t, value FROM samples WHERE parameter = ? AND status = 'ok' AND value IS NOT NULL ORDER BY t",
            (str(parameter.value if isinstance(parameter, Parameter) else parameter),),
        )
        return [(float(t), float(v)) for t, v in rows]

    # -- the nurse's record ----------------------------------------------------------------------------
    def infusion_events(self) -> list[InfusionEvent]:
        """In time order (recording order within one time)."""
        rows = self.conn.execute("SELECT id, t, action, reason, who FROM infusion_events ORDER BY t, id")
        return [InfusionEvent(int(i), float(t), str(a), _text(r), _text(w)) for i, t, a, r, w in rows]

    def last_infusion_time(self) -> float | None:
        t = self.conn.execute("SELECT max(t) FROM infusion_events").fetchone()[0]
        return None if t is None else float(t)

    def clinical_events(self) -> list[ClinicalEvent]:
        """In time order, removed ones included (marked `deleted`)."""
        rows = self.conn.execute(
            "SELECT id, t, category, name, severity, drug, dose, route, note, who, deleted "
            "FROM clinical_events ORDER BY t, id"
        )
        return [
            ClinicalEvent(int(i), float(t), str(c), str(n), _text(s), _text(d), _text(do), _text(r), _text(no),
                          _text(w), bool(de))
            for i, t, c, n, s, d, do, r, no, w, de in rows
        ]

    def scales(self) -> list[ScaleEntry]:
        rows = self.conn.execute("SELECT id, t, scale, score, detail, who FROM scales ORDER BY t, id")
        return [ScaleEntry(int(i), float(t), str(s), float(sc), _text(d), _text(w)) for i, t, s, sc, d, w in rows]

    def discharges(self) -> list[DischargeEntry]:
        rows = self.conn.execute("SELECT t, who, checklist FROM discharge ORDER BY t, id")
        return [DischargeEntry(float(t), str(w), str(c)) for t, w, c in rows]

    def audit(self) -> list[AuditEntry]:
        rows = self.conn.execute("SELECT t, who, action, table_name, row_id, reason FROM audit ORDER BY id")
        return [
            AuditEntry(float(t), _text(w), str(a), str(tb), None if i is None else int(i), _text(r))
            for t, w, a, tb, i, r in rows
        ]

    def alarm_log(self) -> list[AlarmLogEntry]:
        """The episode fields of every alarm-log row, in time order."""
        rows = self.conn.execute("SELECT t, alarm_id, event, priority, kind FROM alarm_log ORDER BY t, id")
        return [AlarmLogEntry(float(t), str(a), str(e), str(p), str(k)) for t, a, e, p, k in rows]

    def link_events(self) -> list[LinkEvent]:
        """The monitor link's state changes, oldest first. Raises ValueError for a state this
        version does not know (a record of a newer version)."""
        rows = self.conn.execute("SELECT t, state, detail FROM link_events ORDER BY t, rowid")
        return [LinkEvent(float(t), LinkState(st), str(d or "")) for t, st, d in rows]

    def music_events(self) -> list[Row]:
        """Every music_events row as a dict, oldest first."""
        return self.rows("music_events", "t, id", finite=False)

    def raw_frames(self) -> list[RawFrame]:
        """Every frame to and from the monitor, in arrival order, its bytes exactly as they crossed the
        wire: the rows of schema versions up to 3 (one per frame), then the pieces of version 4 (times to
        the microsecond). Raises ValueError for a piece that cannot be decoded."""
        out: list[RawFrame] = []
        if "raw_frames" in self.tables():
            rows = self.conn.execute("SELECT t, direction, data FROM raw_frames ORDER BY rowid")
            out.extend(RawFrame(float(t), str(d), bytes(b)) for t, d, b in rows)
        if "raw_pieces" in self.tables():
            rows = self.conn.execute("SELECT piece, t0, encoding, data FROM raw_pieces ORDER BY piece, rowid")
            for _, group in itertools.groupby(rows, key=lambda r: r[0]):
                piece = list(group)
                t0, encoding = float(piece[0][1]), int(piece[0][2])
                blobs = [bytes(r[3]) for r in piece]
                out.extend(RawFrame(t, d, b) for t, d, b in rawcodec.decode(encoding, blobs, t0))
        return out

    def rx_frames(self) -> list[bytes]:
        """The bytes received from the monitor, in arrival order (empty chunks left out)."""
        return [f.data for f in self.raw_frames() if f.direction == "rx" and f.data]

    def _raw_frame_rows(self, order: str) -> list[Row]:
        """The raw frames as rows of the version-1 table (t, direction, data), in arrival order, then
        sorted (stably) by the columns of `order` other than rowid."""
        rows: list[Row] = [{"t": f.time, "direction": f.direction, "data": f.data} for f in self.raw_frames()]
        keys = [c for c in _order(order).split(", ") if c != "rowid"]
        if any(k not in ("t", "direction", "data") for k in keys):
            raise ValueError(f"raw frames cannot be ordered by {order!r}")
        if keys:
            rows.sort(key=lambda r: tuple(r[k] for k in keys))
        return rows


def _decode_waves(rows: list[Row]) -> None:
    """Wave rows as every reader expects them, whatever the schema version wrote: `data` as raw
    little-endian float32 and no `encoding` column. Raises ValueError for a chunk that cannot be decoded."""
    for row in rows:
        row["data"] = wavecodec.to_f4(int(row.pop("encoding", wavecodec.F4)), bytes(row["data"]))


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _order(order: str) -> str:
    """An ORDER BY list of plain column names (nothing else reaches the SQL text)."""
    columns = [c.strip() for c in order.split(",")]
    if not all(c.isidentifier() for c in columns):
        raise ValueError(f"not an ordering by columns: {order!r}")
    return ", ".join(columns)


@contextlib.contextmanager
def _reading(path: Path, closed: bool = False) -> Iterator[RecordReader]:
    reader = RecordReader.open(path, closed=closed)
    try:
        yield reader
    finally:
        reader.close()


def _usable(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 0


# -- by path: for callers that hold only the file name -------------------------------------------------------


def last_record_time(path: Path) -> float | None:
    """The latest time anything was recorded in `path`; None for a missing, empty or unreadable file
    (opening it for writing reports that problem)."""
    if not _usable(path):
        return None
    try:
        with _reading(path) as reader:
            return reader.record_end()
    except SessionDatabaseError:
        return None
    except sqlite3.Error as exc:
        log.warning("cannot read the times of %s: %s", path, exc)
        return None


def read_vitals(path: Path) -> list[VitalSample]:
    """The vital values in a session record, oldest first; nothing when it cannot be read."""
    if not _usable(path):
        return []
    try:
        with _reading(path) as reader:
            return reader.vitals()
    except SessionDatabaseError:
        return []
    except (sqlite3.Error, ValueError) as exc:
        log.warning("cannot read the vitals of %s: %s", path, exc)
        return []


def read_history(path: Path) -> tuple[list[VitalSample], float | None]:
    """The vitals already in a session record, oldest first, and its start time (the earlier of its
    creation and its first sample). A missing, empty or unreadable file gives nothing: opening it
    for writing reports the problem."""
    if not _usable(path):
        return [], None
    try:
        with _reading(path) as reader:
            history = reader.vitals()
            created = reader.meta_value("created_at")
    except SessionDatabaseError:
        return [], None
    except (sqlite3.Error, ValueError) as exc:
        log.warning("cannot show the earlier vitals of %s: %s", path, exc)
        return [], None
    starts = [history[0].time] if history else []
    if created is not None:
        with contextlib.suppress(ValueError):
            starts.append(float(created))
    return history, (min(starts) if starts else None)


def read_hl7_pending(path: Path) -> list[tuple[str, str, float, bytes]]:
    """The HL7 messages of a record not yet acknowledged (nor refused), oldest first, as
    (control_id, kind, t, message): what the outbox must send after a restart."""
    if not _usable(path):
        return []
    try:
        with _reading(path) as reader:
            if "hl7_outbox" not in reader.tables():
                return []
            cur = reader.conn.execute("SELECT control_id, kind, t, message FROM hl7_outbox "
                                      "WHERE acked_at IS NULL ORDER BY id")
            return [(str(c), str(k), float(t), bytes(m)) for c, k, t, m in cur]
    except (SessionDatabaseError, sqlite3.Error) as exc:
        log.warning("cannot read the HL7 outbox of %s: %s", path, exc)
        return []


def read_rows(path: Path, tables: Sequence[str]) -> list[tuple[str, dict[str, object]]]:
    """Every row of `tables` in a session record (without row ids), in time order per table;
    nothing when it cannot be opened (what was read before an error is kept)."""
    try:
        reader = RecordReader.open(path)
    except SessionDatabaseError:
        return []
    out: list[tuple[str, dict[str, object]]] = []
    try:
        for table in tables:
            if table not in reader.tables():
                raise sqlite3.OperationalError(f"no such table: {table}")
            out.extend((table, {k: v for k, v in row.items() if k != "id"})
                       for row in reader.rows(table, finite=False))
    except sqlite3.Error as exc:
        log.warning("cannot read the events of %s: %s", path, exc)
    finally:
        reader.close()
    return out


def record_is_simulated(path: Path) -> bool | None:
    """Whether a record holds simulated data (its meta), None when it does not say."""
    try:
        with _reading(path) as reader:
            value = reader.meta_value("simulated")
    except (SessionDatabaseError, sqlite3.Error):
        return None
    return None if value is None else value not in ("0", "", "False")


def read_music_events(path: Path) -> list[Row]:
    """All music_events rows of a session record, oldest first. Raises SessionDatabaseError for a
    file that is not a readable session database (sqlite3.Error from a damaged one)."""
    with _reading(Path(path)) as reader:
        return reader.music_events()


def read_rx_frames(path: Path) -> list[bytes]:
    """The received bytes of a closed record (read-only, leaving no -wal/-shm beside it).
    Raises SessionDatabaseError (not a readable session) or sqlite3.Error (damaged)."""
    with _reading(path, closed=True) as reader:
        return reader.rx_frames()


# -- the nurse's session, read back to resume it (session/session.py) --------------------------------------


def latest_valid(reader: RecordReader, parameter: Parameter) -> tuple[float, float] | None:
    """(time, value) of the newest valid value of `parameter` in the record; None when there is none."""
    row = reader.conn.execute(
        "SELECT t, value FROM samples WHERE parameter = ? AND status = 'ok' AND value IS NOT NULL "
        "ORDER BY t DESC LIMIT 1",
        (parameter.value,),
    ).fetchone()
    return None if row is None else (float(row[0]), float(row[1]))


def max_row_ids(reader: RecordReader, tables: Sequence[str]) -> dict[str, int]:
    """The highest row id of each of `tables` (0 for an empty one), so new rows continue the numbering."""
    out: dict[str, int] = {}
    for table in tables:
        if table not in _TABLES:
            raise ValueError(f"not a table of the session record: {table}")
        out[table] = int(reader.conn.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0])
    return out
