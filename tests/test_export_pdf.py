"""The PDF report: page-1 figures from its text (pdftotext), pages rendered (pdftoppm), A4 and
Letter, the SIMULATED DATA marking."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from export_fixtures import PSEUDONYM, Built, build_session

from kapmonitor.export import ExportOptions, ExportResult, run_export

pytestmark = pytest.mark.usefixtures("qapp")


def pdf_text(path: Path, page: int | None = None) -> str:
    args = ["pdftotext", "-layout"]
    if page is not None:
        args += ["-f", str(page), "-l", str(page)]
    return subprocess.run([*args, str(path), "-"], capture_output=True, text=True, check=True).stdout


def pdf_info(path: Path) -> dict[str, str]:
    out = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return {k.strip(): v.strip() for k, v in (line.split(":", 1) for line in out.splitlines() if ":" in line)}


def render(path: Path, page: int, out: Path) -> np.ndarray:
    from PySide6.QtGui import QImage

    prefix = out / f"page{page}"
    subprocess.run(
        ["pdftoppm", "-r", "50", "-f", str(page), "-l", str(page), "-png", "-singlefile", str(path), str(prefix)],
        check=True,
    )
    img = QImage(str(prefix) + ".png").convertToFormat(QImage.Format.Format_RGB888)
    assert not img.isNull()
    ptr = img.constBits()
    arr = np.frombuffer(ptr, dtype=np.uint8, count=img.sizeInBytes()).reshape(img.height(), img.bytesPerLine())
    return arr[:, : img.width() * 3].reshape(img.height(), img.width(), 3).copy()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build_session(tmp_path_factory.mktemp("db") / "report.db", hours=4.0)


@pytest.fixture(scope="module")
def a4(built: Built, tmp_path_factory: pytest.TempPathFactory, qapp: object) -> ExportResult:
    return run_export(built.path, tmp_path_factory.mktemp("a4"), ExportOptions(formats=("pdf",), paper="a4"))


def pdf_of(result: ExportResult) -> Path:
    return next(p for p in result.files if p.suffix == ".pdf")


def test_first_page_has_the_figures(a4: ExportResult) -> None:
    text = pdf_text(pdf_of(a4), 1)
    flat = re.sub(r"\s+", " ", text)
    for expected in (
        PSEUDONYM,
        "session 2 of 3",
        "2026-03-14",
        "JQN / MRX / DRW",
        "Racemic ketamine IV",
        "LOT-7781A",
        "0.5 mg/kg = 36.25 mg",
        "1 mg/mL, 36.25 mL",
        "54.38 mL/h over 40 min",
        "Pump read-back 54.4 mL/h",
        "Volume infused 36.25 mL",
        "OVERRIDDEN by DRW",
        "Pre-start check: NIBP systolic 146 > 140: needs a physician's OK — overridden by DRW: per physician",
        "Infusion start 09:15:00",
        "10:00:00 (+45 min)",
        "40 min (pauses excluded)",
        "Pause 09:35:00 – 09:40:00 5 min — feels nauseous",
        "124 mmHg at 09:10",
        "184 mmHg at 09:55 (+41 min) (+60)",
        "112 mmHg",
        "74 /min",
        "90 % at 10:40",
        "*** High: 2",
        "** Medium: 1",
        "* Low: 1",
        "nausea (moderate)",
        "ondansetron 4 mg IV",
        "CADSS 23",
        "Discharged 12:59",
        "signed by JQN",
        "escort present",
        "page 1 of 4",
        "UTC+01:00",
    ):
        assert expected in flat, expected
    assert "SIMULATED" not in text
    assert "headache" not in text  # a deleted event is not in the report


def test_chart_and_tables_pages(a4: ExportResult, tmp_path: Path) -> None:
    pdf = pdf_of(a4)
    assert pdf_info(pdf)["Pages"] == "4"
    chart = pdf_text(pdf, 2)
    for expected in (
        "Trend chart",
        "NIBP mmHg",
        "HR /min",
        "SpO₂ %",
        "sys 180 ***",
        "sys 160 **",
        "dia 110 ***",
        "92 **",
        "88 ***",
        "150 ***",
        "infusion",
        "pause",
        "E1",
        "onset",
        "peak",
        "return",
        "page 2 of 4",
    ):
        assert expected in chart, expected
    tables = pdf_text(pdf, 3) + pdf_text(pdf, 4)
    for expected in (
        "Alarm log",
        "nibp_sys.high",
        "acknowledged",
        "Events and interventions",
        "Scales — 17 rows",
        "MOAA/S",
        "Infusion record",
        "feels nauseous",
        "Alarm limit changes",
        "Music",
        "Slow Water",
    ):
        assert expected in tables, expected
    img = render(pdf, 2, tmp_path).astype(int)
    green = (abs(img[..., 0] - 0x13) < 40) & (abs(img[..., 1] - 0x8A) < 40) & (abs(img[..., 2] - 0x36) < 40)
    red = (img[..., 0] > 170) & (img[..., 1] < 80) & (img[..., 2] < 80)
    assert green.sum() > 100  # the HR curve was drawn
    assert red.sum() > 200  # high limits and systolic markers
    assert (img.mean(axis=2) < 250).mean() > 0.05  # the page is not blank


@pytest.mark.parametrize(("paper", "size"), [("a4", "595 x 842 pts (A4)"), ("letter", "612 x 792 pts (letter)")])
def test_paper_sizes(built: Built, tmp_path: Path, paper: str, size: str) -> None:
    result = run_export(built.path, tmp_path, ExportOptions(formats=("pdf",), paper=paper))
    pdf = pdf_of(result)
    assert pdf_info(pdf)["Page size"] == size
    n = int(pdf_info(pdf)["Pages"])
    for page in range(1, n + 1):
        text = pdf_text(pdf, page)
        assert f"page {page} of {n}" in text  # the footer is on the page, not cut off
        assert PSEUDONYM in text
    assert "signed by JQN" in pdf_text(pdf, 1)
    img = render(pdf, 1, tmp_path)
    ratio = img.shape[0] / img.shape[1]
    assert ratio == pytest.approx(841.89 / 595.276 if paper == "a4" else 792 / 612, abs=0.01)
    # nothing drawn into the bottom margin (10 mm)
    margin = int(img.shape[0] * 10 / (297 if paper == "a4" else 279.4))
    assert (img[-margin:].mean(axis=2) > 250).all()


def test_simulated_data_is_marked_on_every_page(tmp_path: Path) -> None:
    built = build_session(tmp_path / "sim.db", hours=1.0, simulated=True)
    result = run_export(built.path, tmp_path / "out", ExportOptions(formats=("pdf", "json", "fhir")))
    pdf = pdf_of(result)
    n = int(pdf_info(pdf)["Pages"])
    for page in range(1, n + 1):
        assert "SIMULATED DATA" in pdf_text(pdf, page)
    img = render(pdf, 1, tmp_path).astype(int)
    banner = img[int(img.shape[0] * 0.07) : int(img.shape[0] * 0.09)]
    assert ((banner[..., 0] > 180) & (banner[..., 1] < 60)).mean() > 0.5  # a red band across the page
    import json

    doc = json.loads(next(p for p in result.files if p.suffix == ".json" and "_" not in p.stem).read_text())
    assert doc["simulated"] is True
    bundle = json.loads(next(p for p in result.files if p.name.endswith("_fhir.json")).read_text())
    assert bundle["meta"]["tag"][0]["code"] == "simulated"
    assert all(e["resource"]["meta"]["tag"][0]["code"] == "simulated" for e in bundle["entry"])


def test_session_without_anything(tmp_path: Path) -> None:
    from kapmonitor.recording.recorder import SessionRecorder

    db = tmp_path / "empty.db"
    SessionRecorder(db, {}).start().stop()
    result = run_export(db, tmp_path / "out", ExportOptions(formats=("pdf",)))
    text = pdf_text(pdf_of(result), 1)
    assert "not started" in text and "no events recorded" in text and "not discharged" in text


def test_long_tables_continue_over_pages_without_losing_rows(tmp_path: Path) -> None:
    from kapmonitor.recording.recorder import SessionRecorder

    db = tmp_path / "many.db"
    rec = SessionRecorder(db, {"utc_offset_minutes": 0}).start()
    for i in range(240):
        row = {
            "t": 1.7e9 + i * 30,
            "alarm_id": f"alarm-{i:04d}",
            "parameter": "hr",
            "kind": "physiological",
            "priority": "medium",
            "event": "raised",
            "value": 121.0,
            "limit_value": 120.0,
            "message": f"Heart rate high, a long message that has to wrap onto a second line {i}",
        }
        rec.insert("alarm_log", row)
    rec.stop()
    result = run_export(db, tmp_path / "out", ExportOptions(formats=("pdf",), paper="letter"))
    pdf = pdf_of(result)
    n = int(pdf_info(pdf)["Pages"])
    assert n >= 6
    text = ""
    for page in range(1, n + 1):
        page_text = pdf_text(pdf, page)
        assert f"page {page} of {n}" in page_text
        text += page_text
    ids = re.findall(r"alarm-(\d{4})", text)
    assert sorted(ids) == [f"{i:04d}" for i in range(240)]  # every row exactly once
    assert "Alarm log (every state change) (continued)" in text
    assert "wrap onto a second line 239" in re.sub(r"\s+", " ", text)


def test_chart_ranges_widen_so_no_value_is_clipped(tmp_path: Path) -> None:
    from kapmonitor.export.data import load_session
    from kapmonitor.export.report.chart import value_range as _range
    from kapmonitor.export.snapshot import take_snapshot
    from kapmonitor.model.parameters import Parameter
    from kapmonitor.model.samples import Source, Status, VitalSample
    from kapmonitor.recording.recorder import SessionRecorder

    db = tmp_path / "desat.db"
    rec = SessionRecorder(db, {}).start()
    rec.on_items([VitalSample(1.7e9 + i, Parameter.SPO2, 97.0 - i, Status.OK, Source.MONITOR) for i in range(26)])
    rec.on_items([VitalSample(1.7e9, Parameter.HR, 182.0, Status.OK, Source.MONITOR)])
    rec.stop()
    conn = take_snapshot(db)
    data = load_session(conn)
    conn.close()
    assert _range(data, ("spo2",), 80, 100, 5) == (70.0, 100.0)  # lowest value 72
    assert _range(data, ("hr",), 30, 170, 20) == (30.0, 200.0)
    assert _range(data, ("nibp_sys",), 40, 220, 20) == (40.0, 220.0)  # no values: the usual range
    result = run_export(db, tmp_path / "out", ExportOptions(formats=("pdf",)))
    assert "70" in pdf_text(pdf_of(result), 2).split()


def test_a_cuff_reading_whose_parts_arrive_apart_gets_its_bar(tmp_path: Path) -> None:
    """The chart pairs systolic and diastolic by the one NIBP measurement key (model.nibp), not by time."""
    from kapmonitor.export.data import load_session
    from kapmonitor.export.report import build_report
    from kapmonitor.export.snapshot import take_snapshot
    from kapmonitor.model.parameters import Parameter
    from kapmonitor.model.samples import Source, Status, VitalSample
    from kapmonitor.recording.recorder import SessionRecorder

    t0 = 1.7e9
    db = tmp_path / "apart.db"
    rec = SessionRecorder(db, {}).start()
    rec.on_items([
        VitalSample(t0, Parameter.NIBP_SYS, 131.0, Status.OK, Source.MONITOR, "cuff-1"),
        VitalSample(t0 + 2.0, Parameter.NIBP_DIA, 84.0, Status.OK, Source.MONITOR, "cuff-1"),  # 2 s later
        VitalSample(t0 + 2.5, Parameter.NIBP_MEAN, 99.0, Status.OK, Source.MONITOR, "cuff-1"),
        VitalSample(t0 + 600, Parameter.NIBP_SYS, 150.0, Status.OK, Source.MANUAL, "hand-1"),  # typed in: a diamond
        VitalSample(t0 + 600, Parameter.NIBP_DIA, 95.0, Status.OK, Source.MANUAL, "hand-1"),
    ])  # fmt: skip
    rec.stop()
    conn = take_snapshot(db)
    data = load_session(conn)
    conn.close()
    nibp = build_report(data).chart.nibp
    assert nibp.whiskers == ((data.minute(t0), 131.0, 84.0),)
    assert nibp.manual_systolic.values.tolist() == [150.0] and nibp.manual_diastolic.values.tolist() == [95.0]
    result = run_export(db, tmp_path / "out", ExportOptions(formats=("pdf",)))
    assert "NIBP mmHg" in pdf_text(pdf_of(result), 2)


def test_the_report_draws_the_mean_in_the_screens_colour() -> None:
    """The painter keeps its own copy of the screen's NIBP-mean colour (report_pdf never imports ui/)."""
    from kapmonitor.model.parameters import Parameter
    from kapmonitor.report_pdf.chart import MEAN_SCREEN_COLOUR
    from kapmonitor.ui import theme

    assert theme.PARAMETER_COLOURS[Parameter.NIBP_MEAN] == MEAN_SCREEN_COLOUR
