"""How the monitor's data is laid out in the session record: samples, wave rows, raw frames, link events.

The recorder (recorder.py) decides when to write and commit; `MonitorRowWriter` writes one batch of
acquisition items into the open transaction. Waves are kept as rows of up to WAVE_ROW_SECONDS of
consecutive chunks (kapmonitor.recording.wavecodec), each appended to as its chunks arrive and
rewritten in every transaction that adds to it, so a commit holds every chunk received before it.

Thread-safety: none; the recorder's writer thread owns the writer (and its connection).
"""

from __future__ import annotations

import sqlite3

import numpy as np
import numpy.typing as npt

from kapmonitor.model.samples import DeviceNotice, Item, LinkEvent, RawFrame, VitalSample, WaveChunk
from kapmonitor.recording import wavecodec

_SAMPLE_SQL = "INSERT INTO samples (t, parameter, value, status, source, measurement_id) VALUES (?, ?, ?, ?, ?, ?)"
_WAVE_SQL = "INSERT INTO waves (t0, parameter, rate_hz, data, source, encoding) VALUES (?, ?, ?, ?, ?, ?)"
_WAVE_APPEND_SQL = "UPDATE waves SET data = ?, encoding = ? WHERE rowid = ?"
_RAW_SQL = "INSERT INTO raw_frames (t, direction, data) VALUES (?, ?, ?)"
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

    def forget(self) -> None:
        """The transaction was rolled back or the file changed: the open rows start afresh."""
        self._open_waves.clear()

    def write(self, conn: sqlite3.Connection, items: list[Item]) -> None:
        """Write one batch. Raises what SQLite raises; a refused item leaves the rows before it written."""
        samples = []
        raws = []
        try:
            for item in items:
                if isinstance(item, VitalSample):
                    p, st, src = item.parameter.value, item.status.value, item.source.value
                    samples.append((item.time, p, item.value, st, src, item.measurement_id))
                elif isinstance(item, WaveChunk):
                    self._add_wave(conn, item)
                elif isinstance(item, RawFrame):
                    raws.append((item.time, item.direction, item.data))
                elif isinstance(item, LinkEvent):
                    conn.execute(_LINK_SQL, (item.time, item.state.value, item.detail))
                elif isinstance(item, DeviceNotice):
                    conn.execute(_NOTICE_SQL, (item.time, item.code, item.message))
        finally:
            self._write_waves(conn)  # also what came before a refused item
        if samples:
            conn.executemany(_SAMPLE_SQL, samples)
        if raws:
            conn.executemany(_RAW_SQL, raws)

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
