"""NurseSession end to end on a real SessionRecorder and real SQLite files, on a manual clock."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from kapmonitor.model.clock import ManualClock
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import Item, Source, Status, VitalSample
from kapmonitor.recording.recorder import SessionRecorder
from kapmonitor.session import (
    NurseSession,
    Phase,
    PrestartBlockedError,
    SessionClosedError,
    SessionError,
    ValidationError,
    demo_setup,
)
from kapmonitor.session.entries import DischargeError, PrestartOutcome
from kapmonitor.session.model import Drug
from kapmonitor.session.rules import NibpSchedule

T0 = 1_700_000_000.0
ALL_TICKED = {
    "min_observation": True,
    "vitals_baseline": True,
    "moaas_5": True,
    "walking": True,
    "no_nausea_dizziness": True,
    "escort": True,
}


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


def vitals(t: float, hr: float, spo2: float, sys_: float, dia: float) -> list[Item]:
    return [
        VitalSample(t, Parameter.HR, hr),
        VitalSample(t, Parameter.SPO2, spo2),
        VitalSample(t, Parameter.NIBP_SYS, sys_, measurement_id=f"m{t}"),
        VitalSample(t, Parameter.NIBP_DIA, dia, measurement_id=f"m{t}"),
    ]


def test_setup_is_written_and_invalid_setup_refused(session: NurseSession, tmp_path: Path, clock: ManualClock) -> None:
    assert session.flush()
    info = dict(rows(session.path, "SELECT key, value FROM session_info"))  # type: ignore[arg-type]
    assert info["pseudonym"] == "DEMO-001" and info["status"] == "open"
    assert float(info["plan_rate_ml_per_h"]) == pytest.approx(5.25)
    assert rows(session.path, "SELECT action, who FROM audit") == [("create", "DN")]
    with SessionRecorder(tmp_path / "bad.kapsession") as rec, pytest.raises(ValidationError, match="weight"):
        NurseSession(rec, demo_setup().with_changes(weight_kg=0.0), clock)


def test_prestart_check_blocks_then_override_is_recorded(session: NurseSession, clock: ManualClock) -> None:
    session.prestart_check = lambda: PrestartOutcome(False, "SpO2 92 % below 94 %")
    with pytest.raises(PrestartBlockedError, match="SpO2 92"):
        session.start_infusion()
    assert session.phase() is Phase.BASELINE
    session.start_infusion(override_reason="chronic lung disease, usual SpO2 92", who="AB")
    assert session.phase() is Phase.INFUSION
    assert session.flush()
    info = dict(rows(session.path, "SELECT key, value FROM session_info"))  # type: ignore[arg-type]
    assert info["prestart_ok"] == "0" and info["prestart_override_by"] == "AB"
    assert "lung" in info["prestart_override_reason"]
    assert rows(session.path, "SELECT who, reason FROM audit WHERE action = 'override'") == [
        ("AB", "chronic lung disease, usual SpO2 92")
    ]


def test_a_passing_hook_with_object_result(session: NurseSession) -> None:
    class Result:
        ok = True
        message = "all clear"

    session.prestart_check = Result
    outcome = session.start_infusion()
    assert outcome is not None and outcome.ok and outcome.message == "all clear"


def test_full_session_with_pauses_events_scales_and_discharge(session: NurseSession, clock: ManualClock) -> None:
    changes: list[int] = []
    session.add_listener(lambda: changes.append(1))
    session.on_items(vitals(T0 - 60, 72, 98, 124, 78))
    assert session.nibp_next_due() is None  # baseline NIBP taken
    session.start_infusion()
    assert session.baseline()[Parameter.NIBP_SYS] == 124
    assert session.nibp_next_due() == T0 + 600
    clock.advance(600)
    assert [p.kind for p in session.due_prompts()] == ["nibp"]
    session.on_items(vitals(clock.now(), 80, 97, 150, 90))
    assert session.nibp_next_due() == T0 + 1200
    clock.advance(300)
    session.pause_infusion("nausea")
    nausea = session.add_side_effect("nausea", "moderate", "after 15 min")
    ond = session.add_intervention("Ondansetron", "4 mg", "IV")
    assert "moaas" in [p.kind for p in session.due_prompts()]
    session.record_scale("moaas", 4)
    clock.advance(300)
    session.resume_infusion()
    assert session.infusion.elapsed_s(clock.now()) == 900
    assert session.volume_infused_ml() == pytest.approx(5.25 * 900 / 3600)
    clock.advance(1200)  # 2100 s infused, 300 s to go: CADSS window
    assert "cadss" in [p.kind for p in session.due_prompts()]
    session.record_scale("cadss", 14)
    clock.advance(300)
    assert "stop" in [p.kind for p in session.due_prompts()]
    session.stop_infusion()
    assert session.phase() is Phase.OBSERVATION
    assert session.nibp_next_due() == T0 + 600 + 900  # 15 min after the last NIBP
    # discharge too early is refused, with the reason
    with pytest.raises(DischargeError, match="not met"):
        session.discharge("DN", {**ALL_TICKED, "min_observation": False})
    clock.advance(3600)
    assert session.phase() is Phase.READY_FOR_DISCHARGE
    session.on_items(vitals(clock.now(), 74, 98, 128, 80))
    session.record_scale("moaas", 5)
    checks = {c.item.key: c.met for c in session.discharge_assessment()}
    assert checks["min_observation"] and checks["vitals_baseline"] and checks["moaas_5"]
    assert checks["walking"] is None
    marks = session.markers()
    kinds = [k for _, k, _ in marks]
    assert kinds.count("phase") == 3 and "pause" in kinds and "resume" in kinds
    assert (nausea.t, "side_effect", "Nausea (moderate): after 15 min") in marks
    assert (ond.t, "intervention", "Ondansetron 4 mg IV") in marks
    session.discharge("DN", ALL_TICKED)
    assert session.closed and session.phase() is Phase.DISCHARGED
    with pytest.raises(SessionClosedError):
        session.add_note("late note")
    with pytest.raises(SessionClosedError):
        session.edit_event(nausea.id, "DN", "typo", severity="mild")
    session.add_addendum("patient phoned: fine at home", who="AB")
    assert session.flush()
    p = session.path
    assert rows(p, "SELECT action FROM infusion_events ORDER BY id") == [
        ("start",),
        ("pause",),
        ("resume",),
        ("stop",),
        ("discharge",),
    ]
    assert rows(p, "SELECT scale, score FROM scales ORDER BY id") == [("moaas", 4.0), ("cadss", 14.0), ("moaas", 5.0)]
    (checklist,) = rows(p, "SELECT checklist FROM discharge")[0]
    data = json.loads(str(checklist))
    assert data["items"]["moaas_5"]["assessed"] is True and data["items"]["walking"]["checked"] is True
    info = dict(rows(p, "SELECT key, value FROM session_info"))  # type: ignore[arg-type]
    assert info["status"] == "discharged" and float(info["volume_infused_ml"]) == pytest.approx(3.5)
    assert rows(p, "SELECT who, action FROM audit WHERE table_name = 'clinical_events' AND action != 'create'") == []
    assert ("AB", "create") in rows(p, "SELECT who, action FROM audit WHERE table_name = 'clinical_events'")
    assert changes


def test_edit_and_delete_keep_an_audit_trail(session: NurseSession, clock: ManualClock) -> None:
    ev = session.add_intervention("Ondansetron", "4 mg", "IV")
    clock.advance(60)
    session.edit_event(ev.id, "AB", "was 8 mg", dose="8 mg")
    note = session.add_note("patient asks for music louder")
    clock.advance(5)
    session.delete_event(note.id, "AB", "wrong patient screen")
    assert [e.id for e in session.events()] == [ev.id]
    assert session.flush()
    p = session.path
    assert rows(p, "SELECT dose FROM clinical_events WHERE id = ?", (ev.id,)) == [("8 mg",)]
    assert rows(p, "SELECT deleted FROM clinical_events WHERE id = ?", (note.id,)) == [(1,)]
    edit = rows(p, "SELECT t, who, before, after, reason FROM audit WHERE action = 'edit'")
    assert len(edit) == 1
    t, who, before, after, reason = edit[0]
    assert (t, who, reason) == (T0 + 60, "AB", "was 8 mg")
    assert json.loads(str(before))["dose"] == "4 mg" and json.loads(str(after))["dose"] == "8 mg"
    deleted = rows(p, "SELECT who, before, reason FROM audit WHERE action = 'delete'")
    assert deleted[0][0] == "AB" and "music" in str(deleted[0][1]) and deleted[0][2] == "wrong patient screen"
    with pytest.raises(ValidationError, match="initials"):
        session.edit_event(ev.id, " ", "x", dose="2 mg")
    with pytest.raises(ValidationError, match="cannot be edited"):
        session.edit_event(ev.id, "AB", "x", category="note")


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda s: s.add_side_effect("itching", "mild"), "name"),
        (lambda s: s.add_side_effect("nausea", "terrible"), "severity"),
        (lambda s: s.add_side_effect("other", "mild"), "note"),
        (lambda s: s.add_intervention("Ondansetron", "four", "IV"), "dose"),
        (lambda s: s.add_intervention("", "4 mg", "IV"), "drug"),
        (lambda s: s.add_note("  "), "note"),
        (lambda s: s.record_scale("moaas", 6), "score"),
        (lambda s: s.record_scale("moaas", 2.5), "score"),
        (lambda s: s.record_scale("bprs", 10), "score"),
        (lambda s: s.record_scale("hamd", 10), "scale"),
        (lambda s: s.submit_manual_vitals({Parameter.NIBP_SYS: 80.0, Parameter.NIBP_DIA: 120.0}), "nibp_dia"),
        (lambda s: s.submit_manual_vitals({Parameter.NIBP_SYS: 120.0}), "nibp_dia"),
        (lambda s: s.submit_manual_vitals({Parameter.HR: 900.0}), "hr"),
        (lambda s: s.submit_manual_vitals({}), "vitals"),
    ],
)
def test_bad_entries_never_reach_the_record(session: NurseSession, call: object, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        call(session)  # type: ignore[operator]
    assert info.value.field == field
    assert session.flush()
    assert rows(session.path, "SELECT count(*) FROM clinical_events") == [(0,)]
    assert rows(session.path, "SELECT count(*) FROM scales") == [(0,)]
    assert rows(session.path, "SELECT count(*) FROM samples") == [(0,)]


def test_manual_vitals_go_through_the_pipeline_marked_manual(tmp_path: Path, clock: ManualClock) -> None:
    submitted: list[Item] = []
    s = NurseSession.create(demo_setup(), clock, path=tmp_path / "m.kapsession", submit_items=submitted.extend)
    try:
        s.submit_manual_vitals({Parameter.NIBP_SYS: 132.0, Parameter.NIBP_DIA: 84.0, Parameter.HR: 70.0})
        assert {i.parameter for i in submitted if isinstance(i, VitalSample)} == {
            Parameter.NIBP_SYS,
            Parameter.NIBP_DIA,
            Parameter.HR,
        }
        assert all(
            isinstance(i, VitalSample) and i.source is Source.MANUAL and i.status is Status.OK for i in submitted
        )
        sys_ = next(i for i in submitted if isinstance(i, VitalSample) and i.parameter is Parameter.NIBP_SYS)
        dia = next(i for i in submitted if isinstance(i, VitalSample) and i.parameter is Parameter.NIBP_DIA)
        assert sys_.measurement_id is not None and sys_.measurement_id == dia.measurement_id
        assert s.last_nibp() == T0
    finally:
        s.shutdown()
    # without a pipeline hook the readings go straight to the record
    s2 = NurseSession.create(demo_setup(), clock, path=tmp_path / "m2.kapsession")
    s2.submit_manual_vitals({Parameter.SPO2: 97.0}, who="AB")
    s2.shutdown()
    got = rows(tmp_path / "m2.kapsession", "SELECT parameter, value, source FROM samples")
    assert got == [("spo2", 97.0, "manual")]
    assert rows(tmp_path / "m2.kapsession", "SELECT who FROM audit WHERE action = 'manual_entry'") == [("AB",)]


def test_resume_restores_clock_pauses_events_and_ids(tmp_path: Path, clock: ManualClock) -> None:
    path = tmp_path / "r.kapsession"
    s = NurseSession.create(demo_setup().with_changes(drug=Drug.ESKETAMINE, dose_mg_per_kg=0.25), clock, path=path)
    s.on_items(vitals(T0 - 10, 70, 98, 120, 80))
    s.start_infusion()
    clock.advance(500)
    s.pause_infusion("patient to toilet")
    first = s.add_side_effect("dizziness", "mild")
    s.record_scale("moaas", 4)
    s.shutdown()
    clock.advance(120)  # the program is down for two minutes
    r = NurseSession.resume(path, clock, who="AB")
    try:
        assert r.phase() is Phase.INFUSION and r.infusion.paused
        assert r.infusion.pauses == [(T0 + 500, None, "patient to toilet")]
        assert r.infusion.elapsed_s(clock.now()) == 500
        assert r.observation_min == 120.0
        assert r.baseline()[Parameter.NIBP_SYS] == 120.0
        assert [e.id for e in r.events()] == [first.id]
        assert [x.score for x in r.scales("moaas")] == [4.0]
        r.resume_infusion()
        second = r.add_note("back from toilet")
        assert second.id == first.id + 1
        assert r.flush()
    finally:
        r.shutdown()
    assert rows(path, "SELECT action FROM infusion_events ORDER BY id") == [
        ("start",),
        ("pause",),
        ("recovered",),
        ("resume",),
    ]
    assert rows(path, "SELECT who, action FROM audit WHERE action = 'resume'") == [("AB", "resume")]


def test_transitions_out_of_order_give_session_errors(session: NurseSession) -> None:
    with pytest.raises(SessionError, match="not been started"):
        session.pause_infusion("x")
    session.start_infusion()
    with pytest.raises(SessionError, match="already been started"):
        session.start_infusion()
    with pytest.raises(DischargeError, match="stop the infusion"):
        session.discharge("DN", ALL_TICKED)


def test_nibp_schedule_is_configurable() -> None:
    sched = NibpSchedule(infusion_interval_min=5, after_interval_min=30)
    assert sched.next_due(T0, Phase.INFUSION, None, infusion_start=T0) == T0 + 300
    assert sched.next_due(T0 + 3000, Phase.OBSERVATION, T0 + 2500, T0, T0 + 2400) == T0 + 2500 + 1800
    assert sched.next_due(T0, Phase.BASELINE, None) == T0
    assert sched.next_due(T0, Phase.DISCHARGED, T0) is None
    with pytest.raises(ValueError, match="positive"):
        NibpSchedule(0, 15)


def test_the_alarm_profiles_prestart_check_as_hook(session: NurseSession, clock: ManualClock) -> None:
    from kapmonitor.alarms.profile import default_profile
    from kapmonitor.alarms.session_link import prestart_hook

    session.prestart_check = prestart_hook(default_profile(), session)
    with pytest.raises(PrestartBlockedError, match="no baseline value"):
        session.start_infusion()
    session.on_items(vitals(clock.now(), 72, 98, 124, 78))
    outcome = session.start_infusion()
    assert outcome is not None and outcome.ok
    assert session.flush()
    assert dict(rows(session.path, "SELECT key, value FROM session_info WHERE key LIKE 'prestart%'")) == {  # type: ignore[arg-type]
        "prestart_ok": "1",
        "prestart_message": "Pre-start check passed",
    }
