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

SCHEMA_VERSION = 5

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

# version 5: samples stored compactly, a third smaller: parameter, status and source as small codes
# (`sample_names`, numbered per kind in order of first use; status 'ok' is 0, and codes 0 and 1 take no
# bytes in SQLite) in `sample_rows`, whose rowids are those of the samples they hold. `samples` is now
# a view with the columns of the table of versions 1-4 (and its rowid as a column), so every query reads
# exactly what it read before; an INSERT into it is stored compactly by its trigger. Older samples are
# moved over with their rowids; a record read without being written keeps its table.
_V5 = """
CREATE TABLE sample_names (
    kind TEXT NOT NULL CHECK (kind IN ('parameter', 'status', 'source')),
    code INTEGER NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (kind, code),
    UNIQUE (kind, name)
);
INSERT INTO sample_names (kind, code, name) VALUES ('status', 0, 'ok');
INSERT INTO sample_names (kind, code, name)
    SELECT 'parameter', row_number() OVER (ORDER BY min(rowid)) - 1, parameter FROM samples GROUP BY parameter;
INSERT INTO sample_names (kind, code, name)
    SELECT 'status', row_number() OVER (ORDER BY min(rowid)), status FROM samples
    WHERE status <> 'ok' GROUP BY status;
INSERT INTO sample_names (kind, code, name)
    SELECT 'source', row_number() OVER (ORDER BY min(rowid)) - 1, source FROM samples GROUP BY source;

CREATE TABLE sample_rows (
    t              REAL NOT NULL,
    parameter      INTEGER NOT NULL,  -- sample_names code of kind 'parameter'
    value          REAL,
    status         INTEGER NOT NULL,  -- of kind 'status' (0: 'ok')
    source         INTEGER NOT NULL,  -- of kind 'source'
    measurement_id TEXT
);
INSERT INTO sample_rows (rowid, t, parameter, value, status, source, measurement_id)
    SELECT s.rowid, s.t, p.code, s.value, st.code, src.code, s.measurement_id FROM samples s
    JOIN sample_names p ON p.kind = 'parameter' AND p.name = s.parameter
    JOIN sample_names st ON st.kind = 'status' AND st.name = s.status
    JOIN sample_names src ON src.kind = 'source' AND src.name = s.source
    ORDER BY s.rowid;
DROP TABLE samples;
CREATE INDEX sample_rows_by_parameter ON sample_rows (parameter, t);

CREATE VIEW samples AS
    SELECT s.t AS t, p.name AS parameter, s.value AS value, st.name AS status, src.name AS source,
           s.measurement_id AS measurement_id, s.rowid AS rowid
    FROM sample_rows s
    JOIN sample_names p ON p.kind = 'parameter' AND p.code = s.parameter
    JOIN sample_names st ON st.kind = 'status' AND st.code = s.status
    JOIN sample_names src ON src.kind = 'source' AND src.code = s.source;

CREATE TRIGGER samples_insert INSTEAD OF INSERT ON samples
BEGIN
    INSERT OR IGNORE INTO sample_names (kind, code, name)
        SELECT 'parameter', count(*), NEW.parameter FROM sample_names WHERE kind = 'parameter';
    INSERT OR IGNORE INTO sample_names (kind, code, name)
        SELECT 'status', count(*), coalesce(NEW.status, 'ok') FROM sample_names WHERE kind = 'status';
    INSERT OR IGNORE INTO sample_names (kind, code, name)
        SELECT 'source', count(*), NEW.source FROM sample_names WHERE kind = 'source';
    INSERT INTO sample_rows (t, parameter, value, status, source, measurement_id) VALUES (
        NEW.t,
        (SELECT code FROM sample_names WHERE kind = 'parameter' AND name = NEW.parameter),
        NEW.value,
        (SELECT code FROM sample_names WHERE kind = 'status' AND name = coalesce(NEW.status, 'ok')),
        (SELECT code FROM sample_names WHERE kind = 'source' AND name = NEW.source),
        NEW.measurement_id);
END;
"""

MIGRATIONS: dict[int, str] = {0: _V1, 1: _V2, 2: _V3, 3: _V4, 4: _V5}


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
    """The tables (and views) a database at schema `version` has (its migrations run on an empty database)."""
    conn = sqlite3.connect(":memory:")
    try:
        for step in range(min(version, SCHEMA_VERSION)):
            conn.executescript(MIGRATIONS[step])
        names = conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
        return frozenset(str(r[0]) for r in names)
    finally:
        conn.close()
