"""The nurse on duty: sign-in, change of nurse, and every bedside action credited to her, on real
SQLite records (defect 1's attribution part, issue 11)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from kapmonitor.model.clock import ManualClock
from kapmonitor.model.parameters import Parameter
from kapmonitor.session import NurseSession, ValidationError, demo_setup
from kapmonitor.session.catalogues import NOT_SIGNED_IN
from kapmonitor.session.entries import PrestartOutcome

T0 = 1_700_000_000.0


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def session(tmp_path: Path, clock: ManualClock) -> Iterator[NurseSession]:
    s = NurseSession.create(demo_setup().with_changes(simulated=False), clock, path=tmp_path / "s.kapsession")
    yield s
    s.shutdown()


def rows(path: Path, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def test_nobody_signed_in_is_recorded_as_such_never_as_the_setup_nurse(session: NurseSession) -> None:
    assert session.on_duty is None
    session.add_intervention("Midazolam", "1 mg", "IV")
    session.record_scale("moaas", 5)
    session.submit_manual_vitals({Parameter.HR: 70.0})
    session.start_infusion()
    assert session.flush()
    who = {
        "event": rows(session.path, "SELECT who FROM clinical_events"),
        "scale": rows(session.path, "SELECT who FROM scales"),
        "manual": rows(session.path, "SELECT who FROM audit WHERE action = 'manual_entry'"),
        "start": rows(session.path, "SELECT who FROM infusion_events WHERE action = 'start'"),
    }
    assert all(v == [(NOT_SIGNED_IN,)] for v in who.values()), who
    assert "DN" not in json.dumps(who)


def test_sign_in_and_change_of_nurse_are_audited_and_credit_each_action(
    session: NurseSession, clock: ManualClock
) -> None:
    session.sign_in(" ab ")
    assert session.on_duty == "ab"
    session.add_intervention("Ondansetron", "4 mg", "IV")
    clock.advance(60)
    session.sign_in("CD")  # the next nurse takes over
    session.add_side_effect("nausea", "mild")
    session.start_infusion()
    session.pause_infusion("Toilet")
    session.add_intervention("Labetalol", "10 mg", "IV", who="EF")  # explicit initials win
    assert session.flush()
    assert rows(session.path, "SELECT name, who FROM clinical_events ORDER BY id") == [
        ("ondansetron", "ab"),
        ("nausea", "CD"),
        ("labetalol", "EF"),
    ]
    assert rows(session.path, "SELECT action, who FROM infusion_events ORDER BY id") == [
        ("start", "CD"),
        ("pause", "CD"),
    ]
    audit = rows(session.path, "SELECT t, who, action, before, after FROM audit WHERE action LIKE '%nurse%' "
                 "OR action = 'sign_in' ORDER BY id")
    assert [(t, who, action) for t, who, action, _b, _a in audit] == [
        (T0, "ab", "sign_in"),
        (T0 + 60, "CD", "change_nurse"),
    ]
    assert json.loads(audit[1][3]) == {"on_duty": "ab"} and json.loads(audit[1][4]) == {"on_duty": "CD"}
    assert dict(rows(session.path, "SELECT key, value FROM session_info"))["on_duty"] == "CD"  # type: ignore[arg-type]


def test_sign_in_refuses_bad_initials_and_changes_nothing(session: NurseSession) -> None:
    session.sign_in("AB")
    for bad in ("", "   ", "A1", "ABCDE"):
        with pytest.raises(ValidationError):
            session.sign_in(bad)
    assert session.on_duty == "AB"


def test_sign_out_then_actions_are_not_signed_in(session: NurseSession) -> None:
    session.sign_in("AB")
    session.sign_out()
    session.add_note("patient asleep")
    assert session.flush()
    assert rows(session.path, "SELECT who FROM clinical_events") == [(NOT_SIGNED_IN,)]
    assert ("AB", "sign_out") in rows(session.path, "SELECT who, action FROM audit")


def test_prestart_override_is_credited_to_the_nurse_on_duty(session: NurseSession) -> None:
    session.sign_in("GH")
    session.prestart_check = lambda: PrestartOutcome(False, "SBP 172 above 160")
    session.start_infusion(override_reason="Dr X agreed by phone")
    assert session.flush()
    assert rows(session.path, "SELECT who, reason FROM audit WHERE action = 'override'") == [
        ("GH", "Dr X agreed by phone")
    ]


def test_on_duty_at_creation_and_after_a_restart(tmp_path: Path, clock: ManualClock) -> None:
    path = tmp_path / "r.kapsession"
    s = NurseSession.create(demo_setup().with_changes(simulated=False), clock, path=path, on_duty="KL")
    s.shutdown()
    assert rows(path, "SELECT who, action FROM audit ORDER BY id") == [("DN", "create"), ("KL", "sign_in")]
    clock.advance(120)
    r = NurseSession.resume(path, clock)
    try:
        assert r.on_duty == "KL"
        r.add_note("after the restart")
        assert r.flush()
    finally:
        r.shutdown()
    assert rows(path, "SELECT who FROM clinical_events") == [("KL",)]
    assert ("KL", "resume") in rows(path, "SELECT who, action FROM audit")


def test_sign_in_after_discharge_still_recorded(session: NurseSession, clock: ManualClock) -> None:
    session.start_infusion()
    clock.advance(40 * 60)
    session.stop_infusion()
    clock.advance(61 * 60)
    session.discharge("DN", {i.key: True for i in session.discharge_items})
    session.sign_in("MN")  # alarms are still acknowledged after discharge: credited to MN
    assert session.acting() == "MN"
    assert session.flush()
    assert ("MN", "sign_in") in rows(session.path, "SELECT who, action FROM audit")
