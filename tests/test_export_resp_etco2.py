"""Respiratory rate and EtCO2 through the session record into every export format (CSV, JSON, FHIR)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from kapmonitor.export.runner import ExportOptions, run_export
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import Source, Status, VitalSample
from kapmonitor.recording.recorder import SessionRecorder

T0 = 1_700_000_040.0  # a whole minute


def _record(db: Path) -> None:
    rec = SessionRecorder(db, {"simulated": "false"}).start()
    items = []
    for s in range(120):
        t = T0 + s
        items += [
            VitalSample(t, Parameter.HR, 72.0, Status.OK, Source.MONITOR),
            VitalSample(t, Parameter.RESP_RATE, 12.0 if s < 60 else 7.0, Status.OK, Source.MONITOR),
            VitalSample(t, Parameter.ETCO2, 38.0 if s < 60 else 52.0, Status.OK, Source.MONITOR),
        ]
    rec.on_items(items)
    rec.stop()
    assert rec.failure is None


def test_rr_and_etco2_in_csv_json_and_fhir(tmp_path: Path) -> None:
    db = tmp_path / "resp.db"
    _record(db)
    out = tmp_path / "out"
    result = run_export(db, out, ExportOptions(formats=("csv", "json", "fhir")))
    with (out / f"{result.base}_vitals.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert sum(r["parameter"] == "resp_rate" for r in rows) == 120
    assert sum(r["parameter"] == "etco2" for r in rows) == 120
    doc = json.loads((out / f"{result.base}.json").read_text(encoding="utf-8"))
    assert "etco2" in json.dumps(doc["samples"]) and "resp_rate" in json.dumps(doc["samples"])

    from fhir.resources.R4B.bundle import Bundle

    bundle = json.loads((out / f"{result.base}_fhir.json").read_text(encoding="utf-8"))
    Bundle.model_validate(bundle)
    obs = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"]

    def by_code(code: str) -> list[tuple[float, str]]:
        return [(o["valueQuantity"]["value"], o["valueQuantity"]["code"]) for o in obs
                if o["code"]["coding"][0]["code"] == code]

    assert by_code("9279-1") == [(12.0, "/min"), (7.0, "/min")]
    assert by_code("19889-5") == [(38.0, "mm[Hg]"), (52.0, "mm[Hg]")]
