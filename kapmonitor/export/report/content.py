"""The session report's content, Qt-free: every text, row, series and band it shows.

`build_report(data)` turns a `SessionData` into a `ReportContent`; a painter (today the PDF one in
`kapmonitor.report_pdf`) only lays it out. Page 1 is the summary a clinician reads in 30 seconds,
page 2 the trend chart against the default alarm profile's limits, then the record tables. Every
page carries the pseudonym, the course and date, and for simulated data a "SIMULATED DATA" banner.

Thread-safety: pure; a `ReportContent` is never modified after it is built.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from kapmonitor import __version__
from kapmonitor.alarms.profile import AlarmProfile, default_profile
from kapmonitor.export.data import SessionData
from kapmonitor.export.report.chart import ChartContent, build_chart
from kapmonitor.export.report.summary import SummaryContent, build_summary
from kapmonitor.export.report.tables import TableContent, build_tables
from kapmonitor.export.report.text import ReportClock

log = logging.getLogger(__name__)

SUMMARY_TITLE = "Ketamine infusion — session report"
CHART_TITLE = "Trend chart"
TABLES_TITLE = "Record tables"
SIMULATED_BANNER = "SIMULATED DATA — not a patient record"
SIMULATED_WATERMARK = "SIMULATED DATA"
DEIDENTIFIED_BANNER = "DE-IDENTIFIED EXPORT: pseudonym hashed, staff and free text removed, dates shifted (day 0)"


@dataclass(frozen=True)
class Chrome:
    """What every page carries besides its title: header, banners, footer."""

    header: str  # 'KAP-0042 · session 2 of 3 · 2026-03-14'
    footer: str
    simulated: bool
    deidentified: bool
    document_title: str  # the PDF's metadata title


@dataclass(frozen=True)
class ReportContent:
    chrome: Chrome
    summary: SummaryContent
    chart: ChartContent
    tables: tuple[TableContent, ...]


def build_report(data: SessionData, profile: AlarmProfile | None = None) -> ReportContent:
    """The report of `data`, limits from `profile` (the default alarm profile when None)."""
    profile = profile or default_profile()
    clock = ReportClock(data)
    return ReportContent(
        chrome=_chrome(data, clock),
        summary=build_summary(data, profile, clock),
        chart=build_chart(data, profile, clock),
        tables=build_tables(data, clock),
    )


def _chrome(data: SessionData, clock: ReportClock) -> Chrome:
    pseudonym = str(data.fields.get("pseudonym") or "no pseudonym")
    date = "day 0" if data.deidentified else clock.date_text()
    return Chrome(
        header=f"{pseudonym}  ·  {clock.session_text()}  ·  {date}",
        footer=f"kapmonitor {__version__} session report · secondary record: the monitor's own alarms stay on · "
        f"{clock.offset_text()}",
        simulated=data.simulated,
        deidentified=data.deidentified,
        document_title=f"KAP session report {data.fields.get('pseudonym') or 'session'}",
    )
