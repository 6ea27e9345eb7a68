"""What the nurse writes into the session record: events, scale scores and the pre-start outcome,
the checks on what she types, and the errors a session action raises.

Pure values and functions (no database, no clock): the session facade (session.py) checks input
here before it takes its lock, so a typing slip gives a clear message and records nothing.
Everything here is immutable or pure: safe in any thread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Protocol

from kapmonitor.model.samples import Item
from kapmonitor.session.catalogues import SCALES, SEVERITIES, SIDE_EFFECTS
from kapmonitor.session.model import ValidationError


class SessionError(Exception):
    """A session action that cannot be done now; the message says why in one line."""


class SessionClosedError(SessionError):
    """The session has been discharged: only audited addenda may be added."""


class PrestartBlockedError(SessionError):
    """The pre-start check failed and nobody overrode it."""


class DischargeError(SessionError):
    """Discharge criteria are not met (and no override was given)."""


class RecordSink(Protocol):
    """What the session needs of `SessionRecorder`."""

    def insert(self, table: str, row: Mapping[str, object]) -> None: ...

    def execute(self, sql: str, params: Sequence[object] = ()) -> None: ...

    def on_items(self, items: Sequence[Item]) -> None: ...


@dataclass(frozen=True, slots=True)
class PrestartOutcome:
    """The pre-start check as recorded: its verdict and, if overridden, who and why."""

    ok: bool
    message: str
    override_by: str | None = None
    override_reason: str | None = None


PrestartCheck = Callable[[], object]


def interpret_prestart(result: object) -> PrestartOutcome:
    """Accept what a pre-start hook returns: a bool, (ok, message), or an object with `ok`.

    An object may also carry `override_by`/`who` and `override_reason`/`reason` when the hook
    asked the nurse to override, and `message`/`summary` describing the findings.
    """
    if isinstance(result, PrestartOutcome):
        return result
    if isinstance(result, bool):
        return PrestartOutcome(result, "pre-start check passed" if result else "pre-start check failed")
    if isinstance(result, tuple) and len(result) >= 1:
        return PrestartOutcome(bool(result[0]), str(result[1]) if len(result) > 1 else "")
    ok = bool(getattr(result, "ok", False))
    message = getattr(result, "message", None) or getattr(result, "summary", None)
    if callable(message):
        message = message()
    if message is None:
        problems = getattr(result, "problems", None) or getattr(result, "findings", None)
        message = "; ".join(str(p) for p in problems) if problems else ""
    who = getattr(result, "override_by", None) or getattr(result, "who", None)
    reason = getattr(result, "override_reason", None) or getattr(result, "reason", None)
    return PrestartOutcome(ok, str(message), None if who is None else str(who), None if reason is None else str(reason))


def resolve_prestart(result: object, who: str, override_reason: str | None) -> PrestartOutcome:
    """The outcome of the pre-start hook's `result` at a start by `who`: passed, or failed and overridden
    with a reason (the hook's or the nurse's). Raises PrestartBlockedError when failed without one."""
    outcome = interpret_prestart(result)
    if outcome.ok:
        return outcome
    reason = outcome.override_reason or override_reason
    if not reason or not reason.strip():
        raise PrestartBlockedError(f"pre-start check failed: {outcome.message or 'see the check'}")
    return replace(outcome, override_by=outcome.override_by or who, override_reason=reason.strip())


@dataclass(frozen=True, slots=True)
class ClinicalEvent:
    id: int
    t: float
    category: str  # side_effect, intervention, note, addendum (catalogues.EVENT_CATEGORIES)
    name: str
    severity: str | None = None
    drug: str | None = None
    dose: str | None = None
    route: str | None = None
    note: str | None = None
    who: str | None = None
    deleted: bool = False

    @property
    def label(self) -> str:
        if self.category == "side_effect":
            text = self.name.capitalize() + (f" ({self.severity})" if self.severity else "")
            return text + (f": {self.note}" if self.note else "")
        if self.category == "intervention":
            return " ".join(x for x in (self.drug or self.name, self.dose, self.route) if x)
        prefix = "Addendum" if self.category == "addendum" else "Note"
        return f"{prefix}: {self.note or self.name}"

    def fields(self) -> dict[str, object]:
        """The recorded fields that have a value (for the audit trail)."""
        d = asdict(self)
        d.pop("id")
        d.pop("deleted")
        return {k: v for k, v in d.items() if v is not None}


@dataclass(frozen=True, slots=True)
class ScaleEntry:
    id: int
    t: float
    scale: str
    score: float
    detail: str | None = None
    who: str | None = None
    deleted: bool = False

    @property
    def label(self) -> str:
        spec = SCALES.get(self.scale)
        return f"{spec.label if spec else self.scale} {self.score:g}"


# -- checks on what the nurse types (raise ValidationError(field, why)) ---------------------------------


def side_effect_fields(name: str, severity: str, note: str | None) -> dict[str, Any]:
    """The fields of a side-effect event, from the catalogue."""
    name = name.strip().lower()
    if name not in SIDE_EFFECTS:
        raise ValidationError("name", f"unknown side effect {name!r}; choose one of {', '.join(SIDE_EFFECTS)}")
    if severity not in SEVERITIES:
        raise ValidationError("severity", f"severity must be one of {', '.join(SEVERITIES)}")
    note = (note or "").strip() or None
    if name == "other" and not note:
        raise ValidationError("note", "describe the side effect")
    return {"category": "side_effect", "name": name, "severity": severity, "note": note}


def _has_number(dose: object) -> bool:
    return any(ch.isdigit() for ch in str(dose or ""))


def intervention_fields(drug: str, dose: str, route: str, note: str | None) -> dict[str, Any]:
    """The fields of an intervention event: a drug, a dose with a number, a route."""
    drug, dose, route = drug.strip(), dose.strip(), route.strip()
    if not drug:
        raise ValidationError("drug", "enter the drug given")
    if not dose:
        raise ValidationError("dose", "enter the dose with its unit (e.g. 4 mg)")
    if not _has_number(dose):
        raise ValidationError("dose", "the dose needs a number (e.g. 4 mg)")
    if not route:
        raise ValidationError("route", "enter the route (e.g. IV)")
    return {"category": "intervention", "name": drug.lower(), "drug": drug, "dose": dose, "route": route,
            "note": (note or "").strip() or None}


def note_fields(text: str) -> dict[str, Any]:
    if not text.strip():
        raise ValidationError("note", "the note is empty")
    return {"category": "note", "name": "note", "note": text.strip()}


def addendum_fields(text: str, who: str) -> dict[str, Any]:
    """An addendum always names who writes it (it may come after discharge)."""
    if not text.strip():
        raise ValidationError("note", "the addendum is empty")
    if not who.strip():
        raise ValidationError("who", "an addendum needs the initials of who writes it")
    return {"category": "addendum", "name": "addendum", "note": text.strip()}


EDITABLE_EVENT_FIELDS = frozenset({"t", "name", "severity", "drug", "dose", "route", "note"})


def check_change(who: str, reason: str, fields: Mapping[str, object] = {}, reason_needed: bool = False) -> None:
    """An edit or removal of the record: editable fields, the initials of who does it and, for a
    removal, why. Raises ValidationError."""
    bad = set(fields) - EDITABLE_EVENT_FIELDS
    if bad:
        raise ValidationError(sorted(bad)[0], "this field cannot be edited")
    if reason_needed and not reason.strip():
        raise ValidationError("reason", "say why the entry is removed")
    if not who.strip():
        raise ValidationError("who", "enter your initials to edit the record")


def check_event_edit(old: ClinicalEvent, changes: dict[str, Any], now: float) -> dict[str, Any]:
    """The changes to an event as they will be recorded (`t` as a float). Raises ValidationError
    for a field that cannot be edited or a value its category does not allow."""
    bad = set(changes) - EDITABLE_EVENT_FIELDS
    if bad:
        raise ValidationError(sorted(bad)[0], "this field cannot be edited")
    out = dict(changes)
    if "severity" in out and out["severity"] not in SEVERITIES and old.category == "side_effect":
        raise ValidationError("severity", f"severity must be one of {', '.join(SEVERITIES)}")
    if "t" in out:
        out["t"] = float(out["t"])
        if out["t"] > now + 1.0:
            raise ValidationError("t", "the time is in the future")
    if old.category == "intervention" and "dose" in out and not _has_number(out["dose"]):
        raise ValidationError("dose", "the dose needs a number (e.g. 4 mg)")
    if old.category == "side_effect" and "name" in out and out["name"] not in SIDE_EFFECTS:
        raise ValidationError("name", f"unknown side effect {out['name']!r}")
    return out


def check_scale_score(scale: str, score: object) -> float:
    """A score of a known scale as a float. Raises ValidationError."""
    spec = SCALES.get(scale)
    if spec is None:
        raise ValidationError("scale", f"unknown scale {scale!r}")
    if not isinstance(score, int | float) or isinstance(score, bool) or score != score:
        raise ValidationError("score", "the score must be a number")
    if not spec.accepts(score):
        raise ValidationError("score", f"{spec.label} is a whole number from {spec.minimum} to {spec.maximum}")
    return float(score)
