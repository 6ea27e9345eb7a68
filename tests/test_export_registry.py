"""Export formats come from one registry (CLI, dialog, runner, manifest); the report's content is
built without Qt and painted by kapmonitor/report_pdf; no core module names a ui module, even as a
string; the report's modules stay small enough to change."""

from __future__ import annotations

import ast
import json
import sqlite3
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from export_fixtures import Built, build_session

from kapmonitor.export import ExportError, ExportOptions, parse_formats, run_export
from kapmonitor.export import formats as registry
from kapmonitor.export.formats import ExportFormat, ExportJob, available_formats, export_format

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "kapmonitor"


def write_vitals_count(job: ExportJob) -> list[str]:
    """A format registered by this test: one text file with the number of vital samples."""
    name = f"{job.base}_count.txt"
    job.staging.write_text(name, f"{len(job.data.samples)} samples, {len(job.vitals().rows)} vitals rows\n")
    return [name]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build_session(tmp_path_factory.mktemp("db") / "registry.db", hours=1.0)


@pytest.fixture
def count_format(monkeypatch: pytest.MonkeyPatch) -> ExportFormat:
    fmt = ExportFormat("count", "Sample count (text)", f"{__name__}:write_vitals_count", 0.5, "counting")
    monkeypatch.setitem(registry._FORMATS, "count", fmt)
    return fmt


def test_the_four_formats_are_registered_in_order() -> None:
    assert available_formats() == ("csv", "json", "pdf", "fhir")
    assert parse_formats("all") == available_formats()
    assert parse_formats("fhir, CSV") == ("csv", "fhir")
    assert export_format("pdf").writer.startswith("kapmonitor.report_pdf.")
    with pytest.raises(ExportError, match="unknown export format 'xml'"):
        export_format("xml")


def test_a_registered_format_is_offered_and_written_everywhere(
    built: Built,
    tmp_path: Path,
    count_format: ExportFormat,
    qtbot,  # type: ignore[no-untyped-def]
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert "count" in parse_formats("all")
    result = run_export(built.path, tmp_path / "out", ExportOptions(formats=("json", "count")))
    assert result.manifest is not None
    manifest = json.loads(result.manifest.read_text())
    assert manifest["formats"] == ["json", "count"]
    assert [e["file"] for e in manifest["files"]] == ["registry.json", "registry_count.txt"]
    with sqlite3.connect(f"file:{built.path}?mode=ro", uri=True) as conn:
        n = conn.execute("SELECT count(*) FROM samples").fetchone()[0]
    assert (tmp_path / "out" / "registry_count.txt").read_text() == f"{n} samples, {n} vitals rows\n"

    from kapmonitor.cli import build_parser
    from kapmonitor.ui.export.dialog import ExportDialog

    dialog = ExportDialog(built.path, out_dir=tmp_path / "dialog")
    qtbot.addWidget(dialog)
    assert list(dialog.format_boxes) == ["csv", "json", "pdf", "fhir", "count"]
    assert dialog.format_boxes["count"].text() == "Sample count (text)"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["export", "--help"])
    assert "csv, json, pdf, fhir, count, or all" in " ".join(capsys.readouterr().out.split())


def test_a_format_that_cannot_load_is_one_line_and_writes_nothing(
    built: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = replace(export_format("pdf"), writer="kapmonitor.no_such_painter:write_pdf_report")
    monkeypatch.setitem(registry._FORMATS, "pdf", broken)
    out = tmp_path / "out"
    with pytest.raises(ExportError, match=r"^the PDF report needs PySide6, which cannot be loaded: ") as info:
        run_export(built.path, out, ExportOptions(formats=("csv", "pdf")))
    assert "\n" not in str(info.value)
    assert not out.exists()


def test_the_report_content_is_built_without_qt(built: Built) -> None:
    """The figures on the report are the ones of session/figures, and building them loads no Qt."""
    code = f"""
import sys
from pathlib import Path
from kapmonitor.export.data import load_session
from kapmonitor.export.report import build_report
from kapmonitor.export.snapshot import take_snapshot
from kapmonitor.session import figures

conn = take_snapshot(Path({str(built.path)!r}))
data = load_session(conn)
conn.close()
report = build_report(data)
counts = figures.alarm_counts(data.alarms)
assert [c for _, _, c in report.summary.alarms.counts] == [counts["high"], counts["medium"], counts["low"]]
assert dict(report.summary.drug)["Time infusing"].startswith(figures.infusion_time_text(data.infusion_figures()))
assert len(report.chart.events) == len(data.events) and report.chart.infusion is not None
assert [len(t.rows) for t in report.tables][:3] == [len(data.alarms), len(data.events), len(data.scales)]
assert report.summary.vitals[0].label == "NIBP systolic" and "mmHg" in report.summary.vitals[0].peak
bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph') or m.startswith('kapmonitor.ui')
             or m.startswith('kapmonitor.report_pdf'))
print(bad)
sys.exit(1 if bad else 0)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _strings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def test_no_core_module_names_a_ui_module_even_as_a_string() -> None:
    offenders = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] == "ui":
            continue
        named = [s for s in _strings(path) if s.startswith("kapmonitor.ui")]
        if named:
            offenders[str(rel)] = named
    assert offenders == {}


def test_the_report_modules_stay_small() -> None:
    """No report module over 600 lines, no function over 80 (the old painter had one of 196)."""
    too_long = {}
    for path in PACKAGE.rglob("*.py"):
        if "report" not in str(path.relative_to(PACKAGE)):
            continue
        lines = path.read_text(encoding="utf-8").count("\n")
        if lines > 600:
            too_long[str(path.relative_to(PACKAGE))] = lines
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and node.end_lineno and node.end_lineno - node.lineno + 1 > 80:
                too_long[f"{path.relative_to(PACKAGE)}:{node.name}"] = node.end_lineno - node.lineno + 1
    assert too_long == {}


def test_the_painter_draws_only_the_reports_content() -> None:
    """Past its entry point (writer.py), kapmonitor/report_pdf reads nothing but content objects (the
    session report's in kapmonitor/export/report, the course report's in kapmonitor/course/report.py) and the
    program's version: no record, no alarm profile, no ui/ (a layer that only draws)."""
    offenders = {}
    for path in (PACKAGE / "report_pdf").glob("*.py"):
        if path.name in ("writer.py", "__init__.py"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
        modules += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        outside = [
            m for m in modules
            if m.startswith("kapmonitor") and m != "kapmonitor"
            and not m.startswith(("kapmonitor.export.report", "kapmonitor.course.report", "kapmonitor.report_pdf"))
        ]  # fmt: skip
        if outside:
            offenders[path.name] = outside
    assert offenders == {}
    assert {p.name for p in (PACKAGE / "report_pdf").glob("*.py")} >= {"chart.py", "page.py", "summary.py", "tables.py"}
