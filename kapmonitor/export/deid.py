"""De-identification: a copy of the session record that identifies no one.

Rules (also in the README):
- the pseudonym becomes `anon-` + the first 16 hex digits of HMAC-SHA256(salt, pseudonym); with the
  same salt the same patient gets the same id across exports, without a salt the salt is random;
- staff initials and every "who" are removed;
- free text is removed: notes, reasons, scale details, music file paths, link details, audit trail,
  session facts outside a fixed list, unknown event names (they become "other"), technical alarm
  messages (replaced by the alarm id), NIBP measurement ids (renumbered m1, m2, ...);
- dates are shifted so the session's first day is day 0, written as 2000-01-01, the local clock
  time is kept and the UTC offset is dropped (+00:00): every interval stays exact;
- meta keeps only technical facts (simulated, driver, versions).

Everything is done on the data before any file is written, so every format gets the same rules.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
from dataclasses import replace
from typing import Any

from kapmonitor.export.data import STAFF_FIELDS, Pause, Row, Samples, SessionData

DAY0 = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)

KEEP_META = ("simulated", "driver", "app_version", "kapmonitor_version", "version", "scenario", "schema_version")
DROP_FIELDS = ("pseudonym", "lot", "prestart_override_by", "prestart_override_reason", *STAFF_FIELDS)
EVENT_NAMES = frozenset(
    [
        "nausea",
        "vomiting",
        "dizziness",
        "dissociation",
        "anxiety",
        "headache",
        "hypertension",
        "hypotension",
        "sedation",
        "agitation",
        "other",
        "ondansetron",
        "metoclopramide",
        "midazolam",
        "lorazepam",
        "diazepam",
        "clonidine",
        "labetalol",
        "metoprolol",
        "urapidil",
        "nitroglycerin",
        "oxygen",
        "fluids",
        "saline",
    ]
)
MEDICATION_FLAGS = frozenset({"benzodiazepines", "stimulants", "maois", "maoi", "none", "opioids", "lamotrigine"})


def pseudonym_hash(pseudonym: str, salt: str) -> str:
    digest = hmac.new(salt.encode("utf-8"), pseudonym.encode("utf-8"), hashlib.sha256).hexdigest()
    return "anon-" + digest[:16]


def random_salt() -> str:
    return secrets.token_hex(16)


def _clean_rows(rows: list[Row], shift: float, drop: tuple[str, ...], time_keys: tuple[str, ...] = ("t",)) -> list[Row]:
    out = []
    for r in rows:
        c = dict(r)
        for k in time_keys:
            if c.get(k) is not None:
                c[k] = float(c[k]) + shift
        for k in drop:
            if k in c:
                c[k] = None
        out.append(c)
    return out


def _checklist(text: object) -> str | None:
    """The discharge checklist without free text: item keys, labels and yes/no answers only.

    Accepts kapmonitor.session's form ({"items": {key: {"label", "checked", "assessed", "detail"}},
    "override_reason", "observation_s"}) and a plain {key: bool} object; anything else is dropped.
    """
    try:
        data = json.loads(str(text))
    except (TypeError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("items"), dict):
        items = {}
        for key, item in data["items"].items():
            if not isinstance(item, dict):
                continue
            items[str(key)] = {
                "label": str(item.get("label", ""))[:80],
                "checked": bool(item.get("checked")),
                "assessed": item.get("assessed") if isinstance(item.get("assessed"), bool) else None,
            }
        out: dict[str, object] = {"items": items, "override": bool(data.get("override_reason"))}
        if isinstance(data.get("observation_s"), int | float):
            out["observation_s"] = data["observation_s"]
        return json.dumps(out, sort_keys=True)
    if all(isinstance(v, bool) for v in data.values()):
        return json.dumps({str(k): v for k, v in data.items()}, sort_keys=True)
    return None


def day0_shift(data: SessionData) -> float:
    """Seconds to add to every time so the local first day becomes 2000-01-01 at offset 0."""
    first = data.first_time if data.first_time is not None else data.origin
    local = data.local(first)
    midnight = dt.datetime(local.year, local.month, local.day, tzinfo=data.tz)
    return DAY0.timestamp() - midnight.timestamp()


def deidentify(data: SessionData, salt: str | None = None) -> SessionData:
    """A de-identified copy of `data` (see the module docstring for the rules)."""
    salt = salt or random_salt()
    shift = day0_shift(data)
    fields: dict[str, Any] = {k: v for k, v in data.fields.items() if k not in DROP_FIELDS}
    pseudonym = data.fields.get("pseudonym")
    fields["pseudonym"] = pseudonym_hash(str(pseudonym), salt) if pseudonym else None
    for k in DROP_FIELDS:
        if k != "pseudonym":
            fields[k] = None
    if fields.get("prestart_message") and len(str(fields["prestart_message"])) > 200:
        fields["prestart_message"] = None
    if fields.get("medication_flags"):
        tokens = [x.strip().lower() for x in str(fields["medication_flags"]).replace(";", ",").split(",")]
        kept = sorted({x for x in tokens if x in MEDICATION_FLAGS})
        fields["medication_flags"] = ",".join(kept) or None

    ids: dict[str, str] = {}
    mids: list[str | None] = []
    for m in data.samples.measurement_id:
        if m is None:
            mids.append(None)
        else:
            mids.append(ids.setdefault(m, f"m{len(ids) + 1}"))
    s = data.samples
    samples = Samples(s.t + shift, list(s.parameter), list(s.value), list(s.status), list(s.source), mids)

    alarms = _clean_rows(data.alarms, shift, ("who",))
    for a in alarms:
        if a.get("kind") != "physiological":
            a["message"] = str(a.get("alarm_id") or "technical")
    events = []
    for e in _clean_rows(data.events, shift, ("note", "who")):
        if str(e.get("category", "")).lower() in ("note", "notes", "free_note", "addendum"):
            continue
        if str(e.get("name", "")).strip().lower() not in EVENT_NAMES:
            e["name"] = "other"
        for k in ("drug", "dose", "route", "severity"):
            if e.get(k) is not None and len(str(e[k])) > 40:
                e[k] = None
        events.append(e)
    discharge = _clean_rows(data.discharge, shift, ("who",))
    for d in discharge:
        d["checklist"] = _checklist(d.get("checklist")) or "{}"
    return replace(
        data,
        meta={k: v for k, v in data.meta.items() if k in KEEP_META},
        info={},
        fields=fields,
        samples=samples,
        waves=_clean_rows(data.waves, shift, (), ("t0",)),
        alarms=alarms,
        limit_changes=_clean_rows(data.limit_changes, shift, ("who", "reason")),
        infusion=_clean_rows(data.infusion, shift, ("who", "reason")),
        events=events,
        scales=_clean_rows(data.scales, shift, ("who", "detail")),
        discharge=discharge,
        music=_clean_rows(data.music, shift, ("path", "detail")),
        link_events=_clean_rows(data.link_events, shift, ("detail",)),
        audit=[],
        utc_offset_minutes=0,
        origin=data.origin + shift,
        infusion_start=None if data.infusion_start is None else data.infusion_start + shift,
        infusion_stop=None if data.infusion_stop is None else data.infusion_stop + shift,
        pauses=[Pause(p.start + shift, None if p.end is None else p.end + shift, None) for p in data.pauses],
        first_time=None if data.first_time is None else data.first_time + shift,
        last_time=None if data.last_time is None else data.last_time + shift,
        deidentified=True,
        extra={**data.extra, "day0": DAY0.date().isoformat(), "shift_rule": "first local day = 2000-01-01"},
    )
