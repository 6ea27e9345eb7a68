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


def test_pdf_vitals_table_has_rr_and_etco2_rows_only_when_recorded(tmp_path: Path) -> None:
    from kapmonitor.export.data import load_session
    from kapmonitor.export.report import build_report
    from kapmonitor.export.snapshot import take_snapshot

    db = tmp_path / "resp.db"
    rec = SessionRecorder(db, {"simulated": "false"}).start()
    rec.on_items([VitalSample(T0 + s, p, v, Status.OK, Source.MONITOR) for s in range(300)
                  for p, v in ((Parameter.RESP_RATE, 14.0 if s < 240 else 6.0),
                               (Parameter.ETCO2, 36.0 if s < 240 else 55.0))])
    rec.stop()
    conn = take_snapshot(db)
    data = load_session(conn)
    conn.close()
    rows = {r.label: r for r in build_report(data).summary.vitals}
    # no infusion: baseline = median of the first 5 min; extreme = lowest RR, highest EtCO2
    rr = rows["Respiratory rate"]
    assert rr.baseline.startswith("14 /min") and rr.peak.startswith("6 /min")
    assert rows["EtCO\u2082"].baseline.startswith("36 mmHg") and rows["EtCO\u2082"].peak.startswith("55 mmHg")
    assert rows["Respiratory rate"].tone == "high" and rows["EtCO\u2082"].tone == "medium"  # the limits crossed
    result = run_export(db, tmp_path / "out", ExportOptions(formats=("pdf",)))
    assert result.files

    db2 = tmp_path / "no_resp.db"
    rec = SessionRecorder(db2, {"simulated": "false"}).start()
    rec.on_items([VitalSample(T0 + s, Parameter.HR, 70.0, Status.OK, Source.MONITOR) for s in range(30)])
    rec.stop()
    conn = take_snapshot(db2)
    labels = [r.label for r in build_report(load_session(conn)).summary.vitals]
    conn.close()
    assert "Respiratory rate" not in labels and "EtCO\u2082" not in labels and "Heart rate" in labels
