"""De-identification of free text: names planted in every text column of every table of a real
session record are found in no de-identified output (CSV, JSON, FHIR, PDF text and metadata, manifest)."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
from pathlib import Path

import pytest
from export_fixtures import PSEUDONYM, build_session

from kapmonitor.export import ExportOptions, run_export
from kapmonitor.export.deid import dose_code, drug_code, load_keep_free_text, route_code

NAMES = ("Oberholzer", "Brunhilde", "Zimmermann", "Anna")


def _plant(path: Path) -> int:
    """Every TEXT column of every table gets a name: appended to some rows, replacing others."""
    conn = sqlite3.connect(path)
    planted = 0
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})") if "TEXT" in (r[2] or "").upper()]
            for column in columns:
                if table in ("meta", "session_info") and column == "key":
                    continue  # keys name the facts; their values are planted below
                try:
                    cur = conn.execute(
                        f"UPDATE {table} SET {column} = CASE WHEN rowid % 2 = 0 "
                        f"THEN coalesce({column}, '') || ' per Dr Oberholzer' ELSE 'Safe place for Anna' END "
                        f"WHERE rowid % 7 IN (0, 1, 2)"
                    )
                except sqlite3.IntegrityError:
                    continue  # the schema itself refuses anything but its codes here (CHECK constraint)
                planted += cur.rowcount
        checklist = {
            "items": {
                "walking": {"label": "Walks with Brunhilde", "checked": True, "detail": "Anna Zimmermann"},
                "anna_zimmermann": {"label": "Anna", "checked": True},
            },
            "override_reason": "Dr Oberholzer agreed",
        }
        conn.execute("UPDATE discharge SET checklist = ?", (json.dumps(checklist),))
        conn.execute(
            "INSERT INTO clinical_events (t, category, name, severity, drug, dose, route, note, who) "
            "SELECT max(t), 'intervention', 'Zofran per Dr Oberholzer', 'mild', 'Zofran per Dr Oberholzer', "
            "'4 mg per Dr Oberholzer', 'IV via Brunhilde', 'Anna asked', 'Anna' FROM clinical_events"
        )
        conn.execute(
            "INSERT INTO music_events (t, action, phase, track, artist, path, position, volume_db, detail) "
            "SELECT max(t), 'track_started', 'Safe place for Anna', 'Safe place for Anna', 'Anna Zimmermann', "
            "'/home/anna/music.flac', 0, -12, 'Brunhilde' FROM music_events"
        )
        conn.commit()
    finally:
        conn.close()
    return planted


def _texts(path: Path) -> list[str]:
    texts = [path.name]
    if path.suffix == ".pdf":
        for tool in (["pdftotext", str(path), "-"], ["pdfinfo", str(path)]):
            texts.append(subprocess.run(tool, capture_output=True, text=True, check=True).stdout)
    else:
        texts.append(path.read_bytes().decode("utf-8"))
    return texts


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    built = build_session(tmp_path_factory.mktemp("db") / f"{PSEUDONYM}.db", hours=1.0, wave_seconds=5)
    assert _plant(built.path) > 100
    return built.path


def test_planted_names_found_in_no_output(planted: Path, tmp_path: Path, qapp: object) -> None:
    identified = run_export(planted, tmp_path / "identified", ExportOptions(waves=True))
    seen = "\n".join(t for p in identified.out_dir.iterdir() for t in _texts(p))
    assert all(name in seen for name in NAMES)  # the planting reached every format's source

    result = run_export(planted, tmp_path / "deid", ExportOptions(deidentify=True, waves=True, keep_free_text=()))
    files = list(result.out_dir.iterdir())
    assert {p.suffix for p in files} >= {".csv", ".json", ".pdf"}
    for path in files:
        for text in _texts(path):
            for name in NAMES:
                assert not re.search(name, text, re.I), f"{name!r} found in {path.name}"
    doc = json.loads(next(p for p in files if p.suffix == ".json" and "_" not in p.stem).read_text())
    coded = [e for e in doc["events"] if e["drug"] == "ondansetron" and e["dose"] == "4 mg" and e["route"] == "IV"]
    assert coded, "a drug, dose and route typed with a name keep their catalogue value"


def test_a_field_the_clinic_marks_safe_is_kept(planted: Path, tmp_path: Path, qapp: object) -> None:
    result = run_export(planted, tmp_path / "keep",
                        ExportOptions(formats=("json",), deidentify=True, keep_free_text=("music.track",)))
    doc = json.loads(result.files[0].read_text())
    assert "Safe place for Anna" in [m["track"] for m in doc["music"]]
    assert all(m["artist"] is None and m["path"] is None for m in doc["music"])


def test_clinic_setting_file(tmp_path: Path) -> None:
    assert load_keep_free_text(tmp_path) == frozenset()
    (tmp_path / "deidentification.toml").write_text('keep_free_text = ["music.track", "music.artist"]\n')
    assert load_keep_free_text(tmp_path) == {"music.track", "music.artist"}
    (tmp_path / "deidentification.toml").write_text('keep_free_text = ["events.note"]\n')
    with pytest.raises(ValueError, match="unknown field"):
        load_keep_free_text(tmp_path)
    (tmp_path / "deidentification.toml").write_bytes(b'keep_free_text = ["M\xfcller"]\n')
    with pytest.raises(ValueError, match="cannot be read"):
        load_keep_free_text(tmp_path)


@pytest.mark.parametrize(
    ("text", "drug", "dose", "route"),
    [
        ("Zofran per Dr Oberholzer", "ondansetron", None, None),
        ("4 mg per Dr Oberholzer", "other", "4 mg", None),
        ("IV via Brunhilde", "other", None, "IV"),
        ("0,5 mg sublingual", "other", "0.5 mg", "SL"),
        ("Midazolam", "midazolam", None, None),
        ("Anna", "other", None, None),
    ],
)
def test_free_text_coders(text: str, drug: str, dose: str | None, route: str | None) -> None:
    assert drug_code(text) == drug
    assert dose_code(text) == dose
    assert route_code(text) == route
