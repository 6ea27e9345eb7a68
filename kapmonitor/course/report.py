"""The course report's content (Qt-free): what the course view shows and the course PDF prints,
built once from the course summary (kapmonitor.course.summary) and the sessions' figures
(kapmonitor.session.figures), so the screen and the paper cannot disagree.

- the chart: every instrument's totals over the course, the infusions, each instrument's
  response line (50 % of baseline) and remission threshold, with the dates response and
  remission were first reached;
- the tables: scores (with change from baseline), infusions (dose given, infusion time, peak BP,
  alarms by priority, side effects, interventions, take-home playlist) and follow-ups;
- the definitions, from kapmonitor.course.outcomes (the one place they live).

Reading the session records is blocking file I/O (read-only connections). Pure data otherwise;
thread-safe.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from kapmonitor.audio.timeline import track_bands
from kapmonitor.course import outcomes, timepoints
from kapmonitor.course.instruments import INSTRUMENTS
from kapmonitor.course.summary import CourseSummary, score_change
from kapmonitor.export.report.tables import TableContent, TableRow
from kapmonitor.recording.database import SessionDatabaseError
from kapmonitor.recording.reader import RecordReader
from kapmonitor.session import figures
from kapmonitor.session.storage import SessionSummary, summarize

log = logging.getLogger(__name__)

TITLE = "Course report"
SCORES_TITLE = "Scores"
INFUSIONS_TITLE = "Infusions"
FOLLOW_UP_TITLE = "Follow-ups"
PLAYLISTS_TITLE = "Take-home playlists"
INFUSION_COLUMNS = ("Date", "Session", "Dose given", "Infusion", "Peak BP", "Alarms H/M/L", "Side effects",
                    "Interventions")
PLAYLIST_COLUMNS = ("Session", "Date", "#", "Track (as heard)")
SCORE_COLUMNS = ("Date", "Time point", "Instrument", "Total", "Severity", "Change", "Outcome", "Item 9", "By")
FOLLOW_UP_COLUMNS = ("Due", "Instrument", "Time point", "Status")
_INFUSION_W = (0.09, 0.10, 0.14, 0.09, 0.08, 0.12, 0.20, 0.18)
_PLAYLIST_W = (0.12, 0.12, 0.05, 0.71)
_SCORE_W = (0.10, 0.19, 0.10, 0.06, 0.14, 0.08, 0.19, 0.07, 0.07)
_FOLLOW_UP_W = (0.15, 0.15, 0.45, 0.25)
# the chart's colour of each instrument (the view and the PDF use the same)
COLOURS = {"bdi-ii": "#1f5fbf", "phq-9": "#b0008a", "madrs": "#2a8a2a"}


@dataclass(frozen=True, slots=True)
class SessionDetail:
    """What a course shows of one session record beyond its summary figures."""

    side_effects: tuple[str, ...]
    interventions: tuple[str, ...]
    playlist: tuple[str, ...]  # the tracks heard, in order (the take-home playlist)


@dataclass(frozen=True, slots=True)
class Series:
    instrument: str
    name: str
    colour: str
    max_total: int
    points: tuple[tuple[dt.date, int], ...]
    response_line: float | None  # 50 % of baseline: a total at or below it is a response
    remission_line: float  # the remission threshold (inclusive)
    response_reached: dt.date | None
    remission_reached: dt.date | None
    relapse: dt.date | None


@dataclass(frozen=True, slots=True)
class CourseChart:
    start: dt.date
    end: dt.date
    series: tuple[Series, ...]
    infusions: tuple[tuple[dt.date, str], ...]  # (date, 'infusion 2')


@dataclass(frozen=True)
class CourseReport:
    pseudonym: str
    header: str  # 'KAP-0042 · course opened 2026-01-05 · as of 2027-01-20'
    simulated: bool  # any of the course's sessions was simulated
    outcome_lines: tuple[str, ...]  # 'BDI-II: response reached 2026-02-10 (−61 %) …'
    chart: CourseChart
    scores: TableContent
    infusions: TableContent
    follow_up: TableContent
    playlists: TableContent  # one row per track: a playlist is never cut short on paper
    definitions: tuple[str, ...]


def _date(t: float | None) -> str:
    return "—" if t is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(t))


def session_row(s: SessionSummary) -> list[str]:
    """One session's figures as text (date, n of N, dose, infusion time, peak BP, alarms, status):
    every figure from `session.figures`, as in the session PDF."""
    if s.dose is not None:
        dose = figures.dose_given_short(s.dose)
    else:
        dose = "—" if s.dose_mg_per_kg is None else f"{s.dose_mg_per_kg:g} mg/kg"
        if s.total_mg is not None:
            dose += f", {s.total_mg:.0f} mg"
        if s.dose_mg_per_kg is not None:
            dose += ", planned"
    peak = "—" if s.peak_sys is None else f"{s.peak_sys:.0f}/{s.peak_dia:.0f}" if s.peak_dia else f"{s.peak_sys:.0f}/—"
    alarms = figures.alarm_counts_text(s.alarms_by_priority)
    course = figures.course_text(s.course_number, s.course_total)
    status = s.status + (" (simulated)" if s.simulated else "")
    infusion = "—" if s.infusion is None else figures.infusion_time_text(s.infusion)
    return [_date(s.created_at).replace(" ", "\n"), course, dose, infusion, peak, alarms, status]


def session_detail(path: Path) -> SessionDetail:
    """Side effects, interventions and the tracks heard in one record. Raises SessionDatabaseError."""
    try:
        with RecordReader.open(path) as reader:  # the session under way may be among them: not `closed`
            events = [e for e in reader.clinical_events() if not e.deleted]
            music = reader.music_events() if "music_events" in reader.tables() else []
    except sqlite3.Error as exc:
        raise SessionDatabaseError(f"{path.name}: {exc}") from exc
    side = tuple(e.name + (f" ({e.severity})" if e.severity else "") for e in events if e.category == "side_effect")
    done = tuple(" ".join(x for x in (e.drug or e.name, e.dose, e.route) if x) for e in events
                 if e.category == "intervention")
    titles: list[str] = []
    for band in track_bands(music):
        title = str(band[2] or "")
        if title and title not in titles:
            titles.append(title)
    return SessionDetail(side, done, tuple(titles))


def read_sessions(summary: CourseSummary) -> list[tuple[SessionSummary, SessionDetail]]:
    """The course's session records that can be read now, in course order (others are logged)."""
    out = []
    for facts in summary.sessions:
        path = Path(facts.link.path)
        try:
            out.append((summarize(path, detail=True), session_detail(path)))
        except (SessionDatabaseError, OSError) as exc:
            log.warning("course %s: session %s not readable: %s", summary.course.pseudonym, path, exc)
    return out


def _pct(x: float | None) -> str:
    if x is None:
        return "—"
    return "0 %" if round(x) == 0 else f"{x:+.0f} %".replace("-", "−")


def _outcome_cell(summary: CourseSummary, change: float | None, instrument: str, total: int, tp: str) -> str:
    if tp == timepoints.BASELINE:
        return "baseline"
    marks = []
    if outcomes.is_response(change):
        marks.append("response")
    if outcomes.is_remission(INSTRUMENTS[instrument], total):
        marks.append("remission")
    return " + ".join(marks) or "—"


def scores_table(summary: CourseSummary) -> TableContent:
    rows = []
    for s in sorted(summary.scores, key=lambda x: (x.date, x.id)):
        inst = INSTRUMENTS[s.instrument]
        change = score_change(summary, s)
        item9 = "—" if s.item9 is None else str(s.item9)
        cells = (s.date.isoformat(), timepoints.label(s.timepoint), inst.name, str(s.total),
                 inst.severity(s.total), _pct(change), _outcome_cell(summary, change, s.instrument, s.total,
                                                                      s.timepoint), item9, s.who)
        rows.append(TableRow(cells, "high" if s.item9 else None))
    return TableContent(SCORES_TITLE, tuple(zip(SCORE_COLUMNS, _SCORE_W, strict=True)), tuple(rows))


def infusions_table(sessions: list[tuple[SessionSummary, SessionDetail]]) -> TableContent:
    rows = []
    for s, d in sessions:
        date, course, dose, infusion, peak, alarms, status = session_row(s)
        cells = (date.replace("\n", " "), f"{course} · {status}", dose, infusion, peak, alarms,
                 "; ".join(d.side_effects) or "none", "; ".join(d.interventions) or "none")
        rows.append(TableRow(cells, None))
    return TableContent(INFUSIONS_TITLE, tuple(zip(INFUSION_COLUMNS, _INFUSION_W, strict=True)), tuple(rows))


def playlists_table(sessions: list[tuple[SessionSummary, SessionDetail]]) -> TableContent:
    rows = []
    for s, d in sessions:
        course = figures.course_text(s.course_number, s.course_total)
        day = _date(s.created_at)[:10]
        tracks = d.playlist or ("no music recorded",)
        rows += [TableRow((course, day, str(n) if d.playlist else "", title), None)
                 for n, title in enumerate(tracks, start=1)]
    return TableContent(PLAYLISTS_TITLE, tuple(zip(PLAYLIST_COLUMNS, _PLAYLIST_W, strict=True)), tuple(rows))


def follow_up_table(summary: CourseSummary) -> TableContent:
    rows = []
    for f in summary.follow_up:
        status = f.status + (f" {f.done_on.isoformat()}" if f.done_on else "") + (
            " (passed)" if f.superseded else "")
        rows.append(TableRow((f.due.isoformat(), INSTRUMENTS[f.instrument].name, timepoints.label(f.timepoint),
                              status), "high" if f.status == "overdue" and not f.superseded else None))
    return TableContent(FOLLOW_UP_TITLE, tuple(zip(FOLLOW_UP_COLUMNS, _FOLLOW_UP_W, strict=True)), tuple(rows))


def outcome_lines(summary: CourseSummary) -> tuple[str, ...]:
    lines = []
    for key, a in summary.assessments.items():
        inst = INSTRUMENTS[key]
        if a.baseline is None:
            lines.append(f"{inst.name}: no baseline score, so no response or remission can be judged")
            continue
        parts = [f"{inst.name}: baseline {a.baseline.total} ({a.baseline.date.isoformat()})"]
        if a.latest is not None:
            parts.append(f"latest {a.latest.total} ({a.latest.date.isoformat()}, {_pct(a.latest_change_pct)})")
        parts.append(f"response first {a.response_reached.isoformat()}" if a.response_reached else "no response")
        if a.relapse:
            parts.append(f"RELAPSE {a.relapse.isoformat()}")
        parts.append(f"remission first {a.remission_reached.isoformat()}" if a.remission_reached
                     else "no remission")
        if a.remission_lost:
            parts.append(f"remission lost {a.remission_lost.isoformat()}")
        parts.append("response now" if a.response_current else "no response now")
        lines.append(" · ".join(parts))
    prompts = [p for p in summary.prompts if not p.acknowledged]
    if prompts:
        lines.append(f"SAFETY: {len(prompts)} item-9 answer(s) above 0 not yet acknowledged by a clinician")
    return tuple(lines)


def definitions() -> tuple[str, ...]:
    return tuple(f"{k.replace('_', ' ')}: {v}" for k, v in outcomes.DEFINITIONS.items())


def chart(summary: CourseSummary) -> CourseChart:
    series = []
    for key, a in summary.assessments.items():
        inst = INSTRUMENTS[key]
        pts = tuple((s.date, s.total) for s in sorted(summary.scores, key=lambda x: (x.date, x.id))
                    if s.instrument == key)
        base = a.baseline.total if a.baseline is not None and a.baseline.total > 0 else None
        line = None if base is None else base * (1 - outcomes.RESPONSE_REDUCTION_PCT / 100)
        series.append(Series(key, inst.name, COLOURS.get(key, "#444444"), inst.max_total, pts, line,
                             float(inst.remission_max), a.response_reached, a.remission_reached, a.relapse))
    infusions = tuple((d, f"infusion {n}") for n, d in enumerate(summary.infusion_dates, start=1))
    days = [d for s in series for d, _ in s.points] + [d for d, _ in infusions] + [summary.course.opened]
    days += [f.due for f in summary.follow_up]
    start, end = min(days), max(days)
    if end <= start:
        end = start + dt.timedelta(days=1)
    return CourseChart(start, end, tuple(series), infusions)


def build_course_report(summary: CourseSummary,
                        sessions: list[tuple[SessionSummary, SessionDetail]] | None = None) -> CourseReport:
    """The whole report; `sessions` as `read_sessions(summary)` gives them (read here when None)."""
    sessions = read_sessions(summary) if sessions is None else sessions
    c = summary.course
    header = f"{c.pseudonym} · course opened {c.opened.isoformat()} · as of {summary.today.isoformat()}"
    return CourseReport(
        pseudonym=c.pseudonym,
        header=header,
        simulated=any(s.simulated for s, _ in sessions),
        outcome_lines=outcome_lines(summary),
        chart=chart(summary),
        scores=scores_table(summary),
        infusions=infusions_table(sessions),
        follow_up=follow_up_table(summary),
        playlists=playlists_table(sessions),
        definitions=definitions(),
    )
