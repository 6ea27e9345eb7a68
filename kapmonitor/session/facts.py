"""The session's set-up facts as `session_info` holds them: the keys understood (several spellings
accepted, so a renamed key degrades to "not recorded", never a crash) and their types.

Used by the session's own readers and by the exports, so both read the same facts the same way.
Thread-safety: pure functions and constants.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

# normalised session field -> keys accepted in session_info (first present wins)
INFO_ALIASES: dict[str, tuple[str, ...]] = {
    "pseudonym": ("pseudonym", "patient_pseudonym", "patient_id"),
    "course_number": ("course_number", "session_number", "number_in_course"),
    "course_total": ("course_total", "sessions_in_course", "course_length"),
    "nurse": ("nurse_initials", "nurse"),
    "therapist": ("therapist_initials", "therapist"),
    "prescriber": ("prescriber_initials", "prescriber", "physician_initials"),
    "weight_kg": ("weight_kg", "weight"),
    "drug": ("drug", "drug_name"),
    "lot": ("lot", "lot_number"),
    "dose_mg_per_kg": ("dose_mg_per_kg", "dose_mg_kg"),
    "dose_confirmed": ("dose_confirmed",),
    "total_mg": ("plan_total_mg", "total_mg", "dose_total_mg"),
    "concentration_mg_per_ml": ("concentration_mg_per_ml", "concentration_mg_ml"),
    "volume_ml": ("plan_volume_ml", "volume_ml", "total_volume_ml"),
    "rate_ml_per_h": ("plan_rate_ml_per_h", "rate_ml_per_h", "rate_ml_h"),
    "pump_rate_ml_per_h": ("pump_rate_ml_per_h",),
    "duration_min": ("duration_min", "infusion_duration_min"),
    "volume_infused_ml": ("volume_infused_ml",),
    "volume_confirmed": ("volume_infused_confirmed",),
    "volume_computed_ml": ("volume_computed_ml",),
    "observation_min": ("observation_min",),
    "consent": ("consent", "consent_confirmed"),
    "escort": ("escort", "escort_confirmed", "escort_present"),
    "medication_flags": ("concomitant", "medication_flags", "comedication"),
    "prestart_ok": ("prestart_ok",),
    "prestart_message": ("prestart_message",),
    "prestart_override_by": ("prestart_override_by",),
    "prestart_override_reason": ("prestart_override_reason",),
}
# display names of the drug ids kapmonitor.session writes
DRUG_LABELS = {"racemic-ketamine-iv": "Racemic ketamine IV", "esketamine": "Esketamine"}
STAFF_FIELDS = ("nurse", "therapist", "prescriber")
NUMBER_FIELDS = (
    "course_number",
    "course_total",
    "weight_kg",
    "dose_mg_per_kg",
    "total_mg",
    "concentration_mg_per_ml",
    "volume_ml",
    "rate_ml_per_h",
    "pump_rate_ml_per_h",
    "duration_min",
    "volume_infused_ml",
    "volume_computed_ml",
    "observation_min",
)
BOOL_FIELDS = ("consent", "escort", "dose_confirmed", "prestart_ok", "volume_confirmed")


def as_bool(text: str | None) -> bool:
    return str(text or "").strip().lower() in ("1", "true", "yes", "on")


def as_number(text: object) -> float | int | None:
    if text is None:
        return None
    try:
        value = float(str(text).strip())
    except ValueError:
        return None
    if not math.isfinite(value):
        return None
    if value.is_integer() and "." not in str(text):
        return int(value)
    return round(value, 6)


def _first(info: dict[str, str | None], keys: Sequence[str]) -> str | None:
    for k in keys:
        if k in info and info[k] not in (None, ""):
            return info[k]
    return None


def normalise_info(info: dict[str, str | None]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, keys in INFO_ALIASES.items():
        raw = _first(info, keys)
        if name in NUMBER_FIELDS:
            fields[name] = as_number(raw)
        elif name in BOOL_FIELDS:
            fields[name] = None if raw is None else as_bool(raw)
        else:
            fields[name] = raw
    return fields
