"""How the monitor's data is laid out in the session record: samples, wave rows, raw frames, link events.

The recorder (recorder.py) decides when to write and commit; `MonitorRowWriter` writes one batch of
acquisition items into the open transaction. Samples go into `sample_rows` with their parameter, status
and source as small codes (schema version 5; `samples` is the view that reads them as text), the codes
kept in memory and new names numbered as the view's trigger numbers them. Waves are kept as rows of up
to WAVE_ROW_SECONDS of consecutive chunks (kapmonitor.recording.wavecodec), each appended to as its chunks arrive and
rewritten in every transaction that adds to it, so a commit holds every chunk received before it.
Raw frames go into compressed pieces of a few minutes (kapmonitor.recording.rawcodec): every
transaction that adds frames adds one small row with the piece's stream continued (`flush`, called
by the recorder right before it commits), and a full piece is compressed again, whole, into one row
that replaces those.

Thread-safety: none; the recorder's writer thread owns the writer (and its connection).
"""

from __future__ import annotations

import sqlite3

import numpy as np
import numpy.typing as npt

from kapmonitor.model.samples import DeviceNotice, Item, LinkEvent, RawFrame, VitalSample, WaveChunk
from kapmonitor.recording import rawcodec, wavecodec

_SAMPLE_SQL = ("INSERT INTO sample_rows (t, parameter, value, status, source, measurement_id) "
               "VALUES (?, ?, ?, ?, ?, ?)")
_NAMES_SQL = "SELECT kind, name, code FROM sample_names"
_NAME_ADD_SQL = ("INSERT OR IGNORE INTO sample_names (kind, code, name) "
                 "SELECT ?1, count(*), ?2 FROM sample_names WHERE kind = ?1")
_NAME_SQL = "SELECT code FROM sample_names WHERE kind = ? AND name = ?"
_WAVE_SQL = "INSERT INTO waves (t0, parameter, rate_hz, data, source, encoding) VALUES (?, ?, ?, ?, ?, ?)"
_WAVE_APPEND_SQL = "UPDATE waves SET data = ?, encoding = ? WHERE rowid = ?"
_PIECE_SQL = "INSERT INTO raw_pieces (piece, t0, t1, frames, size, encoding, data) VALUES (?, ?, ?, ?, ?, ?, ?)"
_PIECE_DROP_SQL = "DELETE FROM raw_pieces WHERE piece = ?"
_PIECE_NEXT_SQL = "SELECT coalesce(max(piece), 0) + 1 FROM raw_pieces"
_LINK_SQL = "INSERT INTO link_events (t, state, detail) VALUES (?, ?, ?)"
_NOTICE_SQL = "INSERT INTO device_notices (t, code, message) VALUES (?, ?, ?)"

# A wave row holds up to this many seconds of consecutive chunks (appended as they come, committed each
# time as any row): longer rows compress better and cost less per row.
WAVE_ROW_SECONDS = 5.0


class MonitorRowWriter:
    """Writes acquisition items into the open transaction of the record's connection."""

    def __init__(self) -> None:
        # the last wave row of each (parameter, source, rate): its rowid (None before its insert), start,
        # values and whether they changed since written
        self._open_waves: dict[tuple[str, str, float], tuple[int | None, float, npt.NDArray[np.float32], bool]] = {}
        # the open raw-frame piece and its number
        self._piece: rawcodec.PieceEncoder | None = None
        self._piece_no = 0
        # the sample_names codes by (kind, name), read from the record at first use
        self._codes: dict[tuple[str, str], int] | None = None

    def forget(self) -> None:
        """The transaction was rolled back or the file changed: the open rows start afresh."""
        self._open_waves.clear()
        self._piece = None  # its committed rows stay, complete; the next frame starts a new piece
        self._codes = None  # names added in a rolled-back transaction are gone

    def finish(self, conn: sqlite3.Connection) -> None:
        """The end of the recording: the open piece compressed whole (in the caller's transaction)."""
        if self._piece is not None:
            self._close_piece(conn, self._piece)

    def write(self, conn: sqlite3.Connection, items: list[Item]) -> None:
        """Write one batch. Raises what SQLite raises; a refused item leaves the rows before it written."""
        samples = []
        try:
            for item in items:
                if isinstance(item, VitalSample):
                    p = self._code(conn, "parameter", item.parameter.value)
                    st = self._code(conn, "status", item.status.value)
                    src = self._code(conn, "source", item.source.value)
                    samples.append((item.time, p, item.value, st, src, item.measurement_id))
                elif isinstance(item, WaveChunk):
                    self._add_wave(conn, item)
                elif isinstance(item, RawFrame):
                    self._add_raw(conn, item)
                elif isinstance(item, LinkEvent):
                    conn.execute(_LINK_SQL, (item.time, item.state.value, item.detail))
                elif isinstance(item, DeviceNotice):
                    conn.execute(_NOTICE_SQL, (item.time, item.code, item.message))
        finally:
            self._write_waves(conn)  # also what came before a refused item
        if samples:
            conn.executemany(_SAMPLE_SQL, samples)

    def _code(self, conn: sqlite3.Connection, kind: str, name: str) -> int:
        """The code of `name` in the record's sample_names, numbered next in its kind when new (as the
        `samples` view's trigger numbers a name inserted through it)."""
        if self._codes is None:
            self._codes = {(str(k), str(n)): int(c) for k, n, c in conn.execute(_NAMES_SQL)}
        code = self._codes.get((kind, name))
        if code is None:
            conn.execute(_NAME_ADD_SQL, (kind, name))
            code = int(conn.execute(_NAME_SQL, (kind, name)).fetchone()[0])
            self._codes[(kind, name)] = code
        return code

    def _add_raw(self, conn: sqlite3.Connection, frame: RawFrame) -> None:
        """The frame joins the open piece, or closes it and starts the next. Raises ValueError for a
        frame the record refuses (the open piece is left as it was)."""
        rawcodec.check_frame(frame.time, frame.direction)
        piece = self._piece
        if piece is not None and not piece.fits(frame.time, len(frame.data)):
            self._close_piece(conn, piece)
            piece = None
        if piece is None:
            piece = rawcodec.PieceEncoder(frame.time)
            piece.add(frame.time, frame.direction, frame.data)
            self._piece, self._piece_no = piece, int(conn.execute(_PIECE_NEXT_SQL).fetchone()[0])
        else:
            piece.add(frame.time, frame.direction, frame.data)

    def flush(self, conn: sqlite3.Connection) -> None:
        """Before each commit: one row with the open piece's frames not yet written (a piece that
        opens and fills within one transaction, as in a replay, is compressed once, whole)."""
        piece = self._piece
        if piece is None or not piece.unflushed:
            return
        frames, size = piece.frames - piece.frames_flushed, piece.size - piece.size_flushed
        encoding, data = piece.flush()
        conn.execute(_PIECE_SQL, (self._piece_no, piece.t0, piece.t1, frames, size, encoding, data))

    def _close_piece(self, conn: sqlite3.Connection, piece: rawcodec.PieceEncoder) -> None:
        """The full piece compressed whole into one row, in place of its stream rows."""
        encoding, data = piece.close()
        conn.execute(_PIECE_DROP_SQL, (self._piece_no,))
        conn.execute(_PIECE_SQL, (self._piece_no, piece.t0, piece.t1, piece.frames, piece.size, encoding, data))
        self._piece = None

    def _add_wave(self, conn: sqlite3.Connection, chunk: WaveChunk) -> None:
        """A chunk that continues the last wave row of its wave (starting within half a sample of
        where that row ends) is appended to it, up to WAVE_ROW_SECONDS a row; else it starts a new
        row. Fewer, longer rows compress better (the record is about a third smaller). The rows are
        encoded and written once per batch (`_write_waves`), however many chunks it holds."""
        key = (chunk.parameter.value, chunk.source.value, chunk.rate_hz)
        new = np.asarray(chunk.values, dtype=np.float32)
        last = self._open_waves.get(key)
        if last is not None:
            rowid, t0, values, _ = last
            rate = chunk.rate_hz
            end = t0 + len(values) / rate
            if abs(chunk.time - end) <= 0.5 / rate and len(values) + len(new) <= WAVE_ROW_SECONDS * rate:
                self._open_waves[key] = (rowid, t0, np.concatenate((values, new)), True)
                return
            self._write_waves(conn, key)
        self._open_waves[key] = (None, chunk.time, new, True)

    def _write_waves(self, conn: sqlite3.Connection, only: tuple[str, str, float] | None = None) -> None:
        """Insert or update the wave rows changed since they were last written."""
        for key, (rowid, t0, values, changed) in list(self._open_waves.items()):
            if not changed or (only is not None and key != only):
                continue
            encoding, data = wavecodec.encode(values)
            if rowid is None:
                rowid = conn.execute(_WAVE_SQL, (t0, key[0], key[2], data, key[1], encoding)).lastrowid
            else:
                conn.execute(_WAVE_APPEND_SQL, (data, encoding, rowid))
            self._open_waves[key] = (rowid, t0, values, False)
