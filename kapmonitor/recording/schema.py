"""The session database schema and its migrations.

One database per session. Times are REAL seconds since the Unix epoch (UTC). The schema
version lives in `PRAGMA user_version`; `MIGRATIONS[n]` brings a database from version n to
n + 1. A database newer than this program knows is refused, never modified.

Sections belong to the parts of the program that write them (acquisition, alarms, the nurse's
session, music); every part reads through `kapmonitor.recording.reader`.
"""

from __future__ import annotations

import functools
import sqlite3

SCHEMA_VERSION = 4

_V1 = """
-- identity of the recording: app version, driver, port, simulated flag, time zone, ...
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- acquisition -------------------------------------------------------------------------
CREATE TABLE samples (
    t              REAL NOT NULL,
    parameter      TEXT NOT NULL,
    value          REAL,
    status         TEXT NOT NULL DEFAULT 'ok',
    source         TEXT NOT NULL,
    measurement_id TEXT
);
CREATE INDEX samples_by_parameter ON samples (parameter, t);

-- float32 little-endian arrays, one row per chunk
CREATE TABLE waves (
    t0        REAL NOT NULL,
    parameter TEXT NOT NULL,
    rate_hz   REAL NOT NULL,
    data      BLOB NOT NULL,
    source    TEXT NOT NULL
);
CREATE INDEX waves_by_time ON waves (parameter, t0);

CREATE TABLE raw_frames (
    t         REAL NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('rx', 'tx')),
    data      BLOB NOT NULL
);

CREATE TABLE link_events (
    t      REAL NOT NULL,
    state  TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);

CREATE TABLE device_notices (
    t       REAL NOT NULL,
    code    TEXT NOT NULL,
    message TEXT NOT NULL
);

-- alarms ------------------------------------------------------------------------------
-- one row per alarm state change (kapmonitor.alarms.model.AlarmEventType); kind 'system' marks
-- rows that belong to no single alarm (audio pause, limit change, baseline)
CREATE TABLE alarm_log (
    id          INTEGER PRIMARY KEY,
    t           REAL NOT NULL,
    alarm_id    TEXT NOT NULL,
    parameter   TEXT,
    kind        TEXT NOT NULL CHECK (kind IN ('physiological', 'technical', 'system')),
    priority    TEXT NOT NULL,
    event       TEXT NOT NULL,
    value       REAL,
    limit_value REAL,
    message     TEXT NOT NULL,
    who         TEXT
);
CREATE INDEX alarm_log_by_time ON alarm_log (t);

CREATE TABLE limit_changes (
    t         REAL NOT NULL,
    parameter TEXT NOT NULL,
    field     TEXT NOT NULL,
    old_value TEXT,
    new_value TEXT,
    who       TEXT NOT NULL,
    reason    TEXT NOT NULL
);

-- the nurse's session -------------------------------------------------------------------
-- key/value facts of the session set-up (pseudonym, course number, staff, drug, dose, ...)
CREATE TABLE session_info (
    key   TEXT PRIMARY KEY,
    value TEXT
);

CREATE TABLE infusion_events (
    id     INTEGER PRIMARY KEY,
    t      REAL NOT NULL,
    action TEXT NOT NULL,
    reason TEXT,
    who    TEXT
);

CREATE TABLE clinical_events (
    id         INTEGER PRIMARY KEY,
    t          REAL NOT NULL,
    category   TEXT NOT NULL,
    name       TEXT NOT NULL,
    severity   TEXT,
    drug       TEXT,
    dose       TEXT,
    route      TEXT,
    note       TEXT,
    who        TEXT,
    deleted    INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE scales (
    id     INTEGER PRIMARY KEY,
    t      REAL NOT NULL,
    scale  TEXT NOT NULL,
    score  REAL NOT NULL,
    detail TEXT,
    who    TEXT
);

CREATE TABLE discharge (
    id        INTEGER PRIMARY KEY,
    t         REAL NOT NULL,
    who       TEXT NOT NULL,
    checklist TEXT NOT NULL
);

CREATE TABLE audit (
    id        INTEGER PRIMARY KEY,
    t         REAL NOT NULL,
    who       TEXT,
    action    TEXT NOT NULL,
    table_name TEXT NOT NULL,
    row_id    INTEGER,
    before    TEXT,
    after     TEXT,
    reason    TEXT
);

-- music -------------------------------------------------------------------------------
CREATE TABLE music_events (
    id       INTEGER PRIMARY KEY,
    t        REAL NOT NULL,
    action   TEXT NOT NULL,
    phase    TEXT,
    track    TEXT,
    artist   TEXT,
    path     TEXT,
    position REAL,
    volume_db REAL,
    detail   TEXT
);
"""

# version 2: wave chunks stored compactly (kapmonitor.recording.wavecodec); the rows written before
# keep encoding 0 (raw float32) and are read as they were
_V2 = """
ALTER TABLE waves ADD COLUMN encoding INTEGER NOT NULL DEFAULT 0;
"""

# version 3: the durable outbox of HL7 ORU^R01 messages to the clinic's interface engine
# (kapmonitor.publish.hl7_out): a row is written before it is sent; acked_at is set on its ACK
_V3 = """
CREATE TABLE hl7_outbox (
    id         INTEGER PRIMARY KEY,
    t          REAL NOT NULL,
    kind       TEXT NOT NULL,
    control_id TEXT NOT NULL UNIQUE,
    message    BLOB NOT NULL,
    acked_at   REAL,
    ack_code   TEXT,
    detail     TEXT
);
"""

# version 4: the monitor's raw frames stored compressed in pieces of a few minutes, both directions in
# arrival order (kapmonitor.recording.rawcodec): about a tenth of one row per frame. An open piece has a
# row per transaction, a full one a single row. The raw_frames rows of earlier versions stay as they are
# and are read first (they all came before any piece).
_V4 = """
CREATE TABLE raw_pieces (
    piece    INTEGER NOT NULL,  -- pieces in recording order
    t0       REAL NOT NULL,     -- the piece's first frame
    t1       REAL NOT NULL,     -- the last frame of this row
    frames   INTEGER NOT NULL,  -- frames in this row
    size     INTEGER NOT NULL,  -- their bytes
    encoding INTEGER NOT NULL,
    data     BLOB NOT NULL
);
CREATE INDEX raw_pieces_by_piece ON raw_pieces (piece);
"""

MIGRATIONS: dict[int, str] = {0: _V1, 1: _V2, 2: _V3, 3: _V4}


class SchemaError(Exception):
    """The database is not a kapmonitor session, or is newer than this program."""


def schema_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def migrate(conn: sqlite3.Connection) -> int:
    """Bring `conn` to SCHEMA_VERSION, each step in its own transaction. Returns the version."""
    version = schema_version(conn)
    if version > SCHEMA_VERSION:
        raise SchemaError(
            f"session database has schema version {version}; this kapmonitor knows up to {SCHEMA_VERSION}"
        )
    while version < SCHEMA_VERSION:
        script = MIGRATIONS[version]
        conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {version + 1};\nCOMMIT;")
        version += 1
    return version


@functools.cache
def expected_tables(version: int) -> frozenset[str]:
    """The tables a database at schema `version` has (its migrations run on an empty database)."""
    conn = sqlite3.connect(":memory:")
    try:
        for step in range(min(version, SCHEMA_VERSION)):
            conn.executescript(MIGRATIONS[step])
        return frozenset(str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))
    finally:
        conn.close()
