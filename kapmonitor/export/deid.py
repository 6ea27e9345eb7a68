"""De-identification: a copy of the session record that identifies no one.

Rules (also in the README):
- the pseudonym becomes `anon-` + the first 16 hex digits of HMAC-SHA256(salt, pseudonym); with the
  same salt the same patient gets the same id across exports, without a salt the salt is random;
- staff initials and every "who" are removed;
- no free text leaves: every text column is either a code from the program's own catalogues
  (side effects, severities, routes, drugs with their common brand names, scales, phases, alarm ids,
  infusion and music actions, parameters, states) or it is removed. Doses keep their number and unit
  only ("4 mg per Dr X" -> "4 mg"); a drug outside the catalogue becomes "other"; notes, reasons, scale
  details, music titles, artists and paths, link details, the audit trail and session facts outside a
  fixed list are dropped; physiological alarm messages are rebuilt from parameter, value and limit,
  technical ones become their alarm id; NIBP measurement ids are renumbered m1, m2, ...;
- a clinic may mark some free-text fields safe to keep (`KEEP_CHOICES`, in deidentification.toml in
  the configuration folder: `keep_free_text = ["music.track", "music.artist"]`); the export says which;
- dates are shifted so the session's first day is day 0, written as 2000-01-01, the local clock
  time is kept and the UTC offset is dropped (+00:00): every interval stays exact;
- meta keeps only technical facts (simulated, driver, versions), each checked against what the
  program itself writes.

Everything is done on the data before any file is written, so every format gets the same rules.
Thread-safety: pure functions of an immutable SessionData.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import re
import secrets
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from kapmonitor.alarms import engine as alarm_engine
from kapmonitor.alarms.model import AlarmEventType, AlarmKind
from kapmonitor.alarms.profile import Priority, default_profile, profile_settings
from kapmonitor.audio.playlist import DEFAULT_PHASES
from kapmonitor.export.data import Pause, Row, Samples, SessionData
from kapmonitor.model.parameters import PARAMETER_INFO, Parameter
from kapmonitor.model.samples import LinkState, Source, Status
from kapmonitor.session import catalogues
from kapmonitor.session.catalogues import DEFAULT_DISCHARGE_ITEMS, ROUTES, SCALES, SEVERITIES, SIDE_EFFECTS
from kapmonitor.session.facts import DRUG_LABELS, STAFF_FIELDS

log = logging.getLogger(__name__)

DAY0 = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
SETTINGS_FILE = "deidentification.toml"

KEEP_META = ("simulated", "driver", "app_version", "kapmonitor_version", "version", "scenario", "schema_version")
DROP_FIELDS = ("pseudonym", "lot", "prestart_override_by", "prestart_override_reason", *STAFF_FIELDS)
# free-text fields a clinic may keep in a de-identified export (never names of people by design)
KEEP_CHOICES: dict[str, str] = {
    "events.drug": "the drug as typed, instead of its catalogue name",
    "events.dose": "the dose as typed, instead of its number and unit",
    "events.route": "the route as typed, instead of its catalogue code",
    "music.track": "track titles",
    "music.artist": "artists",
    "music.phase": "playlist phase names outside the standard four",
}

# generic drug -> names it is also written as (brands; facts from the products' labelling)
DRUGS: dict[str, tuple[str, ...]] = {
    "ondansetron": ("zofran", "zophren", "setofilm"),
    "metoclopramide": ("reglan", "paspertin", "maxolon", "primperan", "mcp"),
    "midazolam": ("dormicum", "versed", "hypnovel", "buccolam"),
    "lorazepam": ("ativan", "tavor", "temesta"),
    "diazepam": ("valium", "stesolid"),
    "clonidine": ("catapres", "catapresan"),
    "labetalol": ("trandate",),
    "metoprolol": ("lopressor", "beloc", "betaloc", "seloken"),
    "urapidil": ("ebrantil",),
    "nitroglycerin": ("glyceryl", "nitrolingual", "gtn"),
    "oxygen": ("o2",),
    "fluids": ("ringer", "hartmann"),
    "saline": ("nacl",),
    "dimenhydrinate": ("vomex", "dramamine"),
    "promethazine": ("phenergan",),
}
_DRUG_WORDS = {w: generic for generic, words in DRUGS.items() for w in (generic, *words)}
# the session records only catalogue side effects and drugs; anything else is "other"
EVENT_NAMES = frozenset([*SIDE_EFFECTS, *DRUGS])
MEDICATION_FLAGS = frozenset({"benzodiazepines", "stimulants", "maois", "maoi", "none", "opioids", "lamotrigine"})
EVENT_CATEGORIES = frozenset(catalogues.CODED_EVENT_CATEGORIES)  # notes and addenda are free text: left out
ROUTE_WORDS = {**{r.lower(): r for r in ROUTES}, "intravenous": "IV", "oral": "PO", "sublingual": "SL",
               "intramuscular": "IM", "subcutaneous": "SC", "intranasal": "IN", "nasal": "IN", "po": "PO"}
_DOSE = re.compile(r"\s*(\d+(?:[.,]\d+)?)\s*(mg|mcg|µg|ug|g|ml|l/min|iu|units?|mmol|mg/kg|%)(?![a-z])", re.I)
_VERSION = re.compile(r"^\d+(?:\.\d+){0,3}(?:[a-z]+\d*)?(?:\+[0-9a-f.]+)?$")
_WORDS = re.compile(r"[a-z0-9]+")

INFUSION_ACTIONS = frozenset(catalogues.INFUSION_ACTIONS)  # as the session records them
MUSIC_ACTIONS = frozenset({
    "play", "pause", "resume", "stop", "stopped", "previous", "next", "jump", "advance_phase", "skip_unreadable",
    "phase", "hold_phase", "volume", "ceiling", "duck", "unduck", "crossfade_setting", "output_device",
    "track_started", "track_ended", "end_of_playlist", "device_lost", "device_restored", "device_changed",
    "underrun", "error",
})
_ALARM_SUFFIXES = ("high", "low", "implausible", "invalid", "rise")
# the engine's own technical ids (its upper-case string constants) and its system rows
TECHNICAL_IDS = frozenset(
    v for k, v in vars(alarm_engine).items() if k.isupper() and isinstance(v, str) and ("-" in v or "." in v)
) | {"audio-pause", "limits", "baseline"}
_PROFILE_SETTINGS = profile_settings(default_profile())
LIMIT_SECTIONS = frozenset({k[0] for k in _PROFILE_SETTINGS} | {p.value for p in Parameter})
LIMIT_FIELD_PARTS = frozenset(part for k in _PROFILE_SETTINGS for part in k[1].split("."))
_PARAMETERS = frozenset(p.value for p in Parameter)
# the words of the pre-start check's own findings (kapmonitor.alarms.prestart); anything else is free text
PRESTART_WORDS = frozenset(
    w for info in PARAMETER_INFO.values() for w in _WORDS.findall(f"{info.label} {info.display_unit}".lower())
) | {"nibp", "systolic", "diastolic", "mean", "no", "baseline", "value", "confirm", "blocks", "the", "start",
     "needs", "a", "physician", "s", "ok", "mmhg", "min", "spo2", "hr"}


def prestart_message_code(value: object) -> str | None:
    """The pre-start finding when it is made only of the check's own words and numbers, else None."""
    if value is None:
        return None
    text = str(value)
    if len(text) > 300 or not re.fullmatch(r"[\w\s.,;:()<>=≥≤/%'’₂+-]*", text):
        return None
    words = [w for w in _WORDS.findall(text.lower()) if not w.isdigit()]
    return text if all(w in PRESTART_WORDS for w in words) else None


def _one_of(allowed: Iterable[str], default: str | None = None) -> Callable[[object], str | None]:
    """A coder that keeps a value only when it is one of `allowed` (case as in `allowed`)."""
    table = {a.lower(): a for a in allowed}

    def code(value: object) -> str | None:
        if value is None:
            return None
        return table.get(str(value).strip().lower(), default)

    return code


_parameter = _one_of(_PARAMETERS, "other")
_status = _one_of((s.value for s in Status), "other")
_source = _one_of((s.value for s in Source), "other")
_link_state = _one_of((s.value for s in LinkState), "other")
_kind = _one_of((k.value for k in AlarmKind), "technical")
_priority = _one_of((p.label for p in Priority), "low")
_alarm_event = _one_of((e.value for e in AlarmEventType), "other")
_severity = _one_of(SEVERITIES)
_scale = _one_of(SCALES, "other")
_phase = _one_of(DEFAULT_PHASES)
_infusion_action = _one_of(INFUSION_ACTIONS, "other")
_music_action = _one_of(MUSIC_ACTIONS, "other")
_category = _one_of(EVENT_CATEGORIES, "other")


def _as_text(value: object) -> str | None:
    """Kept as it is (for columns rebuilt afterwards, or marked safe by the clinic)."""
    return None if value is None else str(value)


def drug_code(value: object) -> str | None:
    """The catalogue name of the drug a text names ("Zofran per Dr X" -> "ondansetron"), else "other"."""
    if value is None or not str(value).strip():
        return None
    for word in _WORDS.findall(str(value).lower()):
        if word in _DRUG_WORDS:
            return _DRUG_WORDS[word]
    return "other"


def dose_code(value: object) -> str | None:
    """Number and unit of a dose ("4 mg per Dr X" -> "4 mg"); None when it does not start with one."""
    if value is None:
        return None
    m = _DOSE.match(str(value))
    return f"{m.group(1).replace(',', '.')} {m.group(2)}" if m else None


def route_code(value: object) -> str | None:
    if value is None:
        return None
    for word in _WORDS.findall(str(value).lower()):
        if word in ROUTE_WORDS:
            return ROUTE_WORDS[word]
    return None


def alarm_id_code(value: object) -> str:
    text = str(value or "")
    if text in TECHNICAL_IDS:
        return text
    head, _, tail = text.rpartition(".")
    if head in _PARAMETERS and tail in _ALARM_SUFFIXES:
        return text
    return "alarm"


def _limit_field(value: object) -> str | None:
    parts = str(value or "").split(".")
    return ".".join(parts) if all(p in LIMIT_FIELD_PARTS for p in parts) else "other"


def _number_text(value: object) -> str | None:
    try:
        return f"{float(str(value)):g}"
    except ValueError:
        return None


def load_keep_free_text(config_dir: Path | None = None) -> frozenset[str]:
    """The free-text fields this clinic keeps in de-identified exports (deidentification.toml).

    A missing file keeps none. A file that cannot be read or names an unknown field raises ValueError
    with a one-line reason: de-identifying with a setting other than the clinic's would be wrong.
    """
    from kapmonitor.config import config_dir as default_config_dir

    path = (config_dir or default_config_dir()) / SETTINGS_FILE
    if not path.is_file():
        return frozenset()
    try:
        doc = tomllib.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path} cannot be read: {exc}") from None
    keep = doc.get("keep_free_text", [])
    if not isinstance(keep, list) or not all(isinstance(k, str) for k in keep):
        raise ValueError(f"{path}: keep_free_text must be a list of field names")
    unknown = sorted(set(keep) - set(KEEP_CHOICES))
    if unknown:
        raise ValueError(f"{path}: unknown field(s) {', '.join(unknown)}; choose from {', '.join(KEEP_CHOICES)}")
    return frozenset(keep)


def pseudonym_hash(pseudonym: str, salt: str) -> str:
    digest = hmac.new(salt.encode("utf-8"), pseudonym.encode("utf-8"), hashlib.sha256).hexdigest()
    return "anon-" + digest[:16]


def random_salt() -> str:
    return secrets.token_hex(16)


def _clean_rows(rows: list[Row], shift: float, drop: tuple[str, ...], time_keys: tuple[str, ...] = ("t",),
                coders: dict[str, Callable[[object], str | None]] | None = None) -> list[Row]:
    """Shifted copies of `rows`: `drop` columns emptied, `coders` applied; any other text column that
    is neither a time nor coded is emptied too (deny by default: a new column never leaks)."""
    coders = coders or {}
    out = []
    for r in rows:
        c = dict(r)
        for k in time_keys:
            if c.get(k) is not None:
                c[k] = float(c[k]) + shift
        for k, v in c.items():
            if k in drop:
                c[k] = None
            elif k in coders:
                c[k] = coders[k](v)
            elif isinstance(v, str):
                c[k] = None
        out.append(c)
    return out


_DISCHARGE_LABELS = {i.key: i.label for i in DEFAULT_DISCHARGE_ITEMS}
_DISCHARGE_WORDS = frozenset(w for i in DEFAULT_DISCHARGE_ITEMS for w in _WORDS.findall(f"{i.key} {i.label}".lower()))


def _checklist_key(key: str) -> bool:
    """A plain checklist's key made only of the discharge catalogue's words ("escort_present")."""
    words = key.lower().split("_")
    return len(key) <= 60 and all(w in _DISCHARGE_WORDS for w in words)


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
            if str(key) not in _DISCHARGE_LABELS:
                continue  # an item this program does not know could carry anything
            items[str(key)] = {
                "label": _DISCHARGE_LABELS[str(key)],
                "checked": bool(item.get("checked")),
                "assessed": item.get("assessed") if isinstance(item.get("assessed"), bool) else None,
            }
        out: dict[str, object] = {"items": items, "override": bool(data.get("override_reason"))}
        if isinstance(data.get("observation_s"), int | float):
            out["observation_s"] = data["observation_s"]
        return json.dumps(out, sort_keys=True)
    if all(isinstance(v, bool) for v in data.values()):
        return json.dumps({str(k): v for k, v in data.items() if _checklist_key(str(k))}, sort_keys=True)
    return None


def day0_shift(data: SessionData) -> float:
    """Seconds to add to every time so the local first day becomes 2000-01-01 at offset 0."""
    first = data.first_time if data.first_time is not None else data.origin
    local = data.local(first)
    midnight = dt.datetime(local.year, local.month, local.day, tzinfo=data.tz)
    return DAY0.timestamp() - midnight.timestamp()


def _meta(meta: dict[str, str]) -> dict[str, str]:
    """Technical facts only, each checked against what kapmonitor writes there."""
    from kapmonitor.drivers.registry import available_drivers
    from kapmonitor.drivers.simulator import SCENARIOS

    checks: dict[str, Callable[[str], bool]] = {
        "simulated": lambda v: v.lower() in ("0", "1", "true", "false", "yes", "no"),
        "driver": lambda v: v in available_drivers(),
        "scenario": lambda v: v in SCENARIOS,
    }
    out = {}
    for k in KEEP_META:
        v = meta.get(k)
        if v is not None and checks.get(k, _is_version)(v):
            out[k] = v
    return out


def _is_version(text: str) -> bool:
    return bool(_VERSION.match(text))


def _alarm_message(a: Row) -> str:
    """A message that says only what the log's own columns say."""
    if a.get("kind") != "physiological":
        return str(a.get("alarm_id") or "technical")
    parts = [str(a.get("parameter") or "alarm")]
    if isinstance(a.get("value"), int | float):
        parts.append(f"{a['value']:g}")
    if isinstance(a.get("limit_value"), int | float):
        parts.append(f"(limit {a['limit_value']:g})")
    return " ".join(parts)


def _event_name(row: Row) -> str:
    name = str(row.get("name") or "").strip().lower()
    if name in EVENT_NAMES:
        return name
    drug = drug_code(name)
    return drug if drug not in (None, "other") else "other"


def deidentify(data: SessionData, salt: str | None = None, keep_free_text: Iterable[str] = ()) -> SessionData:
    """A de-identified copy of `data` (see the module docstring for the rules).

    `keep_free_text`: fields of `KEEP_CHOICES` the clinic marked safe (ValueError for others).
    """
    keep = frozenset(keep_free_text)
    unknown = keep - set(KEEP_CHOICES)
    if unknown:
        raise ValueError(f"unknown free-text field(s) {', '.join(sorted(unknown))}")

    def kept(name: str, coder: Callable[[object], str | None]) -> Callable[[object], str | None]:
        return _as_text if name in keep else coder

    salt = salt or random_salt()
    shift = day0_shift(data)
    fields: dict[str, Any] = {k: v for k, v in data.fields.items() if k not in DROP_FIELDS and not isinstance(v, str)}
    pseudonym = data.fields.get("pseudonym")
    fields["pseudonym"] = pseudonym_hash(str(pseudonym), salt) if pseudonym else None
    for k in DROP_FIELDS:
        if k != "pseudonym":
            fields[k] = None
    drug = data.fields.get("drug")
    fields["drug"] = drug if drug in DRUG_LABELS else None
    fields["prestart_message"] = prestart_message_code(data.fields.get("prestart_message"))
    if data.fields.get("medication_flags"):
        tokens = [x.strip().lower() for x in str(data.fields["medication_flags"]).replace(";", ",").split(",")]
        kept_flags = sorted({x for x in tokens if x in MEDICATION_FLAGS})
        fields["medication_flags"] = ",".join(kept_flags) or None

    ids: dict[str, str] = {}
    mids: list[str | None] = []
    for m in data.samples.measurement_id:
        if m is None:
            mids.append(None)
        else:
            mids.append(ids.setdefault(m, f"m{len(ids) + 1}"))
    s = data.samples
    samples = Samples(s.t + shift, [str(_parameter(p)) for p in s.parameter], list(s.value),
                      [str(_status(x)) for x in s.status], [str(_source(x)) for x in s.source], mids)

    alarms = _clean_rows(data.alarms, shift, ("who",), coders={
        "alarm_id": alarm_id_code, "parameter": _parameter, "kind": _kind, "priority": _priority,
        "event": _alarm_event, "message": _as_text})
    for a in alarms:
        a["message"] = _alarm_message(a)
    events = []
    for e in data.events:
        if str(e.get("category", "")).lower() not in EVENT_CATEGORIES:
            continue  # notes, addenda and anything unknown are free text
        row = _clean_rows([e], shift, ("note", "who"), coders={
            "category": _category, "name": _as_text, "severity": _severity,
            "drug": kept("events.drug", drug_code), "dose": kept("events.dose", dose_code),
            "route": kept("events.route", route_code)})[0]
        row["name"] = _event_name(e)
        events.append(row)
    discharge = _clean_rows(data.discharge, shift, ("who",), coders={"checklist": _as_text})
    for d in discharge:
        d["checklist"] = _checklist(d.get("checklist")) or "{}"
    music = _clean_rows(data.music, shift, ("path", "detail"), coders={
        "action": _music_action, "phase": kept("music.phase", _phase),
        "track": kept("music.track", lambda v: None), "artist": kept("music.artist", lambda v: None)})
    return replace(
        data,
        meta=_meta(data.meta),
        info={},
        fields=fields,
        samples=samples,
        waves=_clean_rows(data.waves, shift, (), ("t0",), coders={"parameter": _parameter, "source": _source}),
        alarms=alarms,
        limit_changes=_clean_rows(data.limit_changes, shift, ("who", "reason"), coders={
            "parameter": _one_of(LIMIT_SECTIONS, "other"), "field": _limit_field,
            "old_value": _number_text, "new_value": _number_text}),
        infusion=_clean_rows(data.infusion, shift, ("who", "reason"), coders={"action": _infusion_action}),
        events=events,
        scales=_clean_rows(data.scales, shift, ("who", "detail"), coders={"scale": _scale}),
        discharge=discharge,
        music=music,
        link_events=_clean_rows(data.link_events, shift, ("detail",), coders={"state": _link_state}),
        audit=[],
        utc_offset_minutes=0,
        origin=data.origin + shift,
        infusion_start=None if data.infusion_start is None else data.infusion_start + shift,
        infusion_stop=None if data.infusion_stop is None else data.infusion_stop + shift,
        pauses=[Pause(p.start + shift, None if p.end is None else p.end + shift, None) for p in data.pauses],
        first_time=None if data.first_time is None else data.first_time + shift,
        last_time=None if data.last_time is None else data.last_time + shift,
        deidentified=True,
        extra={**data.extra, "day0": DAY0.date().isoformat(), "shift_rule": "first local day = 2000-01-01",
               "free_text_kept": sorted(keep)},
    )
