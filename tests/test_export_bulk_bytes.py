"""The bulk encoders of the export give exactly the files the general encoders give.

The vitals CSV, the waves CSV and the JSON document are encoded column by column (kapmonitor.export.vitals_text),
the FHIR minute medians in one sort, the report's NIBP readings from the NIBP rows alone and its
trend buckets with numpy's reduceat. Each is checked here against the plain path on a real record
with awkward cells: quotes, commas, line breaks, a tab, non-ASCII text, an empty id, no value, -0.0,
1e20, 1e-7, an unknown parameter, hand-entered NIBP, invalid and questionable statuses.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from export_fixtures import T0, build_session, plant_names

from kapmonitor.export import ExportOptions, fhir_export, run_export
from kapmonitor.export.csv_export import table_csv
from kapmonitor.export.data import SessionData, load_session
from kapmonitor.export.fhir_export import fhir_bundle
from kapmonitor.export.json_export import session_document, to_json
from kapmonitor.export.records import vitals, wave_table
from kapmonitor.export.report.chart import bucketed
from kapmonitor.export.snapshot import take_snapshot
from kapmonitor.export.vitals_text import VitalsText
from kapmonitor.model.nibp import group_nibp, nibp_samples

AWKWARD = [
    (T0 + 100.25, "hr", None, "ok", "monitor", None),
    (T0 + 100.5, "spo2", 97.0, "invalid", "monitor", None),
    (T0 + 101.0, "nibp_sys", 141.0, "ok", "manual", 'm,"1"\nx'),
    (T0 + 101.0, "nibp_dia", 88.0, "ok", "manual", 'm,"1"\nx'),
    (T0 + 102.0, "xyz_new", 1e-7, "ok", "monitor", "é✓ q"),
    (T0 + 103.0, "hr", 1e20, "ok", "monitor", ""),
    (T0 + 104.0, "hr", -0.0, "ok", "monitor", " lead"),
    (T0 + 105.0, "hr", 123456789.123, "ok", "monitor", "a\rb"),
    (T0 + 106.0, "spo2", 0.1 + 0.2, "questionable", "simulated", "tab\there"),
    (T0 - 5000.0, "hr", 61.0, "ok", "monitor", None),
]


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("bulk") / "awkward.db"
    build_session(db, hours=0.5, offset_minutes=-210, wave_seconds=120)
    plant_names(db)
    conn = sqlite3.connect(db)
    conn.executemany(
        "INSERT INTO samples (t, parameter, value, status, source, measurement_id) VALUES (?, ?, ?, ?, ?, ?)", AWKWARD
    )
    conn.commit()
    conn.close()
    return db


def _load(db: Path, waves: bool = False) -> SessionData:
    conn = take_snapshot(db)
    try:
        return load_session(conn, waves=waves)
    finally:
        conn.close()


def _export(db: Path, out: Path, **options: object) -> tuple[dict[str, bytes], str]:
    result = run_export(db, out, ExportOptions(formats=("csv", "json", "fhir"), **options))  # type: ignore[arg-type]
    files = {p.name.removeprefix(f"{result.base}"): p.read_bytes() for p in result.files}
    manifest = json.loads(files["_manifest.json"])
    return files, str(manifest.get("exported_at", ""))


def _median_per_minute(v: np.ndarray, group: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> list[float]:
    return [float(np.median(v[a:z])) for a, z in zip(starts.tolist(), ends.tolist(), strict=True)]


def test_csv_json_and_fhir_are_byte_identical_to_the_general_encoders(
    record: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files, exported_at = _export(record, tmp_path / "out")
    data = _load(record)
    assert len(data.samples) > 5000
    assert files["_vitals.csv"] == table_csv(vitals(data)).encode("utf-8")
    assert b'"m,""1""\nx"' in files["_vitals.csv"] and b",1e+20," in files["_vitals.csv"]
    assert files[".json"] == to_json(session_document(data, exported_at=exported_at)).encode("utf-8")
    assert '"value":null' in files[".json"].decode("utf-8")
    fast_fhir = to_json(fhir_bundle(data))
    assert files["_fhir.json"] == fast_fhir.encode("utf-8")
    monkeypatch.setattr(fhir_export, "_medians", _median_per_minute)  # the per-minute np.median it replaced
    assert to_json(fhir_bundle(data)) == fast_fhir
    assert fast_fhir.count("median of") > 60


def test_the_waveform_files_are_byte_identical_too(record: Path, tmp_path: Path) -> None:
    files, exported_at = _export(record, tmp_path / "out", waves=True)
    data = _load(record, waves=True)
    table = wave_table(data)
    assert len(table.rows) == 12_000
    assert files["_waves.csv"] == table_csv(table).encode("utf-8")
    assert files[".json"] == to_json(session_document(data, True, exported_at)).encode("utf-8")


def test_deidentified_export_is_byte_identical_too(record: Path, tmp_path: Path) -> None:
    from kapmonitor.export.deid import deidentify

    files, _ = _export(record, tmp_path / "out", deidentify=True, salt="pepper", keep_free_text=())
    data = deidentify(_load(record), "pepper", ())
    assert files["_vitals.csv"] == table_csv(vitals(data)).encode("utf-8")
    assert files[".json"] == to_json(session_document(data)).encode("utf-8")


def test_an_empty_record_gives_the_same_empty_tables(tmp_path: Path) -> None:
    from kapmonitor.recording.recorder import SessionRecorder

    db = tmp_path / "empty.db"
    SessionRecorder(db, {}).start().stop()
    data = _load(db)
    text = VitalsText.of(data)
    assert text.csv() == table_csv(vitals(data))
    assert text.json_array() == "[]"


def test_the_reports_nibp_readings_and_trend_buckets_match_the_plain_computation(record: Path) -> None:
    data = _load(record)
    s = data.samples
    everything = group_nibp(nibp_samples(s.t.tolist(), s.parameter, s.value, s.status, s.source, s.measurement_id))
    assert s.nibp() == everything and any(m.manual for m in everything)
    t, v = s.series("hr")
    minutes = data.minutes(t)
    m0, m1 = float(minutes.min()) - 3, float(minutes.max()) + 3
    segments = bucketed(minutes, v, m0, m1)
    # the loop it replaced: one bucket at a time, a new segment after a gap of more than half a minute
    edges = np.floor((minutes - m0) / (m1 - m0) * 900).astype(np.int64)
    expected: list[list[tuple[float, float, float]]] = [[]]
    last = None
    for e in np.unique(edges).tolist():
        sel = edges == e
        if last is not None and minutes[sel][0] - last > 0.5:
            expected.append([])
        expected[-1].append((float(np.mean(minutes[sel])), float(v[sel].min()), float(v[sel].max())))
        last = float(minutes[sel][-1])
    assert [len(seg) for seg in segments] == [len(seg) for seg in expected] and len(segments) >= 2
    for got, want in zip(segments, expected, strict=True):
        for (gm, glo, ghi), (wm, wlo, whi) in zip(got, want, strict=True):
            assert (glo, ghi) == (wlo, whi)
            assert gm == pytest.approx(wm, abs=1e-9)  # summation order only


def test_a_coded_record_reads_the_same_columns_as_through_its_samples_view(
    record: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kapmonitor.recording.reader import RecordReader

    conn = take_snapshot(record)
    try:
        reader = RecordReader(conn)
        assert {"sample_rows", "sample_names"} <= reader.tables()  # a record of schema version 5 or later
        coded = reader.sample_columns()
        with monkeypatch.context() as m:
            m.setattr(RecordReader, "_coded_sample_columns", lambda self: None)
            viewed = RecordReader(conn).sample_columns()
        assert coded == viewed and len(coded.t) > 5000
        # a code without a name: the view (an inner join) decides, as every other query sees it
        raw = sqlite3.connect(":memory:")
        conn.backup(raw)
        raw.execute("DELETE FROM sample_names WHERE kind = 'source' AND name = 'manual'")
        assert RecordReader(raw).sample_columns().source.count("manual") == 0
        raw.close()
    finally:
        conn.close()
