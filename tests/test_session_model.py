"""Set-up validation and the dose / volume / rate arithmetic (property-based)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kapmonitor.session.model import (
    Drug,
    SessionSetup,
    ValidationError,
    demo_setup,
    dose_plan,
    validation_errors,
)


def setup(**changes: object) -> SessionSetup:
    return demo_setup().with_changes(simulated=False, **changes)


def test_demo_plan_matches_hand_arithmetic() -> None:
    p = dose_plan(demo_setup())
    # 70 kg x 0.5 mg/kg = 35 mg; / 10 mg/mL = 3.5 mL; over 40 min = 5.25 mL/h
    assert p.total_mg == pytest.approx(35.0)
    assert p.volume_ml == pytest.approx(3.5)
    assert p.rate_ml_per_h == pytest.approx(5.25)
    demo_setup().validate()


@given(
    weight=st.floats(20, 300),
    dose=st.floats(0.01, 3.0),
    conc=st.floats(0.1, 100),
    minutes=st.floats(1, 240),
)
def test_plan_is_consistent(weight: float, dose: float, conc: float, minutes: float) -> None:
    p = dose_plan(setup(weight_kg=weight, dose_mg_per_kg=dose, concentration_mg_per_ml=conc, duration_min=minutes))
    assert p.total_mg == pytest.approx(weight * dose, rel=1e-12)
    assert p.volume_ml * conc == pytest.approx(p.total_mg, rel=1e-12)
    # running the pump at the rate for the duration delivers exactly the volume
    assert p.rate_ml_per_h * minutes / 60 == pytest.approx(p.volume_ml, rel=1e-12)
    assert all(math.isfinite(x) and x > 0 for x in (p.total_mg, p.volume_ml, p.rate_ml_per_h))


@given(weight=st.floats(20, 300), dose=st.floats(0.1, 1.0), factor=st.floats(1.5, 10))
def test_doubling_weight_doubles_everything_and_rate_scales_inversely_with_time(
    weight: float, dose: float, factor: float
) -> None:
    base = setup(weight_kg=weight, dose_mg_per_kg=dose)
    heavier = setup(weight_kg=weight * 2, dose_mg_per_kg=dose)
    a, b = dose_plan(base), dose_plan(heavier)
    assert b.total_mg == pytest.approx(2 * a.total_mg)
    assert b.rate_ml_per_h == pytest.approx(2 * a.rate_ml_per_h)
    slower = dose_plan(setup(weight_kg=weight, dose_mg_per_kg=dose, duration_min=40 * factor))
    assert slower.volume_ml == pytest.approx(a.volume_ml)
    assert slower.rate_ml_per_h == pytest.approx(a.rate_ml_per_h / factor)


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_any_weight_is_either_valid_or_refused_at_the_weight_field(weight: float) -> None:
    errors = [e for e in validation_errors(setup(weight_kg=weight)) if e.field == "weight_kg"]
    if math.isfinite(weight) and 20 <= weight <= 300:
        assert errors == []
    else:
        assert len(errors) == 1 and errors[0].message


@pytest.mark.parametrize(
    ("changes", "field", "text"),
    [
        ({"weight_kg": 0.0}, "weight_kg", "more than 0"),
        ({"weight_kg": math.nan}, "weight_kg", "number"),
        ({"dose_mg_per_kg": 1.5}, "dose_mg_per_kg", "confirm"),
        ({"dose_mg_per_kg": 0.05}, "dose_mg_per_kg", "confirm"),
        ({"dose_mg_per_kg": 5.0, "dose_confirmed": True}, "dose_mg_per_kg", "between"),
        ({"concentration_mg_per_ml": 0.0}, "concentration_mg_per_ml", "more than 0"),
        ({"duration_min": 0.0}, "duration_min", "between"),
        ({"pump_rate_ml_per_h": 9.0}, "pump_rate_ml_per_h", "does not fit"),
        ({"pseudonym": "Jane Doe"}, "pseudonym", "no spaces"),
        ({"pseudonym": ""}, "pseudonym", "pseudonymous"),
        ({"course_number": 4, "course_total": 3}, "course_number", "1–3"),
        ({"nurse_initials": "A1"}, "nurse_initials", "letters"),
        ({"prescriber_initials": ""}, "prescriber_initials", "initials"),
        ({"consent": False}, "consent", "consent"),
        ({"escort": False}, "escort", "escort"),
        ({"concomitant": frozenset({"opioids"})}, "concomitant", "opioids"),
        (
            {"weight_kg": 300.0, "dose_mg_per_kg": 3.0, "dose_confirmed": True, "concentration_mg_per_ml": 0.1},
            "concentration_mg_per_ml",
            "500 mL",
        ),
    ],
)
def test_bad_input_is_refused_at_its_field(changes: dict[str, object], field: str, text: str) -> None:
    s = setup(**changes)
    errors = validation_errors(s)
    assert field in [e.field for e in errors], errors
    assert text in next(e for e in errors if e.field == field).message
    with pytest.raises(ValidationError):
        s.validate()


def test_unusual_dose_passes_when_confirmed_and_pump_rate_within_tolerance() -> None:
    setup(dose_mg_per_kg=1.2, dose_confirmed=True).validate()
    setup(pump_rate_ml_per_h=5.3).validate()  # 5.25 computed; within 2 %


def test_info_round_trip() -> None:
    s = setup(drug=Drug.ESKETAMINE, concomitant=frozenset({"benzodiazepines", "maois"}), pump_rate_ml_per_h=5.25)
    assert SessionSetup.from_info(s.to_info()) == s
    assert s.observation_min == 120.0
    assert demo_setup().observation_min == 60.0


def test_from_info_reports_a_bad_stored_value() -> None:
    info = setup().to_info()
    info["weight_kg"] = "heavy"
    with pytest.raises(ValidationError, match="weight_kg"):
        SessionSetup.from_info(info)
