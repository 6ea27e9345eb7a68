"""The de-identified course: the rules of kapmonitor.export.deid applied to a course.

- the pseudonym becomes `anon-` + 16 hex digits of HMAC-SHA256(salt, pseudonym) (deid.pseudonym_hash;
  the same salt gives the same id as the patient's de-identified session exports);
- every "who", note, planned action text, session file name and path is removed (sessions become
  session-1, session-2, ... in date order);
- dates are shifted by whole days so the course's first date (screening, a score or a session)
  becomes day 0, written 2000-01-01 (deid.DAY0): every interval between dates stays exact;
- times of day (safety prompt raised / acknowledged) are shifted by the same days.

Works on the JSON data of summary.to_json, before any file is written, so every format gets it.
Pure functions; thread-safe.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from kapmonitor.export.deid import DAY0, pseudonym_hash, random_salt

_DATE_KEYS = ("date", "infusion_date", "course_opened", "due", "done_on", "first_reached", "relapse_date",
              "lost_date", "as_of")
_TIME_KEYS = ("raised_at", "acknowledged_at")
_DROP_KEYS = ("who", "note", "opened_by", "acknowledged_by", "action", "path", "schedule")


def _dates(doc: Any) -> list[dt.date]:
    found: list[dt.date] = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            if k in _DATE_KEYS and k != "as_of" and isinstance(v, str):
                found.append(dt.date.fromisoformat(v))
            else:
                found += _dates(v)
    elif isinstance(doc, list):
        for v in doc:
            found += _dates(v)
    return found


def _clean(doc: Any, days: dt.timedelta) -> Any:
    if isinstance(doc, dict):
        out: dict[str, Any] = {}
        for k, v in doc.items():
            if k in _DROP_KEYS:
                out[k] = None
            elif k in _DATE_KEYS and isinstance(v, str):
                out[k] = (dt.date.fromisoformat(v) + days).isoformat()
            elif k in _TIME_KEYS and isinstance(v, str):
                out[k] = (dt.datetime.fromisoformat(v) + days).isoformat(timespec="seconds")
            else:
                out[k] = _clean(v, days)
        return out
    if isinstance(doc, list):
        return [_clean(v, days) for v in doc]
    return doc


def day_shift(doc: dict[str, Any]) -> dt.timedelta:
    """Whole days that move the course's first date to day 0 (2000-01-01)."""
    dates = _dates(doc)
    first = min(dates) if dates else dt.date.fromisoformat(str(doc["as_of"]))
    return DAY0.date() - first


def deidentify_course(doc: dict[str, Any], salt: str | None = None) -> dict[str, Any]:
    """A de-identified copy of summary.to_json's data (see the module's rules)."""
    days = day_shift(doc)
    out: dict[str, Any] = _clean(copy.deepcopy(doc), days)
    pseudonym = str(doc["patient"]["pseudonym"])
    out["patient"]["pseudonym"] = pseudonym_hash(pseudonym, salt or random_salt())
    for n, session in enumerate(out.get("sessions", []), start=1):
        session["session_id"] = f"session-{n}"
    out["deidentified"] = {"dates": "shifted so the first date is 2000-01-01 (day 0)",
                           "removed": "who, notes, actions, session files"}
    return out
