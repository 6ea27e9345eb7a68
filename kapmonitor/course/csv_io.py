"""Import of scores from a follow-up spreadsheet (CSV), all or nothing.

Columns (header row, any order, case-insensitive; comma, semicolon or tab separated, UTF-8 with
or without BOM): pseudonym, date (YYYY-MM-DD), instrument (bdi-ii, phq-9, madrs), total, and
optionally item9, timepoint, by (or who), note. A row without `by` takes the importer's --by.
A row without a time point gets the scheduled one nearest its date (see `infer_timepoint`).

Every row is checked first; any bad row (a total out of range, an unknown instrument or time point,
a future date, a pseudonym with no course, a duplicate) is reported with its row number and
nothing is imported. Pure parsing; the store writes the checked rows in one transaction.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from kapmonitor.course import schedule
from kapmonitor.course.store import CourseInputError, CourseStore, NewScore, check_baseline, check_new_score
from kapmonitor.course.timepoints import UNSCHEDULED

REQUIRED = ("pseudonym", "date", "instrument", "total")
OPTIONAL = ("item9", "timepoint", "by", "who", "note")
MAX_ROWS = 20000
NEAREST_DAYS = 14  # a score this close to a scheduled date is taken as that follow-up


class CsvImportError(CourseInputError):
    """The file or some rows cannot be imported; nothing was."""


def infer_timepoint(items: Iterable[schedule.FollowUp], instrument: str, day: dt.date,
                    taken: set[tuple[str, str]]) -> str:
    """The open scheduled time point of `instrument` nearest `day` (within 14 days), else unscheduled."""
    best: tuple[int, str] | None = None
    for f in items:
        if f.instrument != instrument or f.status == schedule.DONE or (instrument, f.timepoint) in taken:
            continue
        gap = abs((f.due - day).days)
        if gap <= NEAREST_DAYS and (best is None or gap < best[0]):
            best = (gap, f.timepoint)
    return best[1] if best else UNSCHEDULED


def _int(text: str, what: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise CourseInputError(f"{what} {text.strip()!r} is not a whole number") from None


def read_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """(row number, cells) of every non-empty data row. Raises CsvImportError."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise CsvImportError(f"cannot read {path}: no such file") from None
    except OSError as exc:
        raise CsvImportError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise CsvImportError(f"{path} is not UTF-8 text (save the spreadsheet as CSV UTF-8)") from None
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise CsvImportError(f"{path} is empty") from None
    except csv.Error as exc:
        raise CsvImportError(f"{path}: {exc}") from None
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise CsvImportError(f"{path}: the header lacks column(s) {', '.join(missing)} "
                             f"(needs {', '.join(REQUIRED)}; optional {', '.join(OPTIONAL)})")
    unknown = [h for h in header if h and h not in REQUIRED + OPTIONAL]
    if unknown:
        raise CsvImportError(f"{path}: unknown column(s) {', '.join(unknown)}")
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            if len(rows) >= MAX_ROWS:
                raise CsvImportError(f"{path}: more than {MAX_ROWS} rows; split the file")
            if len(cells) > len(header):
                rows.append((reader.line_num, {"__error__": f"{len(cells)} cells for {len(header)} columns"}))
                continue
            rows.append((reader.line_num, {h: c.strip() for h, c in zip(header, cells, strict=False) if h}))
    except csv.Error as exc:
        raise CsvImportError(f"{path} line {reader.line_num}: {exc}") from None
    if not rows:
        raise CsvImportError(f"{path} has no rows to import")
    return rows


def check_rows(store: CourseStore, rows: list[tuple[int, dict[str, str]]], default_by: str | None,
               today: dt.date, settings: schedule.ScheduleSettings, sessions_folder: Path | None) -> list[NewScore]:
    """Every row checked; raises CsvImportError listing the bad rows (nothing is written here)."""
    from kapmonitor.course.summary import build

    errors: list[str] = []
    out: list[NewScore] = []
    plans: dict[str, tuple[list[schedule.FollowUp], set[tuple[str, str]], set[tuple[str, str, int]],
                           dt.date | None]] = {}
    for line, cells in rows:
        try:
            if "__error__" in cells:
                raise CourseInputError(cells["__error__"])
            who = cells.get("by") or cells.get("who") or default_by
            if not who:
                raise CourseInputError("no `by` (who entered it): add the column or give --by")
            item9 = _int(cells["item9"], "item9") if cells.get("item9") else None
            score = check_new_score(cells.get("pseudonym", ""), cells.get("instrument", ""),
                                    _int(cells.get("total", ""), "total"), item9, None, cells.get("date", ""),
                                    cells.get("timepoint") or None, who, cells.get("note"), today, source="import")
            if score.pseudonym not in plans:
                summary = build(store, score.pseudonym, today, settings, sessions_folder)
                existing = {(s.instrument, s.date.isoformat(), s.total) for s in summary.scores}
                first = min(summary.infusion_dates, default=None)
                plans[score.pseudonym] = (list(summary.follow_up), set(), existing, first)
            items, taken, existing, first_infusion = plans[score.pseudonym]
            if not score.timepoint:
                score = replace(score, timepoint=infer_timepoint(items, score.instrument, score.date, taken))
            check_baseline(score, first_infusion)
            key = (score.instrument, score.date.isoformat(), score.total)  # the same score again, any time point
            if key in existing:
                raise CourseInputError(f"already recorded ({score.instrument} {score.total} on {score.date})")
            existing.add(key)
            taken.add((score.instrument, score.timepoint))
            out.append(score)
        except CourseInputError as exc:
            errors.append(f"row {line}: {exc}")
    if errors:
        shown = "; ".join(errors[:10]) + (f"; and {len(errors) - 10} more" if len(errors) > 10 else "")
        raise CsvImportError(f"{len(errors)} bad row(s), nothing imported: {shown}")
    return out
