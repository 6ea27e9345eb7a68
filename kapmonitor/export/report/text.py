"""How the report writes numbers, clock times and recorded rows as text.

Shared by the summary, chart and table content of the report; no Qt. Pure functions of a
`SessionData` and its rows; thread-safe.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Literal

from kapmonitor.export.data import SessionData
from kapmonitor.session import figures
from kapmonitor.session.catalogues import DEFAULT_DISCHARGE_ITEMS, SCALES

log = logging.getLogger(__name__)

# How a text or mark is coloured, named by meaning; the painter picks the colour.
Tone = Literal["ink", "grey", "high", "medium", "low"]
PRIORITIES: tuple[Tone, ...] = ("high", "medium", "low")
PRIORITY_MARK = {"high": "***", "medium": "**", "low": "*"}


def priority_tone(priority: object) -> Tone | None:
    """'HIGH', 'medium', … as the tone of that priority; None for anything else."""
    text = str(priority).lower()
    return next((p for p in PRIORITIES if p == text), None)


def fmt_num(v: Any, digits: int = 1) -> str:
    """A recorded number as short text: '36.25', '40' (no trailing zeros), '—' when missing."""
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.{digits}f}".rstrip("0").rstrip(".") if not v.is_integer() else f"{v:.0f}"
    return str(v)


def yes(v: Any) -> str:
    return "—" if v is None else ("yes" if v else "NO")


@dataclass(frozen=True)
class ReportClock:
    """Times of one record as the report prints them (local clock of the record, session minutes)."""

    data: SessionData

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


def prestart_text(f: dict[str, Any]) -> str:
    ok = f.get("prestart_ok")
    if ok is None:
        return "—"
    if ok:
        return "within limits"
    who = f.get("prestart_override_by")
    return "OVERRIDDEN" + (f" by {who}" if who else "")


def event_text(e: dict[str, Any]) -> str:
    """One clinical event as a line: category, name, severity, drug/dose/route, note, [who]."""
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


def labels() -> tuple[dict[str, str], dict[str, str]]:
    """Display names of scale ids and discharge checklist keys, from the session's catalogues."""
    return {k: v.label for k, v in SCALES.items()}, {i.key: i.label for i in DEFAULT_DISCHARGE_ITEMS}


def scale_label(scale: object) -> str:
    return labels()[0].get(str(scale), str(scale))


def scale_summary(data: SessionData, clock: ReportClock) -> str:
    """'MOAA/S ×17: lowest 2, last 5;  CADSS 23 at 10:40' (one part per scale)."""
    by: dict[str, list[tuple[float, float]]] = {}
    for s in data.scales:
        by.setdefault(scale_label(s["scale"]), []).append((float(s["t"]), float(s["score"])))
    parts = []
    for name, vals in by.items():
        scores = [v for _, v in vals]
        if len(vals) == 1:
            parts.append(f"{name} {fmt_num(scores[0])} at {clock.clock(vals[0][0])}")
        else:
            parts.append(f"{name} ×{len(vals)}: lowest {fmt_num(min(scores))}, last {fmt_num(scores[-1])}")
    return ";  ".join(parts)


# -- the audit trail's recorded values ------------------------------------------------------------


def audit_target(r: dict[str, Any]) -> str:
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


def audit_change(r: dict[str, Any]) -> str:
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


# -- the discharge checklist as recorded -----------------------------------------------------------


def checklist_override(text: Any) -> str | None:
    try:
        data = json.loads(str(text))
    except (TypeError, ValueError):
        return None
    reason = data.get("override_reason") if isinstance(data, dict) else None
    return str(reason) if reason else None


def discharge_record(text: Any) -> list[dict[str, Any]]:
    """Checklist items as recorded: key, label, checked, assessed (True/False/None), detail."""
    try:
        data = json.loads(str(text))
    except (TypeError, ValueError):
        return []
    names = labels()[1]

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


def observation(data: SessionData, row: dict[str, Any]) -> tuple[float | None, float | None]:
    """(seconds observed after the infusion, minimum in minutes) at discharge, as recorded."""
    try:
        recorded = json.loads(str(row.get("checklist")))
    except (TypeError, ValueError):
        recorded = None
    recorded = recorded if isinstance(recorded, dict) else {}
    observed = recorded.get("observation_s")
    if not isinstance(observed, int | float):
        observed = None if data.infusion_stop is None else float(row["t"]) - data.infusion_stop
    minimum = recorded.get("observation_min", data.fields.get("observation_min"))
    return observed, float(minimum) if isinstance(minimum, int | float) else None
