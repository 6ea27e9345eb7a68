"""Compact wave storage (schema version 2): every sample kept, pleth within 0.1 % of full scale,
raw monitor counts exact, records of version 1 still read, and the record about a third smaller."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import Source, Status, VitalSample, WaveChunk
from kapmonitor.recording import wavecodec
from kapmonitor.recording.reader import RecordReader
from kapmonitor.recording.recorder import SessionRecorder
from kapmonitor.recording.schema import MIGRATIONS, SCHEMA_VERSION

T0 = 1_767_258_000.0


def _pleth(seconds: int, rate: float = 100.0, seed: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    noise = np.random.default_rng(seed).normal(0, 0.01, len(t))
    return (np.sin(2 * np.pi * 1.2 * t) ** 4 + 0.05 * np.sin(2 * np.pi * 0.25 * t) + noise).astype(np.float32)


def _record(path: Path, values: np.ndarray, chunk: int = 100, rate: float = 100.0) -> None:
    with SessionRecorder(path) as rec:
        for i in range(0, len(values), chunk):
            rec.on_items([WaveChunk(T0 + i / rate, Parameter.PLETH, rate, values[i:i + chunk], Source.MONITOR),
                          VitalSample(T0 + i / rate, Parameter.SPO2, 97.0, Status.OK, Source.MONITOR)])
        assert rec.flush()


def _read(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Every stored sample and its time, as the exports compute them."""
    with RecordReader.open(path) as reader:
        rows = reader.rows("waves", "parameter, t0")
    values = [np.frombuffer(r["data"], dtype="<f4") for r in rows]
    times = [float(r["t0"]) + np.arange(len(v)) / float(r["rate_hz"]) for r, v in zip(rows, values, strict=True)]
    return np.concatenate(values), np.concatenate(times)


def test_every_pleth_sample_read_back_within_a_tenth_of_a_percent(tmp_path: Path) -> None:
    wave = _pleth(60)
    wave[1234:1300] = np.nan  # no signal for 0.66 s
    _record(tmp_path / "s.db", wave)
    back, times = _read(tmp_path / "s.db")
    assert len(back) == len(wave)
    assert np.array_equal(np.isnan(back), np.isnan(wave))
    full_scale = float(np.nanmax(wave) - np.nanmin(wave))
    assert np.nanmax(np.abs(back - wave)) <= 0.001 * full_scale
    assert np.allclose(times, T0 + np.arange(len(wave)) / 100.0, atol=1e-6)


def test_raw_monitor_counts_are_stored_exactly(tmp_path: Path) -> None:
    counts = np.round(_pleth(20) * 3000 - 800).astype(np.float32)  # integer counts, as GE/Ivy send them
    _record(tmp_path / "s.db", counts, chunk=25)
    back, _ = _read(tmp_path / "s.db")
    assert np.array_equal(back, counts)


def test_infinity_and_empty_chunks_are_kept_as_they_were(tmp_path: Path) -> None:
    odd = np.array([1.5, np.inf, -np.inf, np.nan, 2.0], dtype=np.float32)
    for values in (odd, np.array([], dtype=np.float32), np.full(7, np.nan, dtype=np.float32),
                   np.full(9, 0.25, dtype=np.float32)):
        encoding, blob = wavecodec.encode(values)
        back = wavecodec.decode(encoding, blob)
        assert len(back) == len(values)
        assert np.array_equal(back, values, equal_nan=True)


def test_a_damaged_or_unknown_chunk_says_so() -> None:
    encoding, blob = wavecodec.encode(_pleth(1))
    with pytest.raises(ValueError, match="damaged"):
        wavecodec.decode(encoding, blob[:-5])
    with pytest.raises(ValueError, match="unknown wave encoding"):
        wavecodec.decode(7, blob)


def test_a_gap_or_another_rate_starts_a_new_row_and_times_stay_exact(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    a, b = _pleth(3), _pleth(2, rate=50.0)
    with SessionRecorder(path) as rec:
        rec.on_items([WaveChunk(T0, Parameter.PLETH, 100.0, a[:100])])
        rec.on_items([WaveChunk(T0 + 1.0, Parameter.PLETH, 100.0, a[100:200])])  # continues: appended
        rec.on_items([WaveChunk(T0 + 2.5, Parameter.PLETH, 100.0, a[200:])])  # 0.5 s later: a new row
        rec.on_items([WaveChunk(T0 + 2.5, Parameter.PLETH, 50.0, b)])  # another rate: its own row
        assert rec.flush()
    with RecordReader.open(path) as reader:
        rows = reader.rows("waves", "t0, rate_hz")
    assert [(r["t0"] - T0, r["rate_hz"], len(r["data"]) // 4) for r in rows] == [
        (0.0, 100.0, 200), (2.5, 50.0, 100), (2.5, 100.0, 100)]


def test_a_version_1_record_is_migrated_and_its_old_waves_still_read(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = _pleth(2)
    conn = sqlite3.connect(path)
    conn.executescript(f"BEGIN;\n{MIGRATIONS[0]}\nPRAGMA user_version = 1;\nCOMMIT;")
    conn.execute("INSERT INTO waves (t0, parameter, rate_hz, data, source) VALUES (?, 'pleth', 100.0, ?, 'monitor')",
                 (T0, old[:100].astype("<f4").tobytes()))
    conn.commit()
    conn.close()
    with RecordReader.open(path) as reader:  # read as it is, before anything writes into it
        assert reader.schema_version() == 1
        assert np.array_equal(np.frombuffer(reader.rows("waves", "t0")[0]["data"], "<f4"), old[:100])
    _record(path, old[100:])  # resumed by this version: migrated, new rows compact
    with RecordReader.open(path) as reader:
        assert reader.schema_version() == SCHEMA_VERSION >= 2
        encodings = [r[0] for r in reader.conn.execute("SELECT encoding FROM waves ORDER BY t0")]
    assert encodings == [wavecodec.F4, wavecodec.Q16]
    back, _ = _read(path)
    assert np.array_equal(back[:100], old[:100])  # the float32 row exactly as written
    assert np.max(np.abs(back[100:] - old[100:])) <= 0.001 * float(old.max() - old.min())


def test_an_hour_of_pleth_takes_under_half_the_float32_size(tmp_path: Path) -> None:
    wave = _pleth(3600)
    _record(tmp_path / "s.db", wave)
    with RecordReader.open(tmp_path / "s.db") as reader:
        stored = reader.conn.execute("SELECT sum(length(data)), count(*) FROM waves").fetchone()
    assert stored[1] == 720  # 5-s rows
    assert stored[0] < 0.5 * wave.nbytes


def test_a_batch_of_chunks_is_written_as_whole_rows(tmp_path: Path) -> None:
    """At replay speed the recorder gets many chunks at once: each row is encoded once, none lost."""
    path = tmp_path / "s.db"
    wave = _pleth(12)
    with SessionRecorder(path) as rec:
        rec.on_items([WaveChunk(T0 + i, Parameter.PLETH, 100.0, wave[i * 100:(i + 1) * 100]) for i in range(12)])
        assert rec.flush()
    with RecordReader.open(path) as reader:
        rows = reader.rows("waves", "t0")
    assert [(r["t0"] - T0, len(r["data"]) // 4) for r in rows] == [(0.0, 500), (5.0, 500), (10.0, 200)]
    back, _ = _read(path)
    assert np.max(np.abs(back - wave)) <= 0.001 * float(wave.max() - wave.min())
