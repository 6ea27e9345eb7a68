"""The session report as a PDF, drawn with Qt (QPdfWriter + QPainter; no external programs).

Page 1 is the summary a clinician reads in 30 seconds: who (pseudonym, session n of N, staff), what
(drug, dose, rate), when (infusion start, stop, pauses), how it went (baseline and peak vitals,
alarm counts by priority, events, scales) and the discharge. Page 2 is the trend chart (NIBP
sys/dia/mean, HR, SpO2 against the limits of the default alarm profile, the infusion window and
pauses, event and alarm markers, music phases). Then tables of alarms, events, scales and the
infusion record. Every page carries the pseudonym, page n of N, and, for simulated data, a
"SIMULATED DATA" banner.

Layout is in millimetres on the page's paint rectangle, so A4 and Letter both fit.

Thread-safety: `write_report` may run on a worker thread (QPainter on a QPdfWriter is allowed off
the GUI thread) once a QGuiApplication exists; from the command line it creates an offscreen one,
which must then happen on the main thread.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QMarginsF, QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QPageLayout,
    QPageSize,
    QPainter,
    QPainterPath,
    QPdfWriter,
    QPen,
    QPolygonF,
)
from PySide6.QtWidgets import QApplication

from kapmonitor import __version__
from kapmonitor.alarms.profile import AlarmProfile, Priority, default_profile
from kapmonitor.audio.timeline import track_bands
from kapmonitor.export.data import SessionData, Vitals
from kapmonitor.model.parameters import Parameter
from kapmonitor.session import figures
from kapmonitor.ui import theme

log = logging.getLogger(__name__)

DPI = 300
PX_PER_MM = DPI / 25.4
FONT_FAMILY = "DejaVu Sans"
PAPER_SIZES = {"a4": QPageSize.PageSizeId.A4, "letter": QPageSize.PageSizeId.Letter}

INK = QColor("#111111")
GREY = QColor("#666666")
LIGHT = QColor("#e6e6e6")
PRIORITY_COLOURS = {"high": QColor("#d01010"), "medium": QColor("#c89400"), "low": QColor("#0096b4")}
PRIORITY_MARK = {"high": "***", "medium": "**", "low": "*"}
SYS_COLOUR = QColor("#b01c1c")
DIA_COLOUR = QColor("#1c4fb0")
# the screen's colour for the NIBP mean (theme), darkened to read on white paper; same hue
MEAN_COLOUR = QColor(theme.PARAMETER_COLOURS[Parameter.NIBP_MEAN]).darker(135)
HR_COLOUR = QColor("#138a36")
SPO2_COLOUR = QColor("#0b6f8c")
INFUSION_FILL = QColor(70, 130, 220, 40)
PAUSE_FILL = QColor(120, 120, 120, 70)
MUSIC_COLOURS = [QColor("#cfe3f7"), QColor("#d9f0d3"), QColor("#fbe3c8"), QColor("#e8dcf2"), QColor("#f2f2c4")]

_app: QApplication | None = None
_app_lock = threading.Lock()


def _ensure_app() -> None:
    """Fonts need a Qt application; the command line has none, so make an offscreen one.

    A QApplication (not just a QGuiApplication) so that widgets created later in the same process
    (tests, or the GUI) find the kind of application they need.
    """
    global _app
    with _app_lock:
        if QApplication.instance() is not None:
            return
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("the PDF report needs a Qt application created on the main thread")
        if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        _app = QApplication([])


def _mm(x: float) -> float:
    return x * PX_PER_MM


def _fmt_num(v: Any, digits: int = 1) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.{digits}f}".rstrip("0").rstrip(".") if not v.is_integer() else f"{v:.0f}"
    return str(v)


class _Page:
    """Drawing helpers in millimetres on one painter."""

    def __init__(self, painter: QPainter, width_mm: float, height_mm: float) -> None:
        self.p = painter
        self.w = width_mm
        self.h = height_mm

    def font(self, size_pt: float, bold: bool = False, mono: bool = False) -> QFont:
        f = QFont("DejaVu Sans Mono" if mono else FONT_FAMILY)
        f.setPointSizeF(size_pt)
        f.setBold(bold)
        self.p.setFont(f)
        return f

    def text(
        self,
        x: float,
        y: float,
        w: float,
        h: float,
        text: str,
        size: float = 9.0,
        bold: bool = False,
        colour: QColor = INK,
        align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft,
        elide: bool = True,
    ) -> None:
        f = self.font(size, bold)
        self.p.setPen(QPen(colour))
        rect = QRectF(_mm(x), _mm(y), _mm(w), _mm(h))
        if elide:
            text = QFontMetricsF(f, self.p.device()).elidedText(text, Qt.TextElideMode.ElideRight, rect.width())
        self.p.drawText(rect, int(align | Qt.AlignmentFlag.AlignVCenter), text)

    def wrap(self, x: float, y: float, w: float, text: str, size: float = 9.0, colour: QColor = INK) -> float:
        """Word-wrapped text; returns its height in mm."""
        f = self.font(size)
        self.p.setPen(QPen(colour))
        fm = QFontMetricsF(f, self.p.device())
        flags = int(Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextWordWrap)
        bound = fm.boundingRect(QRectF(0, 0, _mm(w), 1e6), flags, text)
        self.p.drawText(QRectF(_mm(x), _mm(y), _mm(w), bound.height() + 2), flags, text)
        return bound.height() / PX_PER_MM

    def line(
        self,
        x1: float,
        y1: float,
        x2: float,
        y2: float,
        colour: QColor = INK,
        width: float = 0.25,
        style: Qt.PenStyle = Qt.PenStyle.SolidLine,
    ) -> None:
        pen = QPen(colour, _mm(width))
        pen.setStyle(style)
        self.p.setPen(pen)
        self.p.drawLine(QPointF(_mm(x1), _mm(y1)), QPointF(_mm(x2), _mm(y2)))

    def rect(
        self,
        x: float,
        y: float,
        w: float,
        h: float,
        fill: QColor | None = None,
        border: QColor | None = None,
        width: float = 0.25,
    ) -> None:
        self.p.setPen(QPen(border, _mm(width)) if border is not None else Qt.PenStyle.NoPen)
        self.p.setBrush(QBrush(fill) if fill is not None else Qt.BrushStyle.NoBrush)
        self.p.drawRect(QRectF(_mm(x), _mm(y), _mm(w), _mm(h)))
        self.p.setBrush(Qt.BrushStyle.NoBrush)


@dataclass
class _Ctx:
    data: SessionData
    profile: AlarmProfile
    paper: str
    total_pages: int = 0

    def clock(self, t: float | None, seconds: bool = False) -> str:
        if t is None:
            return "—"
        local = self.data.local(t)
        first = self.data.local(self.data.first_time if self.data.first_time is not None else t).date()
        text = local.strftime("%H:%M:%S" if seconds else "%H:%M")
        days = (local.date() - first).days
        return text + (f" (+{days}d)" if days else "")

    def minute(self, t: float | None) -> str:
        if t is None:
            return ""
        m = self.data.minute(t)
        return f"{m:+.0f} min" if abs(m) >= 0.5 else "0 min"

    def date_text(self) -> str:
        if self.data.deidentified:
            return "day 0 (de-identified)"
        if self.data.first_time is None:
            return "—"
        return self.data.local(self.data.first_time).strftime("%Y-%m-%d")

    def session_text(self) -> str:
        f = self.data.fields
        return "session " + figures.course_text(f.get("course_number"), f.get("course_total"))

    def offset_text(self) -> str:
        if self.data.deidentified:
            return "day 0, local clock"
        off = self.data.utc_offset_minutes
        sign = "+" if off >= 0 else "-"
        return f"times UTC{sign}{abs(off) // 60:02d}:{abs(off) % 60:02d}"


# -- chrome shared by every page -----------------------------------------------------------------


def _chrome(pg: _Page, ctx: _Ctx, page_no: int, title: str) -> float:
    """Header, simulated banner and footer; returns the y (mm) where content starts."""
    d = ctx.data
    pseudonym = str(d.fields.get("pseudonym") or "no pseudonym")
    date = "day 0" if d.deidentified else ctx.date_text()
    pg.text(0, 0, pg.w * 0.56, 7, title, 13, bold=True)
    pg.text(
        pg.w * 0.5,
        0,
        pg.w * 0.5,
        7,
        f"{pseudonym}  ·  {ctx.session_text()}  ·  {date}",
        8.5,
        align=Qt.AlignmentFlag.AlignRight,
    )
    pg.line(0, 8, pg.w, 8, INK, 0.4)
    y = 10.0
    if d.simulated:
        pg.rect(0, y, pg.w, 9, fill=QColor("#d01010"))
        pg.text(
            0,
            y,
            pg.w,
            9,
            "SIMULATED DATA — not a patient record",
            14,
            bold=True,
            colour=QColor("white"),
            align=Qt.AlignmentFlag.AlignHCenter,
        )
        y += 11
    if d.deidentified:
        pg.rect(0, y, pg.w, 6, fill=QColor("#eeeeee"), border=GREY)
        pg.text(
            2,
            y,
            pg.w - 4,
            6,
            "DE-IDENTIFIED EXPORT: pseudonym hashed, staff and free text removed, dates shifted (day 0)",
            8.5,
            bold=True,
        )
        y += 8
    pg.line(0, pg.h - 7, pg.w, pg.h - 7, GREY, 0.2)
    pg.text(
        0,
        pg.h - 6,
        pg.w * 0.75,
        5,
        f"kapmonitor {__version__} session report · secondary record: the monitor's own alarms stay on · "
        f"{ctx.offset_text()}",
        7,
        colour=GREY,
    )
    pg.text(
        pg.w * 0.7,
        pg.h - 6,
        pg.w * 0.3,
        5,
        f"page {page_no} of {ctx.total_pages}",
        7,
        colour=GREY,
        align=Qt.AlignmentFlag.AlignRight,
    )
    return y


def _watermark(pg: _Page) -> None:
    pg.p.save()
    pg.p.translate(_mm(pg.w / 2), _mm(pg.h / 2))
    pg.p.rotate(-35)
    f = QFont(FONT_FAMILY)
    f.setPointSizeF(54)
    f.setBold(True)
    pg.p.setFont(f)
    pg.p.setPen(QPen(QColor(208, 16, 16, 40)))
    pg.p.drawText(QRectF(_mm(-150), _mm(-20), _mm(300), _mm(40)), int(Qt.AlignmentFlag.AlignCenter), "SIMULATED DATA")
    pg.p.restore()


# -- page 1 -----------------------------------------------------------------------------------------


def _section(pg: _Page, y: float, title: str) -> float:
    pg.rect(0, y, pg.w, 6, fill=LIGHT)
    pg.text(1.5, y, pg.w - 3, 6, title, 10, bold=True)
    return y + 7.5


def _pairs(pg: _Page, y: float, pairs: Sequence[tuple[str, str]], columns: int = 2, label_w: float = 30.0) -> float:
    col_w = pg.w / columns
    row_h = 5.2
    for i, (label, value) in enumerate(pairs):
        col, row = i % columns, i // columns
        x = col * col_w
        yy = y + row * row_h
        pg.text(x + 1.5, yy, label_w, row_h, label, 8.5, colour=GREY)
        pg.text(x + 1.5 + label_w, yy, col_w - label_w - 3, row_h, value, 9.5, bold=True)
    rows = (len(pairs) + columns - 1) // columns
    return y + rows * row_h + 2


def _vital_cell(ctx: _Ctx, v: Vitals, unit: str) -> str:
    if v.value is None:
        return "—"
    return f"{_fmt_num(round(v.value, 1))} {unit}  at {ctx.clock(v.t)} ({ctx.minute(v.t)})"


def _summary_page(pg: _Page, ctx: _Ctx, y: float) -> None:
    d = ctx.data
    f = d.fields
    staff = " / ".join(str(f.get(k) or "—") for k in ("nurse", "therapist", "prescriber"))
    y = _section(pg, y, "Patient and session")
    y = _pairs(
        pg,
        y,
        [
            ("Pseudonym", str(f.get("pseudonym") or "—")),
            ("Date", ctx.date_text()),
            ("Course", ctx.session_text()),
            ("Weight", f"{_fmt_num(f.get('weight_kg'))} kg" if f.get("weight_kg") is not None else "—"),
            ("Nurse / ther. / presc.", staff),
            ("Consent / escort", f"{_yes(f.get('consent'))} / {_yes(f.get('escort'))}"),
        ],
        label_w=36,
    )

    y = _section(pg, y, "Drug and infusion")
    dose = "—"
    if f.get("dose_mg_per_kg") is not None:
        dose = f"{_fmt_num(f.get('dose_mg_per_kg'), 2)} mg/kg"
        if f.get("total_mg") is not None:
            dose += f" = {_fmt_num(f.get('total_mg'), 2)} mg"
    conc = f"{_fmt_num(f.get('concentration_mg_per_ml'), 2)} mg/mL" if f.get("concentration_mg_per_ml") else "—"
    if f.get("volume_ml") is not None:
        conc += f", {_fmt_num(f.get('volume_ml'), 2)} mL"
    rate = f"{_fmt_num(f.get('rate_ml_per_h'), 2)} mL/h" if f.get("rate_ml_per_h") is not None else "—"
    if f.get("duration_min") is not None:
        rate += f" over {_fmt_num(f.get('duration_min'))} min"
    infusion = d.infusion_figures()
    given = d.dose_given()
    y = _pairs(
        pg,
        y,
        [
            ("Drug", d.drug_label() or "—"),
            ("Dose planned", dose + ("  (confirmed)" if f.get("dose_confirmed") else "")),
            ("Lot", str(f.get("lot") or "—")),
            ("Concentration", conc),
            ("Pump rate", rate),
            ("Pump read-back", f"{_fmt_num(f['pump_rate_ml_per_h'], 2)} mL/h" if f.get("pump_rate_ml_per_h") else "—"),
            ("Pre-start check", _prestart_text(f)),
            (
                "Volume infused",
                "—"
                if given is None
                else f"{given.volume_ml:.2f} mL " + ("(pump read-back)" if given.confirmed else "(computed)"),
            ),
            (
                "Infusion start",
                f"{ctx.clock(d.infusion_start, True)}" if d.infusion_start is not None else "not started",
            ),
            (
                "Infusion stop",
                f"{ctx.clock(d.infusion_stop, True)}  ({ctx.minute(d.infusion_stop)})"
                if d.infusion_stop is not None
                else "not stopped"
                if d.infusion_start is not None
                else "—",
            ),
            ("Time infusing", figures.infusion_time_text(infusion) + (" (pauses excluded)" if infusion.pauses else "")),
            (
                "Pauses",
                f"{len(d.pauses)}"
                + (f", {sum(((p.end or p.start) - p.start) for p in d.pauses) / 60:.0f} min" if d.pauses else ""),
            ),
        ],
        label_w=30,
    )
    if given is not None:
        colour = PRIORITY_COLOURS["high"] if given.flagged or not given.confirmed else INK
        text = "Dose given: " + figures.dose_given_text(given)
        if given.flagged and given.planned_mg_per_kg is not None:
            planned = f"{_fmt_num(given.planned_mg_per_kg, 2)} mg/kg, {_fmt_num(given.planned_volume_ml, 2)} mL"
            text += f" (planned {planned})"
        y += pg.wrap(4, y - 1, pg.w - 6, text, 9, colour=colour) + 0.5
    if f.get("prestart_ok") is False:
        why = f.get("prestart_override_reason")
        msg = f.get("prestart_message")
        text = "Pre-start check: " + (str(msg) if msg else "outside the limits")
        text += f" — overridden by {f.get('prestart_override_by') or '—'}" + (f": {why}" if why else "")
        y += pg.wrap(4, y - 1, pg.w - 6, text, 8.5, colour=PRIORITY_COLOURS["high"]) + 0.5
    for p in d.pauses[:4]:
        end = ctx.clock(p.end, True) if p.end is not None else "not resumed"
        dur = f"{(p.end - p.start) / 60:.0f} min" if p.end is not None else ""
        reason = f" — {p.reason}" if p.reason else ""
        pg.text(4, y - 1, pg.w - 6, 5, f"Pause {ctx.clock(p.start, True)} – {end}  {dur}{reason}", 8.5)
        y += 4.6
    y += 1.5

    y = _section(pg, y, "Vital signs: baseline (before the infusion) and extremes (from the start)")
    base, peak = d.baseline(), d.peaks()
    cols = (0.0, 40.0, 105.0)
    pg.text(cols[0] + 1.5, y, 38, 5, "", 8.5)
    pg.text(cols[1] + 1.5, y, 60, 5, "Baseline", 8.5, colour=GREY)
    pg.text(cols[2] + 1.5, y, pg.w - cols[2], 5, "Highest (SpO₂: lowest)", 8.5, colour=GREY)
    y += 5
    rows = (
        ("NIBP systolic", "nibp_sys", "mmHg"),
        ("NIBP diastolic", "nibp_dia", "mmHg"),
        ("NIBP mean", "nibp_mean", "mmHg"),
        ("Heart rate", "hr", "/min"),
        ("SpO₂", "spo2", "%"),
    )
    for label, key, unit in rows:
        b, pk = base[key], peak[key]
        pg.text(cols[0] + 1.5, y, 38, 5.2, label, 9, bold=True)
        base_txt = "—" if b.value is None else f"{_fmt_num(round(b.value, 1))} {unit}"
        if b.value is not None and key in ("hr", "spo2"):
            base_txt += "  (5-min median)"
        elif b.t is not None:
            base_txt += f"  at {ctx.clock(b.t)}"
        pg.text(cols[1] + 1.5, y, 62, 5.2, base_txt, 9.5)
        colour = INK
        change = ""
        if pk.value is not None and b.value is not None:
            delta = pk.value - b.value
            change = f"  ({delta:+.0f})"
            if (key == "nibp_sys" and delta >= ctx.profile.rise.systolic) or (
                key == "nibp_dia" and delta >= ctx.profile.rise.diastolic
            ):
                colour = PRIORITY_COLOURS["high"]
        if pk.value is not None:
            klass = ctx.profile.classify(Parameter(key), pk.value)
            if klass is not None:
                colour = PRIORITY_COLOURS[klass[0].priority.label]
        pg.text(
            cols[2] + 1.5,
            y,
            pg.w - cols[2] - 3,
            5.2,
            _vital_cell(ctx, pk, unit) + change,
            9.5,
            bold=colour != INK,
            colour=colour,
        )
        y += 5.2
    y += 2

    y = _section(pg, y, "Alarms raised")
    counts = d.alarm_counts()
    x = 1.5
    for pri in ("high", "medium", "low"):
        label = f"{PRIORITY_MARK[pri]} {pri.capitalize()}: {counts.get(pri, 0)}"
        pg.rect(x, y, 40, 7, fill=PRIORITY_COLOURS[pri] if counts.get(pri) else None, border=PRIORITY_COLOURS[pri])
        pg.text(
            x,
            y,
            40,
            7,
            label,
            10,
            bold=True,
            colour=QColor("white") if counts.get(pri) else INK,
            align=Qt.AlignmentFlag.AlignHCenter,
        )
        x += 43
    technical = sum(1 for a in d.alarms if a["event"] == "raised" and a.get("kind") == "technical")
    pg.text(x + 2, y - 0.5, pg.w - x - 3, 4, f"technical: {technical}", 8.5, colour=GREY)
    pg.text(x + 2, y + 3.5, pg.w - x - 3, 4, f"limit changes: {len(d.limit_changes)}", 8.5, colour=GREY)
    y += 9.5

    y = _section(pg, y, f"Events ({len(d.events)}) and scales")
    footer_room = pg.h - 9 - 48  # leave room for the discharge block
    events = list(d.events)
    shown = 0
    for e in events:
        if y > footer_room - 5:
            break
        pg.text(1.5, y, 30, 4.8, f"{ctx.clock(float(e['t']))} {ctx.minute(float(e['t']))}", 8.5, colour=GREY)
        pg.text(32, y, pg.w - 34, 4.8, _event_text(e), 9)
        y += 4.8
        shown += 1
    if shown < len(events):
        pg.text(32, y, pg.w - 34, 4.8, f"… {len(events) - shown} more in the events table", 8.5, colour=GREY)
        y += 4.8
    if not events:
        pg.text(1.5, y, pg.w, 4.8, "no events recorded", 9, colour=GREY)
        y += 4.8
    summary = _scale_summary(ctx)
    if summary and y < footer_room:
        pg.text(1.5, y, 30, 4.8, "Scales", 8.5, colour=GREY)
        pg.text(32, y, pg.w - 34, 4.8, summary, 9)
        y += 4.8
    y += 2

    y = _section(pg, y, "Discharge")
    _discharge_block(pg, ctx, y)


def _discharge_block(pg: _Page, ctx: _Ctx, y: float) -> None:
    """Who signed, when, how long after the infusion, each item as ticked and as the program
    assessed it, and the reason for any override. Never a tick the record does not support."""
    d = ctx.data
    red = PRIORITY_COLOURS["high"]
    if not d.discharge:
        pg.text(1.5, y, pg.w - 3, 5, "not discharged in this record", 9.5, bold=True, colour=red)
        return
    last = d.discharge[-1]
    who = last.get("who") or "—"
    pg.text(
        1.5,
        y,
        pg.w - 3,
        5,
        f"Discharged {ctx.clock(float(last['t']))} ({ctx.minute(float(last['t']))}), signed by {who}",
        9.5,
        bold=True,
    )
    y += 5.5
    record = _discharge_record(last.get("checklist"))
    # the record stores items keyed (sorted): show them in the checklist's own order
    order = [k for k in str(d.info.get("discharge_items") or "").split(",") if k] or list(_labels()[1])
    record.sort(key=lambda i: order.index(i["key"]) if i["key"] in order else len(order))
    observed, minimum = _observation(ctx, last)
    if observed is not None:
        early = minimum is not None and observed < minimum * 60.0 - 0.5
        text = f"Observed {observed / 60:.0f} min after the infusion" + (
            f" (minimum {_fmt_num(minimum)} min)" if minimum is not None else ""
        )
        if early:
            text = "EARLY DISCHARGE: " + text
        y += pg.wrap(1.5, y, pg.w - 3, text, 8.5, colour=red if early else INK) + 0.5
    else:
        early = False
    parts = []
    for item in record:
        label, ticked, assessed = item["label"], item["checked"], item["assessed"]
        if item["key"] == "min_observation" and early:
            parts.append(f"✗ {label}: NOT elapsed")
        elif not ticked:
            parts.append(f"✗ {label}")
        elif assessed is False:
            parts.append(f"✓ {label} (ticked; program: {item['detail'] or 'not met'})")
        else:
            parts.append(f"✓ {label}")
    text = "   ".join(parts) or "no checklist recorded"
    y += pg.wrap(1.5, y, pg.w - 3, text, 8.5) + 0.5
    details = [f"{item['label']}: {item['detail']}" for item in record if item["detail"]]
    if details:
        y += pg.wrap(1.5, y, pg.w - 3, "Program's assessment — " + ";  ".join(details), 7.5, colour=GREY) + 0.5
    override = _checklist_override(last.get("checklist"))
    if override:
        pg.wrap(1.5, y, pg.w - 3, f"Discharged against the checklist — reason: {override}", 8.5, colour=red)
    elif early or any(not i["checked"] for i in record):
        pg.wrap(1.5, y, pg.w - 3, "Discharged against the checklist — no reason recorded", 8.5, colour=red)


def _observation(ctx: _Ctx, row: dict[str, Any]) -> tuple[float | None, float | None]:
    """(seconds observed after the infusion, minimum in minutes) at discharge, as recorded."""
    d = ctx.data
    try:
        data = json.loads(str(row.get("checklist")))
    except (TypeError, ValueError):
        data = None
    data = data if isinstance(data, dict) else {}
    observed = data.get("observation_s")
    if not isinstance(observed, int | float):
        observed = None if d.infusion_stop is None else float(row["t"]) - d.infusion_stop
    minimum = data.get("observation_min", d.fields.get("observation_min"))
    return observed, float(minimum) if isinstance(minimum, int | float) else None


def _prestart_text(f: dict[str, Any]) -> str:
    ok = f.get("prestart_ok")
    if ok is None:
        return "—"
    if ok:
        return "within limits"
    who = f.get("prestart_override_by")
    return "OVERRIDDEN" + (f" by {who}" if who else "")


def _yes(v: Any) -> str:
    return "—" if v is None else ("yes" if v else "NO")


def _event_text(e: dict[str, Any]) -> str:
    category = str(e.get("category") or "").replace("_", " ")
    name = str(e.get("name") or "")
    parts = [category, name if name.lower() != category.lower() else ""]
    if e.get("severity"):
        parts.append(f"({e['severity']})")
    same = bool(e.get("drug")) and str(e.get("drug")).lower() == name.lower()
    if same:  # an intervention named after its drug: show the drug as entered, once
        parts[1] = str(e["drug"])
    keys = ("dose", "route") if same else ("drug", "dose", "route")
    drug = " ".join(str(e[k]) for k in keys if e.get(k))
    if drug:
        parts.append(drug)
    if e.get("note"):
        parts.append(f"— {e['note']}")
    if e.get("who"):
        parts.append(f"[{e['who']}]")
    return " ".join(p for p in parts if p)


def _labels() -> tuple[dict[str, str], dict[str, str]]:
    """Display names of scale ids and discharge checklist keys, from the nurse's session module."""
    try:
        from kapmonitor.session.session import DEFAULT_DISCHARGE_ITEMS, SCALES
    except ImportError:  # pragma: no cover - the session module is part of the program
        return {}, {}
    return {k: v.label for k, v in SCALES.items()}, {i.key: i.label for i in DEFAULT_DISCHARGE_ITEMS}


def scale_label(scale: object) -> str:
    return _labels()[0].get(str(scale), str(scale))


def _scale_summary(ctx: _Ctx) -> str:
    by: dict[str, list[tuple[float, float]]] = {}
    for s in ctx.data.scales:
        by.setdefault(scale_label(s["scale"]), []).append((float(s["t"]), float(s["score"])))
    parts = []
    for name, vals in by.items():
        scores = [v for _, v in vals]
        if len(vals) == 1:
            parts.append(f"{name} {_fmt_num(scores[0])} at {ctx.clock(vals[0][0])}")
        else:
            parts.append(f"{name} ×{len(vals)}: lowest {_fmt_num(min(scores))}, last {_fmt_num(scores[-1])}")
    return ";  ".join(parts)


def _checklist_override(text: Any) -> str | None:
    try:
        data = json.loads(str(text))
    except (TypeError, ValueError):
        return None
    reason = data.get("override_reason") if isinstance(data, dict) else None
    return str(reason) if reason else None


def _discharge_record(text: Any) -> list[dict[str, Any]]:
    """Checklist items as recorded: key, label, checked, assessed (True/False/None), detail."""
    try:
        data = json.loads(str(text))
    except (TypeError, ValueError):
        return []
    names = _labels()[1]

    def item(key: str, label: Any, checked: Any, assessed: Any = None, detail: Any = "") -> dict[str, Any]:
        return {
            "key": key,
            "label": str(label or names.get(key, key.replace("_", " "))),
            "checked": bool(checked),
            "assessed": assessed if isinstance(assessed, bool) else None,
            "detail": str(detail or ""),
        }

    if isinstance(data, dict) and isinstance(data.get("items"), dict):
        # kapmonitor.session: {"items": {key: {"label", "checked", "assessed", "detail"}}, "override_reason", ...}
        out = []
        for key, raw in data["items"].items():
            raw = raw if isinstance(raw, dict) else {"checked": bool(raw)}
            out.append(item(str(key), raw.get("label"), raw.get("checked"), raw.get("assessed"), raw.get("detail")))
        return out
    if isinstance(data, dict):
        return [item(str(k), None, v) for k, v in data.items()]
    if isinstance(data, list):
        return [
            item(
                str(x.get("key") or x.get("name") or "?"),
                x.get("label") or x.get("name") or x.get("key"),
                x.get("ok", x.get("checked", x.get("done", False))),
            )
            for x in data
            if isinstance(x, dict)
        ]
    return []


# -- page 2: the trend chart -----------------------------------------------------------------------


@dataclass
class _Axis:
    x0: float
    x1: float
    m0: float  # minutes at x0
    m1: float

    def x(self, minute: float) -> float:
        return self.x0 + (minute - self.m0) / (self.m1 - self.m0) * (self.x1 - self.x0)


def _bucketed(
    t_min: npt.NDArray[np.float64], v: npt.NDArray[np.float64], axis: _Axis, buckets: int = 900, gap_min: float = 0.5
) -> list[list[tuple[float, float, float]]]:
    """(minute, low, high) per bucket, split where data is missing for longer than `gap_min`."""
    if not len(t_min):
        return []
    edges = np.floor((t_min - axis.m0) / (axis.m1 - axis.m0) * buckets).astype(np.int64)
    segments: list[list[tuple[float, float, float]]] = []
    current: list[tuple[float, float, float]] = []
    bounds = np.nonzero(np.diff(edges))[0] + 1
    starts = np.concatenate(([0], bounds))
    ends = np.concatenate((bounds, [len(t_min)]))
    last_t = None
    for a, z in zip(starts.tolist(), ends.tolist(), strict=True):
        if last_t is not None and t_min[a] - last_t > gap_min:
            segments.append(current)
            current = []
        chunk = v[a:z]
        current.append((float(np.mean(t_min[a:z])), float(chunk.min()), float(chunk.max())))
        last_t = float(t_min[z - 1])
    segments.append(current)
    return [s for s in segments if s]


@dataclass
class _Panel:
    top: float
    height: float
    lo: float
    hi: float
    label: str

    def y(self, value: float) -> float:
        v = min(max(value, self.lo), self.hi)
        return self.top + self.height - (v - self.lo) / (self.hi - self.lo) * self.height


def _draw_panel_frame(pg: _Page, ax: _Axis, panel: _Panel, step: float) -> None:
    pg.rect(ax.x0, panel.top, ax.x1 - ax.x0, panel.height, border=GREY, width=0.25)
    v = np.ceil(panel.lo / step) * step
    while v <= panel.hi + 1e-9:
        yy = panel.y(v)
        pg.line(ax.x0, yy, ax.x1, yy, LIGHT, 0.15)
        pg.text(ax.x0 - 11, yy - 2, 10, 4, f"{v:g}", 7, colour=GREY, align=Qt.AlignmentFlag.AlignRight)
        v += step
    pg.p.save()
    pg.p.translate(_mm(ax.x0 - 15), _mm(panel.top + panel.height / 2))
    pg.p.rotate(-90)
    pg.font(8, bold=True)
    pg.p.setPen(QPen(INK))
    pg.p.drawText(
        QRectF(_mm(-panel.height / 2), _mm(-3), _mm(panel.height), _mm(6)),
        int(Qt.AlignmentFlag.AlignCenter),
        panel.label,
    )
    pg.p.restore()


def _limits(pg: _Page, ctx: _Ctx, ax: _Axis, panel: _Panel, parameter: Parameter, prefix: str = "") -> None:
    for value, priority in ctx.profile.limit_lines(parameter):
        if not panel.lo <= value <= panel.hi:
            continue
        colour = PRIORITY_COLOURS[priority.label]
        style = Qt.PenStyle.DashLine if priority is Priority.MEDIUM else Qt.PenStyle.SolidLine
        yy = panel.y(value)
        pg.line(ax.x0, yy, ax.x1, yy, colour, 0.3, style)
        pg.text(ax.x1 + 0.6, yy - 2, 14, 4, f"{prefix}{value:g} {PRIORITY_MARK[priority.label]}", 6, colour=colour)


def _curve(
    pg: _Page,
    ax: _Axis,
    panel: _Panel,
    t: npt.NDArray[np.float64],
    v: npt.NDArray[np.float64],
    colour: QColor,
    ctx: _Ctx,
) -> None:
    minutes = ctx.data.minutes(t)
    for seg in _bucketed(minutes, v, ax):
        env = QColor(colour)
        env.setAlpha(60)
        if any(hi - lo > 0 for _, lo, hi in seg):
            poly = QPolygonF(
                [QPointF(_mm(ax.x(m)), _mm(panel.y(hi))) for m, _, hi in seg]
                + [QPointF(_mm(ax.x(m)), _mm(panel.y(lo))) for m, lo, _ in reversed(seg)]
            )
            pg.p.setPen(Qt.PenStyle.NoPen)
            pg.p.setBrush(QBrush(env))
            pg.p.drawPolygon(poly)
            pg.p.setBrush(Qt.BrushStyle.NoBrush)
        path = QPainterPath()
        for i, (m, lo, hi) in enumerate(seg):
            pt = QPointF(_mm(ax.x(m)), _mm(panel.y((lo + hi) / 2)))
            if i == 0:
                path.moveTo(pt)
            else:
                path.lineTo(pt)
        pg.p.setPen(QPen(colour, _mm(0.3)))
        pg.p.drawPath(path)


def _nibp(pg: _Page, ctx: _Ctx, ax: _Axis, panel: _Panel) -> None:
    d = ctx.data
    ts, vs = d.samples.series("nibp_sys", manual=False)
    td, vd = d.samples.series("nibp_dia", manual=False)
    tm, vm = d.samples.series("nibp_mean")
    dia_at = dict(zip(np.round(td, 3).tolist(), vd.tolist(), strict=True))
    for t, v in zip(ts.tolist(), vs.tolist(), strict=True):
        x = ax.x(d.minute(t))
        dv = dia_at.get(round(t, 3))
        if dv is not None:
            pg.line(x, panel.y(v), x, panel.y(dv), GREY, 0.2)
    _markers(pg, ax, panel, d.minutes(ts), vs, SYS_COLOUR, "v")
    _markers(pg, ax, panel, d.minutes(td), vd, DIA_COLOUR, "^")
    # manual readings: hollow diamonds on top, so a hand-entered value is never mistaken for the monitor's
    for key, colour in (("nibp_sys", SYS_COLOUR), ("nibp_dia", DIA_COLOUR)):
        tman, vman = d.samples.series(key, manual=True)
        _markers(pg, ax, panel, d.minutes(tman), vman, colour, "d", size=1.6)
    if len(tm):
        path = QPainterPath()
        for i, (t, v) in enumerate(zip(d.minutes(tm).tolist(), vm.tolist(), strict=True)):
            pt = QPointF(_mm(ax.x(t)), _mm(panel.y(v)))
            path.moveTo(pt) if i == 0 else path.lineTo(pt)
        pg.p.setPen(QPen(MEAN_COLOUR, _mm(0.25), Qt.PenStyle.DotLine))
        pg.p.drawPath(path)
        _markers(pg, ax, panel, d.minutes(tm), vm, MEAN_COLOUR, "o")


def _markers(
    pg: _Page,
    ax: _Axis,
    panel: _Panel,
    minutes: npt.NDArray[np.float64],
    values: npt.NDArray[np.float64],
    colour: QColor,
    shape: str,
    size: float = 1.3,
) -> None:
    pg.p.setPen(QPen(colour, _mm(0.25)))
    pg.p.setBrush(QBrush(colour))
    for m, v in zip(minutes.tolist(), values.tolist(), strict=True):
        x, y = _mm(ax.x(m)), _mm(panel.y(v))
        s = _mm(size)
        if shape == "v":
            pg.p.drawPolygon(QPolygonF([QPointF(x - s, y - s), QPointF(x + s, y - s), QPointF(x, y)]))
        elif shape == "^":
            pg.p.drawPolygon(QPolygonF([QPointF(x - s, y + s), QPointF(x + s, y + s), QPointF(x, y)]))
        elif shape == "d":
            pg.p.setBrush(QBrush(QColor("white")))
            pg.p.drawPolygon(QPolygonF([QPointF(x, y - s), QPointF(x + s, y), QPointF(x, y + s), QPointF(x - s, y)]))
        else:
            pg.p.drawEllipse(QPointF(x, y), s * 0.5, s * 0.5)
    pg.p.setBrush(Qt.BrushStyle.NoBrush)


def _range(data: SessionData, parameters: Sequence[str], lo: float, hi: float, step: float) -> tuple[float, float]:
    values = [v for p in parameters for v in data.samples.series(p)[1].tolist()]
    if values:
        lo = min(lo, float(np.floor(min(values) / step) * step))
        hi = max(hi, float(np.ceil(max(values) / step) * step))
    return lo, hi


def _chart_page(pg: _Page, ctx: _Ctx, y0: float) -> None:
    d = ctx.data
    first = d.first_time if d.first_time is not None else d.origin
    last = d.last_time if d.last_time is not None else first + 60
    m0 = np.floor(d.minute(first) / 15.0) * 15.0
    m1 = max(np.ceil(d.minute(last) / 15.0) * 15.0, m0 + 15.0)
    ax = _Axis(20.0, pg.w - 14.0, float(m0), float(m1))
    legend_h = 6.0
    pg.text(
        0,
        y0,
        pg.w,
        5,
        "Trends: minutes from the infusion start"
        if d.infusion_start is not None
        else "Trends: minutes from the first sample",
        10,
        bold=True,
    )
    y = y0 + 6
    _legend(pg, y)
    y += legend_h
    marker_h = 13.0  # event / alarm strip
    music_h = 7.0 if d.music else 0.0
    bottom = pg.h - 9 - 12 - music_h
    avail = bottom - y - marker_h
    # fixed ranges a clinician is used to, widened when a value falls outside (never clipped away)
    bp_lo, bp_hi = _range(d, ("nibp_sys", "nibp_dia", "nibp_mean"), 40, 220, 20)
    hr_lo, hr_hi = _range(d, ("hr",), 30, 170, 20)
    sp_lo, sp_hi = _range(d, ("spo2",), 80, 100, 5)
    bp = _Panel(y + marker_h, avail * 0.48, bp_lo, bp_hi, "NIBP mmHg")
    hr = _Panel(bp.top + bp.height + 3, avail * 0.28 - 3, hr_lo, hr_hi, "HR /min")
    sp = _Panel(hr.top + hr.height + 3, avail * 0.24 - 3, sp_lo, min(sp_hi, 100), "SpO₂ %")
    panels = (bp, hr, sp)
    top, bot = bp.top, sp.top + sp.height
    # infusion window and pauses behind everything
    if d.infusion_start is not None:
        end = d.infusion_stop if d.infusion_stop is not None else last
        pg.rect(
            ax.x(d.minute(d.infusion_start)),
            top,
            ax.x(d.minute(end)) - ax.x(d.minute(d.infusion_start)),
            bot - top,
            fill=INFUSION_FILL,
        )
        pg.text(
            ax.x(d.minute(d.infusion_start)) + 0.5, top + 0.5, 40, 4, "infusion", 7, bold=True, colour=QColor("#2a5db0")
        )
        for p in d.pauses:
            pe = p.end if p.end is not None else end
            pg.rect(
                ax.x(d.minute(p.start)), top, ax.x(d.minute(pe)) - ax.x(d.minute(p.start)), bot - top, fill=PAUSE_FILL
            )
            pg.text(ax.x(d.minute(p.start)) + 0.3, top + 4.5, 20, 4, "pause", 6.5, colour=GREY)
    for panel, step in ((bp, 20.0 if bp.hi - bp.lo <= 200 else 40.0), (hr, 20.0 if hr.hi - hr.lo <= 160 else 40.0),
                        (sp, 5.0 if sp.hi - sp.lo <= 25 else 10.0)):  # fmt: skip
        _draw_panel_frame(pg, ax, panel, step)
    _limits(pg, ctx, ax, bp, Parameter.NIBP_SYS, "sys ")
    _limits(pg, ctx, ax, bp, Parameter.NIBP_DIA, "dia ")
    _limits(pg, ctx, ax, hr, Parameter.HR)
    _limits(pg, ctx, ax, sp, Parameter.SPO2)
    pg.p.save()
    pg.p.setClipRect(QRectF(_mm(ax.x0), _mm(top), _mm(ax.x1 - ax.x0), _mm(bot - top)))
    _nibp(pg, ctx, ax, bp)
    t, v = d.samples.series("hr")
    _curve(pg, ax, hr, t, v, HR_COLOUR, ctx)
    t, v = d.samples.series("spo2")
    _curve(pg, ax, sp, t, v, SPO2_COLOUR, ctx)
    pg.p.restore()
    _event_strip(pg, ctx, ax, bp.top - marker_h, marker_h, top, bot)
    # time axis
    ticks = next((step for step in (15.0, 30.0, 60.0, 120.0) if (m1 - m0) / step <= 18), 240.0)
    m = m0
    while m <= m1 + 1e-9:
        x = ax.x(m)
        pg.line(x, bot, x, bot + 1.2, GREY, 0.2)
        for panel in panels:
            pg.line(x, panel.top, x, panel.top + panel.height, LIGHT, 0.12)
        pg.text(x - 8, bot + 1.2, 16, 4, f"{m:+.0f}" if m else "0", 7, align=Qt.AlignmentFlag.AlignHCenter)
        pg.text(
            x - 8, bot + 4.6, 16, 4, ctx.clock(d.origin + m * 60), 6.5, colour=GREY, align=Qt.AlignmentFlag.AlignHCenter
        )
        m += ticks
    pg.text(ax.x0 - 19, bot + 1.2, 12, 4, "min", 7, colour=GREY, align=Qt.AlignmentFlag.AlignRight)
    pg.text(ax.x0 - 19, bot + 4.6, 12, 4, "clock", 6.5, colour=GREY, align=Qt.AlignmentFlag.AlignRight)
    if d.music:
        _music_strip(pg, ctx, ax, bot + 10, music_h - 1)


def _legend(pg: _Page, y: float) -> None:
    items = [
        ("▼ systolic", SYS_COLOUR),
        ("▲ diastolic", DIA_COLOUR),
        ("● mean", MEAN_COLOUR),
        ("HR", HR_COLOUR),
        ("SpO₂", SPO2_COLOUR),
        ("limits: - - ** medium, — *** high", PRIORITY_COLOURS["high"]),
        ("▮ infusion", QColor("#2a5db0")),
        ("▮ pause", GREY),
        ("◇ manual", INK),
    ]
    x = 0.0
    for text, colour in items:
        f = pg.font(7.5, bold=True)
        w = QFontMetricsF(f, pg.p.device()).horizontalAdvance(text) / PX_PER_MM + 4
        pg.text(x, y, w, 4.5, text, 7.5, bold=True, colour=colour)
        x += w


def _event_strip(pg: _Page, ctx: _Ctx, ax: _Axis, y: float, h: float, top: float, bot: float) -> None:
    """Numbered event flags (see the events table) and alarm triangles by priority above the chart."""
    d = ctx.data
    pg.text(ax.x0 - 19, y, 18, 8.7, "events", 6.5, colour=GREY, align=Qt.AlignmentFlag.AlignRight)
    pg.text(ax.x0 - 19, y + 8.5, 18, h - 10.5, "alarms", 6.5, colour=GREY, align=Qt.AlignmentFlag.AlignRight)
    row_end = [-1e9, -1e9, -1e9]  # right edge of the last label in each label row
    for i, e in enumerate(d.events, start=1):
        x = ax.x(d.minute(float(e["t"])))
        if not ax.x0 <= x <= ax.x1:
            continue
        free = [r for r in range(3) if x - 2.2 > row_end[r]]
        row = free[0] if free else int(np.argmin(row_end))
        row_end[row] = x + 2.2
        pg.line(x, y + 2.9 * (row + 1), x, bot, QColor(80, 80, 80, 120), 0.15, Qt.PenStyle.DotLine)
        pg.text(
            x - 2.2, y + 2.9 * row, 4.4, 2.9, f"E{i}", 5, bold=True, colour=INK, align=Qt.AlignmentFlag.AlignHCenter
        )
    for a in d.alarms:
        if a["event"] != "raised":
            continue
        x = ax.x(d.minute(float(a["t"])))
        if not ax.x0 <= x <= ax.x1:
            continue
        colour = PRIORITY_COLOURS.get(str(a["priority"]).lower(), GREY)
        pg.p.setPen(QPen(colour, _mm(0.2)))
        pg.p.setBrush(QBrush(colour))
        yy = y + h - 1
        s = 1.5
        pg.p.drawPolygon(
            QPolygonF(
                [QPointF(_mm(x - s), _mm(yy - 2 * s)), QPointF(_mm(x + s), _mm(yy - 2 * s)), QPointF(_mm(x), _mm(yy))]
            )
        )
        pg.p.setBrush(Qt.BrushStyle.NoBrush)
    _ = top


def music_phase_bands(data: SessionData) -> tuple[list[tuple[float, float, str]], list[float]]:
    """(start, end, phase) bands while music sounded, and the track start times.

    Built on `kapmonitor.audio.timeline.track_bands` (the same bands the live trend plot shows);
    consecutive tracks of one phase merge into one band.
    """
    end = data.last_time
    bands = track_bands(data.music, now=end)
    merged: list[tuple[float, float, str]] = []
    for start, stop, title, phase in bands:
        label = phase or title or "music"
        if merged and merged[-1][2] == label and start - merged[-1][1] < 1.0:
            merged[-1] = (merged[-1][0], stop, label)
        else:
            merged.append((start, stop, label))
    return merged, [b[0] for b in bands]


def _music_strip(pg: _Page, ctx: _Ctx, ax: _Axis, y: float, h: float) -> None:
    d = ctx.data
    pg.text(ax.x0 - 19, y, 18, h, "music", 6.5, colour=GREY, align=Qt.AlignmentFlag.AlignRight)
    bands, track_starts = music_phase_bands(d)
    colours: dict[str, QColor] = {}
    for start, end, label in bands:
        colour = colours.setdefault(label, MUSIC_COLOURS[len(colours) % len(MUSIC_COLOURS)])
        x0 = max(ax.x(d.minute(start)), ax.x0)
        x1 = min(ax.x(d.minute(end)), ax.x1)
        if x1 <= x0:
            continue
        pg.rect(x0, y, x1 - x0, h, fill=colour, border=GREY, width=0.12)
        pg.text(x0 + 0.5, y, x1 - x0 - 1, h, label, 6.5)
    for t in track_starts:  # a tick at every track change
        x = ax.x(d.minute(t))
        if ax.x0 <= x <= ax.x1:
            pg.line(x, y + h - 1.2, x, y + h, INK, 0.2)
    if not bands:
        pg.text(ax.x0, y, 60, h, "no music played", 6.5, colour=GREY)


# -- tables -------------------------------------------------------------------------------------------


@dataclass
class _Column:
    title: str
    width: float  # share of the page width
    get: Callable[[dict[str, Any]], str]


@dataclass
class _TableSpec:
    title: str
    columns: list[_Column]
    rows: list[dict[str, Any]]
    colour: Callable[[dict[str, Any]], QColor | None] | None = None


ROW_H = 4.6
HEAD_H = 12.0


def _priority_cell(r: dict[str, Any]) -> str:
    if r.get("kind") == "system":  # audio pause, baseline, limit change: no alarm priority
        return "—"
    return f"{PRIORITY_MARK.get(str(r.get('priority')).lower(), '')} {r.get('priority')}"


def _audit_target(r: dict[str, Any]) -> str:
    table = str(r.get("table_name") or "").replace("_", " ")
    return f"{table} #{r['row_id']}" if r.get("row_id") else table


def _audit_json(text: Any) -> Any:
    if text is None:
        return None
    try:
        return json.loads(str(text))
    except (TypeError, ValueError):
        return str(text)


def _audit_fields(data: Any) -> str:
    """A recorded value as 'key value, …' (nested parts and the row's own time and author left out)."""
    if isinstance(data, dict):
        shown = {k: v for k, v in data.items() if k not in ("t", "who") and not isinstance(v, dict | list)}
        return ", ".join(f"{k} {v}" for k, v in shown.items())
    return "" if data is None else str(data)


def _audit_change(r: dict[str, Any]) -> str:
    """What changed: 'route IV → PO' for an edit (changed fields only), the new values for a creation."""
    before, after = _audit_json(r.get("before")), _audit_json(r.get("after"))
    if isinstance(before, dict) and isinstance(after, dict):
        keys = [k for k in dict.fromkeys([*before, *after]) if before.get(k) != after.get(k) and k != "who"]
        if keys:
            return ", ".join(f"{k} {before.get(k, '—')} → {after.get(k, '—')}" for k in keys)
    b, a = _audit_fields(before), _audit_fields(after)
    if b and a:
        return f"{b} → {a}"
    return a or (f"was: {b}" if b else "")


def _table_specs(ctx: _Ctx) -> list[_TableSpec]:
    d = ctx.data

    def when(r: dict[str, Any]) -> str:
        return ctx.clock(float(r["t"]), True)

    def mins(r: dict[str, Any]) -> str:
        return f"{d.minute(float(r['t'])):+.1f}"

    def col(key: str) -> Callable[[dict[str, Any]], str]:
        return lambda r: (
            "" if r.get(key) is None else _fmt_num(r.get(key)) if isinstance(r.get(key), float) else str(r.get(key))
        )

    def alarm_colour(r: dict[str, Any]) -> QColor | None:
        return PRIORITY_COLOURS.get(str(r.get("priority")).lower()) if r.get("event") == "raised" else None

    events = [dict(e, n=f"E{i}") for i, e in enumerate(d.events, start=1)]
    return [
        _TableSpec(
            "Alarm log (every state change)",
            [
                _Column("time", 0.085, when),
                _Column("min", 0.06, mins),
                _Column("priority", 0.10, _priority_cell),
                _Column("alarm", 0.15, col("alarm_id")),
                _Column("event", 0.13, lambda r: str(r.get("event") or "").replace("_", " ")),
                _Column("value", 0.055, col("value")),
                _Column("limit", 0.055, col("limit_value")),
                _Column("message", 0.305, col("message")),
                _Column("who", 0.06, col("who")),
            ],
            d.alarms,
            alarm_colour,
        ),
        _TableSpec(
            "Events and interventions",
            [
                _Column("#", 0.04, col("n")),
                _Column("time", 0.09, when),
                _Column("min", 0.07, mins),
                _Column("category", 0.12, lambda r: str(r.get("category") or "").replace("_", " ")),
                _Column("name", 0.14, col("name")),
                _Column("severity", 0.09, col("severity")),
                _Column(
                    "drug / dose / route",
                    0.17,
                    lambda r: " ".join(str(r[k]) for k in ("drug", "dose", "route") if r.get(k)),
                ),
                _Column("note", 0.22, col("note")),
                _Column("who", 0.06, col("who")),
            ],
            events,
        ),
        _TableSpec(
            "Scales",
            [
                _Column("time", 0.12, when),
                _Column("min", 0.08, mins),
                _Column("scale", 0.15, lambda r: scale_label(r.get("scale"))),
                _Column("score", 0.10, col("score")),
                _Column("detail", 0.45, col("detail")),
                _Column("who", 0.10, col("who")),
            ],
            d.scales,
        ),
        _TableSpec(
            "Infusion record",
            [
                _Column("time", 0.12, when),
                _Column("min", 0.08, mins),
                _Column("action", 0.15, col("action")),
                _Column("reason", 0.55, col("reason")),
                _Column("who", 0.10, col("who")),
            ],
            d.infusion,
        ),
        _TableSpec(
            "Alarm limit changes",
            [
                _Column("time", 0.10, when),
                _Column("min", 0.06, mins),
                _Column("parameter", 0.10, col("parameter")),
                _Column("limit", 0.16, col("field")),
                _Column("old", 0.07, col("old_value")),
                _Column("new", 0.07, col("new_value")),
                _Column("reason", 0.36, col("reason")),
                _Column("who", 0.08, col("who")),
            ],
            d.limit_changes,
        ),
        _TableSpec(
            "Edit history (audit trail: who changed what, when and why)",
            [
                _Column("time", 0.085, when),
                _Column("min", 0.06, mins),
                _Column("who", 0.085, col("who")),
                _Column("action", 0.125, lambda r: str(r.get("action") or "").replace("_", " ")),
                _Column("record", 0.12, _audit_target),
                _Column("change", 0.325, _audit_change),
                _Column("reason", 0.20, col("reason")),
            ],
            d.audit,
        ),
        _TableSpec(
            "Music",
            [
                _Column("time", 0.10, when),
                _Column("min", 0.06, mins),
                _Column("action", 0.10, col("action")),
                _Column("phase", 0.12, col("phase")),
                _Column("track", 0.30, col("track")),
                _Column("artist", 0.22, col("artist")),
                _Column("volume dB", 0.10, col("volume_db")),
            ],
            d.music,
        ),
    ]


TABLE_PT = 7.5
MAX_LINES = 3  # a cell wraps onto at most this many lines, then it is elided


def _cell_lines(pg: _Page, fm: QFontMetricsF, text: str, width_mm: float) -> tuple[str, int]:
    """(text to draw, number of lines) of one table cell wrapped to `width_mm`."""
    width = _mm(width_mm)
    if fm.horizontalAdvance(text) <= width:
        return text, 1
    flags = int(Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextWordWrap)
    lines = round(fm.boundingRect(QRectF(0, 0, width, 1e6), flags, text).height() / fm.lineSpacing())
    if lines > MAX_LINES:
        text = fm.elidedText(text, Qt.TextElideMode.ElideRight, width * MAX_LINES * 0.92)
        lines = MAX_LINES
    return text, max(lines, 1)


def _layout_rows(pg: _Page, spec: _TableSpec) -> list[tuple[list[str], float]]:
    """Every row's cell texts and its height in mm (long cells wrap instead of being cut)."""
    f = QFont(FONT_FAMILY)
    f.setPointSizeF(TABLE_PT)
    f.setBold(True)  # highlighted rows are bold: size for the wider face
    fm = QFontMetricsF(f, pg.p.device())
    line_mm = fm.lineSpacing() / PX_PER_MM
    out = []
    for r in spec.rows:
        texts, lines = [], 1
        for c in spec.columns:
            text, n = _cell_lines(pg, fm, c.get(r), c.width * pg.w - 1.5)
            texts.append(text)
            lines = max(lines, n)
        out.append((texts, ROW_H if lines == 1 else lines * line_mm + 1.2))
    return out


def _paginate(
    specs: list[_TableSpec], heights: list[list[float]], first_y: float, usable_h: float
) -> list[list[tuple[_TableSpec, int, int]]]:
    """Split tables into pages: a list of (table, first row, end row) per page."""
    pages: list[list[tuple[_TableSpec, int, int]]] = []
    page: list[tuple[_TableSpec, int, int]] = []
    bottom = first_y + usable_h
    y = first_y
    for spec, hs in zip(specs, heights, strict=True):
        n = len(hs)
        i = 0
        while True:
            # start the table on a new page unless its title and a few rows fit here
            need = HEAD_H + sum(hs[i : i + 3]) if n else HEAD_H + ROW_H
            if y + need > bottom and page:
                pages.append(page)
                page, y = [], first_y
            y += HEAD_H
            j = i
            while j < n and (y + hs[j] <= bottom - 2 or j == i):
                y += hs[j]
                j += 1
            page.append((spec, i, j))
            y += (ROW_H if not n else 0) + 4
            i = j
            if i >= n:
                break
            pages.append(page)
            page, y = [], first_y
    if page:
        pages.append(page)
    return pages


def _draw_table(pg: _Page, y: float, spec: _TableSpec, layout: list[tuple[list[str], float]], a: int, z: int) -> float:
    cont = " (continued)" if a > 0 else ""
    pg.rect(0, y, pg.w, 6, fill=LIGHT)
    pg.text(
        1.5, y, pg.w - 3, 6, f"{spec.title}{cont} — {len(spec.rows)} rows" if spec.rows else spec.title, 10, bold=True
    )
    y += 6.5
    x = 0.0
    for c in spec.columns:
        pg.text(x + 1, y, c.width * pg.w - 1.5, 5, c.title, 7.5, bold=True, colour=GREY)
        x += c.width * pg.w
    y += 5.5
    pg.line(0, y - 0.3, pg.w, y - 0.3, GREY, 0.2)
    if not spec.rows:
        pg.text(1, y, pg.w, ROW_H, "none recorded", 8.5, colour=GREY)
        return y + ROW_H + 4
    wrap = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap)
    for i in range(a, z):
        r = spec.rows[i]
        texts, h = layout[i]
        if (i - a) % 2 == 1:
            pg.rect(0, y, pg.w, h, fill=QColor("#f5f5f5"))
        colour = spec.colour(r) if spec.colour is not None else None
        x = 0.0
        for c, text in zip(spec.columns, texts, strict=True):
            if h == ROW_H:
                pg.text(x + 1, y, c.width * pg.w - 1.5, ROW_H, text, TABLE_PT, colour=colour or INK,
                        bold=colour is not None, elide=False)  # fmt: skip
            else:
                pg.font(TABLE_PT, bold=colour is not None)
                pg.p.setPen(QPen(colour or INK))
                pg.p.drawText(QRectF(_mm(x + 1), _mm(y + 0.6), _mm(c.width * pg.w - 1.5), _mm(h)), wrap, text)
            x += c.width * pg.w
        y += h
    return y + 4


# -- entry point -------------------------------------------------------------------------------------


def write_report(data: SessionData, path: Path, paper: str = "a4", profile: AlarmProfile | None = None) -> None:
    """Draw the report of `data` into the PDF file `path` (A4 or Letter)."""
    _ensure_app()
    if paper not in PAPER_SIZES:
        raise ValueError(f"unknown paper size {paper!r}")
    ctx = _Ctx(data, profile or default_profile(), paper)
    writer = QPdfWriter(str(path))
    writer.setResolution(DPI)
    writer.setPageSize(QPageSize(PAPER_SIZES[paper]))
    writer.setPageOrientation(QPageLayout.Orientation.Portrait)
    writer.setPageMargins(QMarginsF(14, 12, 14, 12), QPageLayout.Unit.Millimeter)
    pseudonym = str(data.fields.get("pseudonym") or "session")
    writer.setTitle(f"KAP session report {pseudonym}")
    writer.setCreator(f"kapmonitor {__version__}")
    rect = writer.pageLayout().paintRectPixels(DPI)
    w_mm, h_mm = rect.width() / PX_PER_MM, rect.height() / PX_PER_MM

    painter = QPainter()
    if not painter.begin(writer):
        raise OSError(f"cannot write the PDF file {path}")
    try:
        pg = _Page(painter, w_mm, h_mm)
        content_top = 10.0 + (11 if data.simulated else 0) + (8 if data.deidentified else 0)
        usable = h_mm - 9 - content_top
        specs = _table_specs(ctx)
        layouts = [_layout_rows(pg, spec) for spec in specs]
        table_pages = _paginate(specs, [[h for _, h in lay] for lay in layouts], content_top, usable)
        ctx.total_pages = 2 + len(table_pages)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)

        if data.simulated:
            _watermark(pg)
        y = _chrome(pg, ctx, 1, "Ketamine infusion — session report")
        _summary_page(pg, ctx, y)

        writer.newPage()
        if data.simulated:
            _watermark(pg)
        y = _chrome(pg, ctx, 2, "Trend chart")
        _chart_page(pg, ctx, y)

        for n, page in enumerate(table_pages, start=3):
            writer.newPage()
            if data.simulated:
                _watermark(pg)
            y = _chrome(pg, ctx, n, "Record tables")
            for spec, a, z in page:
                y = _draw_table(pg, y, spec, layouts[specs.index(spec)], a, z)
    finally:
        painter.end()
    log.debug("PDF report written to %s (%s, %d pages)", path, paper, ctx.total_pages)
