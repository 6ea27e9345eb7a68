"""De-identification of free text: names planted in every text column of every table of a real
session record are found in no de-identified output (CSV, JSON, FHIR, PDF text and metadata, manifest)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from export_fixtures import PLANTED_NAMES as NAMES
from export_fixtures import PSEUDONYM, build_session, output_texts, plant_names

from kapmonitor.export import ExportOptions, run_export
from kapmonitor.export.deid import dose_code, drug_code, load_keep_free_text, route_code


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    built = build_session(tmp_path_factory.mktemp("db") / f"{PSEUDONYM}.db", hours=1.0, wave_seconds=5)
    assert plant_names(built.path) > 100
    return built.path


def test_planted_names_found_in_no_output(planted: Path, tmp_path: Path, qapp: object) -> None:
    identified = run_export(planted, tmp_path / "identified", ExportOptions(waves=True))
    seen = "\n".join(t for p in identified.out_dir.iterdir() for t in output_texts(p))
    assert all(name in seen for name in NAMES)  # the planting reached every format's source

    result = run_export(planted, tmp_path / "deid", ExportOptions(deidentify=True, waves=True, keep_free_text=()))
    files = list(result.out_dir.iterdir())
    assert {p.suffix for p in files} >= {".csv", ".json", ".pdf"}
    for path in files:
        for text in output_texts(path):
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
