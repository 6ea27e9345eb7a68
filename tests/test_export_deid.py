"""De-identified export: no identifier in any file (PDF text included), dates on day 0, intervals kept."""

from __future__ import annotations

import csv
import datetime as dt
import json
import subprocess
from pathlib import Path

import jsonschema
import pytest
from export_fixtures import IDENTIFIERS, PSEUDONYM, Built, build_session

from kapmonitor.export import ExportOptions, ExportResult, run_export
from kapmonitor.export.deid import pseudonym_hash
from kapmonitor.resources import resource_path


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build_session(tmp_path_factory.mktemp("db") / f"{PSEUDONYM}-2026-03-14.db", hours=1.0, wave_seconds=5)


@pytest.fixture(scope="module")
def deid(built: Built, tmp_path_factory: pytest.TempPathFactory, qapp: object) -> ExportResult:
    out = tmp_path_factory.mktemp("deid")
    return run_export(built.path, out, ExportOptions(deidentify=True, waves=True, salt="clinic-secret"))


def test_no_identifier_in_any_file(deid: ExportResult) -> None:
    files = list(deid.out_dir.iterdir())
    assert len(files) == len(deid.files) >= 13
    for path in files:
        texts = [path.name]
        if path.suffix == ".pdf":
            # the PDF's streams are compressed: check what a reader sees, its text and its metadata
            for tool in (["pdftotext", str(path), "-"], ["pdfinfo", str(path)]):
                texts.append(subprocess.run(tool, capture_output=True, text=True, check=True).stdout)
            assert "anon-" in texts[1] and "anon-" in texts[2]
        else:
            texts.append(path.read_bytes().decode("utf-8"))
        for ident in IDENTIFIERS:
            for text in texts:
                assert ident not in text, f"{ident!r} found in {path.name}"


def test_pseudonym_is_a_salted_hash(built: Built, deid: ExportResult, tmp_path: Path) -> None:
    doc = json.loads(next(p for p in deid.files if p.suffix == ".json" and "_" not in p.stem).read_text())
    expected = pseudonym_hash(PSEUDONYM, "clinic-secret")
    assert doc["session"]["pseudonym"] == expected and expected.startswith("anon-")
    assert doc["session"]["staff"] == {"nurse": None, "therapist": None, "prescriber": None}
    assert doc["session"]["info"] == {} and doc["session"]["lot"] is None
    assert doc["session"]["medication_flags"] == "benzodiazepines"
    assert doc["deidentified"] is True and "exported_at" not in doc["generator"]
    assert set(doc["meta"]) <= {"simulated", "driver", "app_version"}
    again = run_export(
        built.path, tmp_path / "a", ExportOptions(formats=("json",), deidentify=True, salt="clinic-secret")
    )
    other = run_export(built.path, tmp_path / "b", ExportOptions(formats=("json",), deidentify=True, salt="other"))
    assert again.base == deid.base  # same salt links the sessions of one patient
    assert other.base != deid.base
    random1 = run_export(built.path, tmp_path / "c", ExportOptions(formats=("json",), deidentify=True))
    random2 = run_export(built.path, tmp_path / "d", ExportOptions(formats=("json",), deidentify=True))
    assert random1.base != random2.base  # no salt: a random one each time


def test_free_text_and_staff_removed(deid: ExportResult) -> None:
    doc = json.loads(next(p for p in deid.files if p.suffix == ".json" and "_" not in p.stem).read_text())
    jsonschema.validate(doc, json.loads(resource_path("session_export.schema.json").read_text()))
    assert all(e["note"] is None and e["who"] is None for e in doc["events"])
    assert [e["name"] for e in doc["events"]] == ["nausea", "ondansetron", "dissociation", "other"]  # the note is gone
    assert all(a["who"] is None for a in doc["alarms"])
    assert all(i["reason"] is None and i["who"] is None for i in doc["infusion"])
    # titles and artists are free text (a track can be named after a person): gone unless the clinic keeps them
    assert all(m["path"] is None and m["track"] is None and m["artist"] is None for m in doc["music"])
    assert [m["phase"] for m in doc["music"] if m["phase"]] and all(
        m["phase"] in ("pre-onset", "onset", "peak", "return") for m in doc["music"] if m["phase"])
    assert all(s["who"] is None and s["detail"] is None for s in doc["scales"])
    assert doc["session"]["discharge"]["who"] is None
    assert json.loads(doc["session"]["discharge"]["checklist"])["escort_present"] is True
    technical = [a for a in doc["alarms"] if a["kind"] == "technical"]
    assert technical and all(a["message"] == a["alarm_id"] for a in technical)
    mids = {s["measurement_id"] for s in doc["samples"] if s["measurement_id"]}
    assert mids == {f"m{i}" for i in range(1, len(mids) + 1)}


def test_dates_shifted_to_day0_with_intervals_kept(built: Built, deid: ExportResult) -> None:
    doc = json.loads(next(p for p in deid.files if p.suffix == ".json" and "_" not in p.stem).read_text())
    s = doc["session"]
    assert s["date"] == "2000-01-01" and s["utc_offset_minutes"] == 0
    start = dt.datetime.fromisoformat(s["phases"]["infusion_start"])
    assert start == dt.datetime(2000, 1, 1, 9, 15, tzinfo=dt.UTC)  # local clock time kept
    stop = dt.datetime.fromisoformat(s["phases"]["infusion_stop"])
    assert (stop - start).total_seconds() == built.infusion_stop - built.infusion_start
    vitals = next(p for p in deid.files if p.name.endswith("_vitals.csv"))
    with open(vitals, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert all(r["time"].startswith("2000-01-01T") and r["time"].endswith("+00:00") for r in rows)
    assert float(rows[0]["session_minute"]) == pytest.approx(-14.9958)
    fhir = json.loads(next(p for p in deid.files if p.name.endswith("_fhir.json")).read_text())
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(fhir)
    patient = next(e["resource"] for e in fhir["entry"] if e["resource"]["resourceType"] == "Patient")
    assert patient["identifier"][0]["value"] == s["pseudonym"]
