"""End to end: a session recorded by the real NurseSession and AlarmEngine (on a manual clock)
exports to JSON/CSV/FHIR/PDF with the nurse's facts, the engine's alarm log and the timeline."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
from pathlib import Path

import jsonschema
import pytest

from kapmonitor.alarms.engine import AlarmEngine
from kapmonitor.alarms.log import AlarmLogWriter
from kapmonitor.alarms.profile import default_profile
from kapmonitor.export import ExportOptions, run_export
from kapmonitor.model.clock import ManualClock
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import Item, Source, Status, VitalSample
from kapmonitor.resources import resource_path
from kapmonitor.session import NurseSession, demo_setup
from kapmonitor.session.entries import PrestartOutcome

T0 = 1_760_000_000.0
CHECKS = {
    "min_observation": True,
    "vitals_baseline": True,
    "moaas_5": True,
    "walking": True,
    "no_nausea_dizziness": True,
    "escort": True,
}


def second(t: float, hr: float, spo2: float) -> list[Item]:
    return [VitalSample(t, Parameter.HR, hr, Status.OK, Source.MONITOR),
            VitalSample(t, Parameter.SPO2, spo2, Status.OK, Source.MONITOR)]  # fmt: skip


def nibp(t: float, sys_: float, dia: float) -> list[Item]:
    mid = f"n{int(t)}"
    return [VitalSample(t, Parameter.NIBP_SYS, sys_, measurement_id=mid),
            VitalSample(t, Parameter.NIBP_DIA, dia, measurement_id=mid),
            VitalSample(t, Parameter.NIBP_MEAN, round((sys_ + 2 * dia) / 3), measurement_id=mid)]  # fmt: skip


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    clock = ManualClock(T0)
    path = tmp_path_factory.mktemp("db") / "real.kapsession"
    setup = demo_setup(course_number=2).with_changes(simulated=False, pseudonym="PX-7781", lot="L-99")
    session = NurseSession.create(setup, clock, path=path, meta={"utc_offset_minutes": -300, "simulated": 0})
    engine = AlarmEngine(default_profile(), clock)
    engine.add_listener(AlarmLogWriter(session._recorder))  # the app wires the engine to the same recorder

    def feed(items: list[Item]) -> None:
        session.on_items(items)
        session._recorder.on_items(items)  # the pipeline records samples
        engine.on_items(items)

    def run(seconds: int, hr: float, spo2: float) -> None:
        for _ in range(seconds):
            feed(second(clock.now(), hr, spo2))
            clock.advance(1.0)

    run(120, 72, 98)
    feed(nibp(clock.now(), 142, 84))
    session.prestart_check = lambda: PrestartOutcome(False, "NIBP systolic 142 > 140: needs a physician's OK")
    session.start_infusion(override_reason="usual BP for this patient", who="DP")
    engine.start_infusion(clock.now())
    run(600, 80, 97)
    feed(nibp(clock.now(), 186, 104))  # high systolic: a high-priority alarm
    run(30, 84, 97)
    engine.acknowledge(who="DN")
    session.pause_infusion("BP 186/104")
    session.add_side_effect("hypertension", "moderate", "headache too")
    session.add_intervention("Labetalol", "10 mg", "IV")
    run(300, 82, 97)
    feed(nibp(clock.now(), 150, 90))
    session.resume_infusion()
    session.record_scale("moaas", 4)
    run(1200, 78, 98)
    session.record_scale("cadss", 12)
    run(570, 76, 98)  # 630 + 1200 + 570 s = 40 min infusing
    session.stop_infusion()
    run(3700, 74, 98)
    feed(nibp(clock.now(), 128, 80))
    session.record_scale("moaas", 5)
    session.discharge("DN", CHECKS)
    assert session.flush()
    session.shutdown()
    return path


def test_real_session_exports(recorded: Path, tmp_path: Path, qapp: object) -> None:
    result = run_export(recorded, tmp_path, ExportOptions())
    doc = json.loads((tmp_path / f"{result.base}.json").read_text())
    jsonschema.validate(doc, json.loads(resource_path("session_export.schema.json").read_text()))
    s = doc["session"]
    assert (s["pseudonym"], s["course_number"], s["course_total"], s["lot"]) == ("PX-7781", 2, 3, "L-99")
    assert s["staff"] == {"nurse": "DN", "therapist": "DT", "prescriber": "DP"}
    assert s["drug"] == "racemic-ketamine-iv" and s["drug_label"] == "Racemic ketamine IV"
    assert (s["dose_mg_per_kg"], s["total_mg"], s["volume_ml"], s["rate_ml_per_h"]) == (0.5, 35.0, 3.5, 5.25)
    assert s["prestart"] == {"ok": False, "message": "NIBP systolic 142 > 140: needs a physician's OK",
                             "override_by": "DP", "override_reason": "usual BP for this patient"}  # fmt: skip
    assert s["utc_offset_minutes"] == -300 and s["phases"]["infusion_start"].endswith("-05:00")
    assert [p["reason"] for p in s["pauses"]] == ["BP 186/104"] and s["pauses"][0]["minutes"] == 5.0
    assert s["infusion_minutes"] == 40.0
    stop = dt.datetime.fromisoformat(s["phases"]["infusion_stop"])
    assert dt.datetime.fromisoformat(s["phases"]["observation_end"]) - stop == dt.timedelta(minutes=60)
    assert s["discharge"]["who"] == "DN" and s["consent"] is True
    events = {(e["category"], e["name"]) for e in doc["events"]}
    assert ("side_effect", "hypertension") in events and ("intervention", "labetalol") in events
    assert [x["scale"] for x in doc["scales"]] == ["moaas", "cadss", "moaas"]
    raised = [a for a in doc["alarms"] if a["event"] == "raised"]
    assert any(a["parameter"] == "nibp_sys" and a["priority"] == "high" and a["value"] == 186.0 for a in raised)
    assert any(a["event"] == "acknowledged" and a["who"] == "DN" for a in doc["alarms"])
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(json.loads((tmp_path / f"{result.base}_fhir.json").read_text()))
    pdf = tmp_path / f"{result.base}_report.pdf"
    text = re.sub(r"\s+", " ", subprocess.run(["pdftotext", "-l", "1", "-layout", str(pdf), "-"],
                                              capture_output=True, text=True, check=True).stdout)  # fmt: skip
    for expected in ("PX-7781", "session 2 of 3", "DN / DT / DP", "Racemic ketamine IV", "0.5 mg/kg = 35 mg",
                     "10 mg/mL, 3.5 mL", "5.25 mL/h over 40 min", "OVERRIDDEN by DP", "usual BP for this patient",
                     "186 mmHg", "Pause", "BP 186/104", "hypertension (moderate)", "Labetalol 10 mg IV",
                     "signed by DN", "UTC-05:00"):  # fmt: skip
        assert expected in text, expected


def test_real_session_deidentified(recorded: Path, tmp_path: Path) -> None:
    result = run_export(recorded, tmp_path, ExportOptions(formats=("csv", "json", "fhir"), deidentify=True))
    for path in tmp_path.iterdir():
        text = path.name + path.read_text(encoding="utf-8")
        for ident in ("PX-7781", "L-99", "usual BP", "headache too", "BP 186/104", '"DN"', '"DP"', ",DN,", ",DP,"):
            assert ident not in text, (ident, path.name)
    doc = json.loads((tmp_path / f"{result.base}.json").read_text())
    assert doc["session"]["prestart"] == {"ok": False, "message": "NIBP systolic 142 > 140: needs a physician's OK",
                                          "override_by": None, "override_reason": None}  # fmt: skip
    assert doc["session"]["date"] == "2000-01-01"


def test_discharge_checklist_kept_without_free_text(recorded: Path, tmp_path: Path) -> None:
    plain = run_export(recorded, tmp_path / "p", ExportOptions(formats=("json",)))
    deid = run_export(recorded, tmp_path / "d", ExportOptions(formats=("json",), deidentify=True))
    original = json.loads(
        json.loads((tmp_path / "p" / f"{plain.base}.json").read_text())["session"]["discharge"]["checklist"]
    )
    cleaned = json.loads(
        json.loads((tmp_path / "d" / f"{deid.base}.json").read_text())["session"]["discharge"]["checklist"]
    )
    assert set(cleaned["items"]) == set(original["items"]) and cleaned["override"] is False
    assert all(v["checked"] is True and "detail" not in v for v in cleaned["items"].values())
    assert cleaned["items"]["walking"]["label"] == "Walks steadily"
