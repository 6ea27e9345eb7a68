"""The report's chart stays drawable whatever the record holds: one absurd value (a monitor's
65535-style sentinel, a corrupted row) or a sample stamped days away (a monitor clock set wrong)
must not turn the value grid or the time axis into millions of lines (the export used to hang)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from export_fixtures import T0, build_session

from kapmonitor.alarms.profile import default_profile
from kapmonitor.export import ExportOptions, run_export
from kapmonitor.export.data import load_session
from kapmonitor.export.report.chart import MAX_GRID_LINES, build_chart
from kapmonitor.export.report.text import ReportClock
from kapmonitor.export.snapshot import take_snapshot


def _odd_record(tmp_path: Path) -> Path:
    db = tmp_path / "odd.db"
    build_session(db, hours=0.2)
    conn = sqlite3.connect(db)
    conn.executemany(
        "INSERT INTO samples (t, parameter, value, status, source) VALUES (?, ?, ?, 'ok', 'monitor')",
        [(T0 + 30.0, "hr", 123456789.0), (T0 + 31.0, "nibp_sys", 65535.0), (T0 - 40 * 86400.0, "spo2", 97.0)],
    )
    conn.commit()
    conn.close()
    return db


def test_an_absurd_value_or_time_keeps_the_grid_and_axis_short(tmp_path: Path) -> None:
    conn = take_snapshot(_odd_record(tmp_path))
    data = load_session(conn)
    conn.close()
    chart = build_chart(data, default_profile(), ReportClock(data))
    for panel in (chart.bp, chart.hr, chart.spo2):
        assert panel.lo <= panel.hi
        assert (panel.hi - panel.lo) / panel.step <= MAX_GRID_LINES, panel
    assert chart.hr.hi >= 123456789.0  # the value is still inside the panel, never clipped away
    assert 2 <= len(chart.ticks) <= 19
    assert chart.ticks[0][0] <= chart.m0 and chart.ticks[-1][0] >= chart.m1 - (chart.ticks[1][0] - chart.ticks[0][0])


@pytest.mark.usefixtures("qapp")
def test_the_report_of_such_a_record_is_written(tmp_path: Path) -> None:
    result = run_export(_odd_record(tmp_path), tmp_path / "out", ExportOptions(formats=("pdf",)))
    pdf = next(p for p in result.files if p.suffix == ".pdf")
    assert pdf.stat().st_size > 10_000
