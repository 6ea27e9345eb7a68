"""The session set-up the nurse enters, its validation, and the dose plan derived from it.

Everything here is pure and immutable, so the set-up can be handed between threads freely.
Validation names the field at fault so a form can show the message next to it.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field, fields, replace
from enum import StrEnum

# Plausibility bounds: values outside are refused outright (typing errors, not clinical choices).
WEIGHT_KG_RANGE = (20.0, 300.0)
DOSE_USUAL_RANGE = (0.1, 1.0)  # outside needs an explicit confirmation
DOSE_HARD_RANGE = (0.01, 3.0)  # outside refused
CONCENTRATION_RANGE = (0.1, 100.0)
DURATION_MIN_RANGE = (1.0, 240.0)
MAX_VOLUME_ML = 500.0
MAX_PUMP_RATE_ML_H = 999.0
PUMP_RATE_TOLERANCE = 0.02  # relative; a checked pump rate must agree with the computed one
COURSE_TOTAL_MAX = 50

CONCOMITANT_FLAGS: dict[str, str] = {
    "benzodiazepines": "Benzodiazepines",
    "stimulants": "Stimulants",
    "maois": "MAOIs",
}

_PSEUDONYM_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,31}$")
_INITIALS_RE = re.compile(r"^[^\W\d_]{1,4}$")


class Drug(StrEnum):
    RACEMIC_KETAMINE_IV = "racemic-ketamine-iv"
    ESKETAMINE = "esketamine"

    @property
    def label(self) -> str:
        return "Racemic ketamine IV" if self is Drug.RACEMIC_KETAMINE_IV else "Esketamine"

    @property
    def observation_min(self) -> float:
        """Minimum observation after the end of the infusion."""
        return 60.0 if self is Drug.RACEMIC_KETAMINE_IV else 120.0


class ValidationError(ValueError):
    """A set-up value that cannot be accepted; `field` names the form field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def check_initials(value: str, field: str = "initials", who: str = "nurse") -> str:
    """The initials stripped, or ValidationError naming `field` (1–4 letters, as on the set-up form)."""
    value = value.strip()
    if not value:
        raise ValidationError(field, f"enter the {who}'s initials")
    if not _INITIALS_RE.match(value):
        raise ValidationError(field, "initials are 1–4 letters")
    return value


@dataclass(frozen=True, slots=True)
class DosePlan:
    """What to give and how fast: shown large for the double-check against the pump."""

    total_mg: float
    volume_ml: float
    rate_ml_per_h: float


@dataclass(frozen=True, slots=True)
class SessionSetup:
    """Everything the nurse enters before the infusion. Call `validate()` (or `validated()`)."""

    pseudonym: str
    course_number: int
    course_total: int
    nurse_initials: str
    therapist_initials: str
    prescriber_initials: str
    weight_kg: float
    drug: Drug = Drug.RACEMIC_KETAMINE_IV
    dose_mg_per_kg: float = 0.5
    concentration_mg_per_ml: float = 10.0
    duration_min: float = 40.0
    lot: str = ""
    concomitant: frozenset[str] = field(default_factory=frozenset)
    consent: bool = False
    escort: bool = False
    dose_confirmed: bool = False  # explicit confirmation of a dose outside the usual range
    pump_rate_ml_per_h: float | None = None  # rate read back from the pump, if entered
    simulated: bool = False

    def validate(self) -> None:
        """Raise ValidationError for the first field at fault (in form order)."""
        for err in validation_errors(self):
            raise err

    def validated(self) -> SessionSetup:
        self.validate()
        return self

    @property
    def observation_min(self) -> float:
        return self.drug.observation_min

    def to_info(self) -> dict[str, str]:
        """Key/value strings for the session_info table."""
        out: dict[str, str] = {}
        for key, value in asdict(self).items():
            if key == "concomitant":
                out[key] = ",".join(sorted(self.concomitant))
            elif isinstance(value, bool):
                out[key] = "1" if value else "0"
            elif value is None:
                continue
            else:
                out[key] = str(value)
        return out

    @classmethod
    def from_info(cls, info: dict[str, str]) -> SessionSetup:
        """Rebuild a set-up from session_info strings (raises ValidationError if a field is bad)."""
        kwargs: dict[str, object] = {}
        for f in fields(cls):
            if f.name not in info:
                continue
            raw = info[f.name]
            try:
                if f.name == "concomitant":
                    kwargs[f.name] = frozenset(x for x in raw.split(",") if x)
                elif f.name == "drug":
                    kwargs[f.name] = Drug(raw)
                elif f.name in ("course_number", "course_total"):
                    kwargs[f.name] = int(raw)
                elif f.name in ("consent", "escort", "dose_confirmed", "simulated"):
                    kwargs[f.name] = raw == "1"
                elif f.name in (
                    "weight_kg",
                    "dose_mg_per_kg",
                    "concentration_mg_per_ml",
                    "duration_min",
                    "pump_rate_ml_per_h",
                ):
                    kwargs[f.name] = float(raw)
                else:
                    kwargs[f.name] = raw
            except ValueError as exc:
                raise ValidationError(f.name, f"cannot read {raw!r} from the record") from exc
        for required in (
            "pseudonym",
            "course_number",
            "course_total",
            "nurse_initials",
            "therapist_initials",
            "prescriber_initials",
            "weight_kg",
        ):
            if required not in kwargs:
                raise ValidationError(required, "missing from the record")
        return cls(**kwargs)  # type: ignore[arg-type]

    def with_changes(self, **changes: object) -> SessionSetup:
        return replace(self, **changes)  # type: ignore[arg-type]


def dose_plan(setup: SessionSetup) -> DosePlan:
    """Total mg = weight × dose; volume = total / concentration; rate = volume / duration."""
    total = setup.weight_kg * setup.dose_mg_per_kg
    volume = total / setup.concentration_mg_per_ml
    rate = volume / (setup.duration_min / 60.0)
    return DosePlan(total_mg=total, volume_ml=volume, rate_ml_per_h=rate)


def _finite(value: float, name: str) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise ValidationError(name, "must be a number")


def _in_range(value: float, bounds: tuple[float, float], name: str, unit: str) -> None:
    _finite(value, name)
    lo, hi = bounds
    if not lo <= value <= hi:
        raise ValidationError(name, f"must be between {lo:g} and {hi:g} {unit} (got {value:g})")


def validation_errors(setup: SessionSetup) -> list[ValidationError]:
    """Every field at fault, in form order (a form shows them all at once)."""
    errors: list[ValidationError] = []

    def check(fn: object) -> None:
        try:
            fn()  # type: ignore[operator]
        except ValidationError as err:
            errors.append(err)

    def pseudonym() -> None:
        if not setup.pseudonym.strip():
            raise ValidationError("pseudonym", "enter the patient's pseudonymous id (no names)")
        if not _PSEUDONYM_RE.match(setup.pseudonym):
            raise ValidationError(
                "pseudonym", "use up to 32 letters, digits, '-', '_' or '.', no spaces (a pseudonym, not a name)"
            )

    def course() -> None:
        if not 1 <= setup.course_total <= COURSE_TOTAL_MAX:
            raise ValidationError("course_total", f"sessions in the course must be 1–{COURSE_TOTAL_MAX}")
        if not 1 <= setup.course_number <= setup.course_total:
            raise ValidationError("course_number", f"session number must be 1–{setup.course_total}")

    def initials(name: str, who: str) -> None:
        value = getattr(setup, name)
        if not value.strip():
            raise ValidationError(name, f"enter the {who}'s initials")
        if not _INITIALS_RE.match(value):
            raise ValidationError(name, "initials are 1–4 letters")

    def weight() -> None:
        _finite(setup.weight_kg, "weight_kg")
        if setup.weight_kg <= 0:
            raise ValidationError("weight_kg", "weight must be more than 0 kg")
        _in_range(setup.weight_kg, WEIGHT_KG_RANGE, "weight_kg", "kg")

    def dose() -> None:
        _finite(setup.dose_mg_per_kg, "dose_mg_per_kg")
        if setup.dose_mg_per_kg <= 0:
            raise ValidationError("dose_mg_per_kg", "dose must be more than 0 mg/kg")
        _in_range(setup.dose_mg_per_kg, DOSE_HARD_RANGE, "dose_mg_per_kg", "mg/kg")
        lo, hi = DOSE_USUAL_RANGE
        if not lo <= setup.dose_mg_per_kg <= hi and not setup.dose_confirmed:
            raise ValidationError(
                "dose_mg_per_kg",
                f"{setup.dose_mg_per_kg:g} mg/kg is outside the usual {lo:g}–{hi:g} mg/kg: confirm it explicitly",
            )

    def concentration() -> None:
        _finite(setup.concentration_mg_per_ml, "concentration_mg_per_ml")
        if setup.concentration_mg_per_ml <= 0:
            raise ValidationError("concentration_mg_per_ml", "concentration must be more than 0 mg/mL")
        _in_range(setup.concentration_mg_per_ml, CONCENTRATION_RANGE, "concentration_mg_per_ml", "mg/mL")

    def duration() -> None:
        _in_range(setup.duration_min, DURATION_MIN_RANGE, "duration_min", "min")

    def plan() -> None:
        if any(e.field in ("weight_kg", "dose_mg_per_kg", "concentration_mg_per_ml", "duration_min") for e in errors):
            return
        p = dose_plan(setup)
        if p.volume_ml > MAX_VOLUME_ML:
            raise ValidationError(
                "concentration_mg_per_ml", f"volume {p.volume_ml:.1f} mL is more than {MAX_VOLUME_ML:g} mL"
            )
        if p.rate_ml_per_h > MAX_PUMP_RATE_ML_H:
            raise ValidationError(
                "duration_min", f"rate {p.rate_ml_per_h:.1f} mL/h is more than a pump's {MAX_PUMP_RATE_ML_H:g} mL/h"
            )
        if setup.pump_rate_ml_per_h is not None:
            _finite(setup.pump_rate_ml_per_h, "pump_rate_ml_per_h")
            expected = p.rate_ml_per_h
            if abs(setup.pump_rate_ml_per_h - expected) > max(0.05, PUMP_RATE_TOLERANCE * expected):
                minutes = p.volume_ml / setup.pump_rate_ml_per_h * 60 if setup.pump_rate_ml_per_h > 0 else math.inf
                raise ValidationError(
                    "pump_rate_ml_per_h",
                    f"{setup.pump_rate_ml_per_h:g} mL/h does not fit {p.volume_ml:.1f} mL over "
                    f"{setup.duration_min:g} min (needs {expected:.1f} mL/h; this rate would take {minutes:.0f} min)",
                )

    def lot() -> None:
        if len(setup.lot) > 40:
            raise ValidationError("lot", "lot number is at most 40 characters")

    def concomitant() -> None:
        unknown = set(setup.concomitant) - set(CONCOMITANT_FLAGS)
        if unknown:
            raise ValidationError("concomitant", f"unknown medication flag(s): {', '.join(sorted(unknown))}")

    def consent() -> None:
        if not setup.consent:
            raise ValidationError("consent", "consent must be confirmed before the session")

    def escort() -> None:
        if not setup.escort:
            raise ValidationError("escort", "an escort home must be confirmed")

    check(pseudonym)
    check(course)
    check(lambda: initials("nurse_initials", "nurse"))
    check(lambda: initials("therapist_initials", "therapist"))
    check(lambda: initials("prescriber_initials", "prescriber"))
    check(weight)
    check(dose)
    check(concentration)
    check(duration)
    check(plan)
    check(lot)
    check(concomitant)
    check(consent)
    check(escort)
    return errors


def demo_setup(course_number: int = 1) -> SessionSetup:
    """A plausible set-up for the simulated monitor (clearly marked simulated)."""
    return SessionSetup(
        pseudonym="DEMO-001",
        course_number=course_number,
        course_total=max(3, course_number),
        nurse_initials="DN",
        therapist_initials="DT",
        prescriber_initials="DP",
        weight_kg=70.0,
        drug=Drug.RACEMIC_KETAMINE_IV,
        dose_mg_per_kg=0.5,
        concentration_mg_per_ml=10.0,
        duration_min=40.0,
        lot="DEMO-LOT",
        consent=True,
        escort=True,
        simulated=True,
    )
