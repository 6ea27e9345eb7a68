"""The record tables at the end of the report: alarms, events, scales, infusion, limit changes,
the audit trail and music, each row already written as the texts of its cells.

No Qt; the painter wraps, paginates and draws them. Thread-safe: pure functions, frozen results.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kapmonitor.export.data import SessionData
from kapmonitor.export.report.text import (
    PRIORITY_MARK,
    ReportClock,
    Tone,
    audit_change,
    audit_target,
    fmt_num,
    priority_tone,
    scale_label,
)

Cell = Callable[[dict[str, Any]], str]


@dataclass(frozen=True)
class TableRow:
    cells: tuple[str, ...]
    tone: Tone | None  # a raised alarm's priority: the row is drawn bold in that colour


@dataclass(frozen=True)
class TableContent:
    title: str
    columns: tuple[tuple[str, float], ...]  # (heading, share of the page width)
    rows: tuple[TableRow, ...]


def _priority_cell(r: dict[str, Any]) -> str:
    if r.get("kind") == "system":  # audio pause, baseline, limit change: no alarm priority
        return "—"
    return f"{PRIORITY_MARK.get(str(r.get('priority')).lower(), '')} {r.get('priority')}"


def _spaced(key: str) -> Cell:
    return lambda r: str(r.get(key) or "").replace("_", " ")


def _drug_dose_route(r: dict[str, Any]) -> str:
    return " ".join(str(r[k]) for k in ("drug", "dose", "route") if r.get(k))


def _scale(r: dict[str, Any]) -> str:
    return scale_label(r.get("scale"))


def _alarm_tone(r: dict[str, Any]) -> Tone | None:
    return priority_tone(r.get("priority")) if r.get("event") == "raised" else None


# A column: (heading, share of the page width, cell). A cell is a row key (its value as text), a
# function of the row, or TIME / MINUTE (the row's clock time, its session minute).
TIME, MINUTE = "@time", "@minute"
Column = tuple[str, float, "str | Cell"]
ALARM_COLUMNS: tuple[Column, ...] = (
    ("time", 0.085, TIME), ("min", 0.06, MINUTE), ("priority", 0.10, _priority_cell), ("alarm", 0.15, "alarm_id"),
    ("event", 0.13, _spaced("event")), ("value", 0.055, "value"), ("limit", 0.055, "limit_value"),
    ("message", 0.305, "message"), ("who", 0.06, "who"),
)  # fmt: skip
EVENT_COLUMNS: tuple[Column, ...] = (
    ("#", 0.04, "n"), ("time", 0.09, TIME), ("min", 0.07, MINUTE), ("category", 0.12, _spaced("category")),
    ("name", 0.14, "name"), ("severity", 0.09, "severity"), ("drug / dose / route", 0.17, _drug_dose_route),
    ("note", 0.22, "note"), ("who", 0.06, "who"),
)  # fmt: skip
SCALE_COLUMNS: tuple[Column, ...] = (
    ("time", 0.12, TIME), ("min", 0.08, MINUTE), ("scale", 0.15, _scale), ("score", 0.10, "score"),
    ("detail", 0.45, "detail"), ("who", 0.10, "who"),
)  # fmt: skip
INFUSION_COLUMNS: tuple[Column, ...] = (
    ("time", 0.12, TIME), ("min", 0.08, MINUTE), ("action", 0.15, "action"), ("reason", 0.55, "reason"),
    ("who", 0.10, "who"),
)  # fmt: skip
LIMIT_COLUMNS: tuple[Column, ...] = (
    ("time", 0.10, TIME), ("min", 0.06, MINUTE), ("parameter", 0.10, "parameter"), ("limit", 0.16, "field"),
    ("old", 0.07, "old_value"), ("new", 0.07, "new_value"), ("reason", 0.36, "reason"), ("who", 0.08, "who"),
)  # fmt: skip
AUDIT_COLUMNS: tuple[Column, ...] = (
    ("time", 0.085, TIME), ("min", 0.06, MINUTE), ("who", 0.085, "who"), ("action", 0.125, _spaced("action")),
    ("record", 0.12, audit_target), ("change", 0.325, audit_change), ("reason", 0.20, "reason"),
)  # fmt: skip
MUSIC_COLUMNS: tuple[Column, ...] = (
    ("time", 0.10, TIME), ("min", 0.06, MINUTE), ("action", 0.10, "action"), ("phase", 0.12, "phase"),
    ("track", 0.30, "track"), ("artist", 0.22, "artist"), ("volume dB", 0.10, "volume_db"),
)  # fmt: skip


def _cell(data: SessionData, clock: ReportClock, cell: str | Cell) -> Cell:
    if cell == TIME:
        return lambda r: clock.clock(float(r["t"]), True)
    if cell == MINUTE:
        return lambda r: f"{data.minute(float(r['t'])):+.1f}"
    if callable(cell):
        return cell
    key = cell
    return lambda r: "" if r.get(key) is None else fmt_num(r[key]) if isinstance(r[key], float) else str(r[key])


def _table(
    data: SessionData,
    clock: ReportClock,
    title: str,
    columns: tuple[Column, ...],
    rows: list[dict[str, Any]],
    tone: Callable[[dict[str, Any]], Tone | None] | None = None,
) -> TableContent:
    cells = [_cell(data, clock, c) for _, _, c in columns]
    return TableContent(
        title,
        tuple((name, width) for name, width, _ in columns),
        tuple(TableRow(tuple(get(r) for get in cells), tone(r) if tone else None) for r in rows),
    )


def build_tables(data: SessionData, clock: ReportClock) -> tuple[TableContent, ...]:
    events = [dict(e, n=f"E{i}") for i, e in enumerate(data.events, start=1)]
    audit_title = "Edit history (audit trail: who changed what, when and why)"
    return (
        _table(data, clock, "Alarm log (every state change)", ALARM_COLUMNS, data.alarms, _alarm_tone),
        _table(data, clock, "Events and interventions", EVENT_COLUMNS, events),
        _table(data, clock, "Scales", SCALE_COLUMNS, data.scales),
        _table(data, clock, "Infusion record", INFUSION_COLUMNS, data.infusion),
        _table(data, clock, "Alarm limit changes", LIMIT_COLUMNS, data.limit_changes),
        _table(data, clock, audit_title, AUDIT_COLUMNS, data.audit),
        _table(data, clock, "Music", MUSIC_COLUMNS, data.music),
    )
