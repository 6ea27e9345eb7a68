"""The session's clinical rules as pure functions (session/rules.py), tested on plain values without a
database, and the catalogues (session/catalogues.py) that the session and de-identification share."""

from __future__ import annotations

from pathlib import Path

import pytest

from kapmonitor.export.data import load_session
from kapmonitor.export.deid import deidentify
from kapmonitor.model.clock import ManualClock
from kapmonitor.model.parameters import Parameter
from kapmonitor.recording.database import open_read_only
from kapmonitor.session import NurseSession, Phase, ValidationError, demo_setup, rules
from kapmonitor.session.catalogues import DEFAULT_DISCHARGE_ITEMS, INFUSION_ACTIONS
from kapmonitor.session.entries import ClinicalEvent, ScaleEntry

T0 = 1_700_000_000.0
ITEM = {i.key: i for i in DEFAULT_DISCHARGE_ITEMS}


def test_nibp_schedule_by_phase() -> None:
    s = rules.NibpSchedule(10, 15)
    assert s.next_due(T0, Phase.BASELINE, None) == T0  # a baseline reading is needed now
    assert s.next_due(T0, Phase.BASELINE, T0 - 60) is None
    assert s.next_due(T0 + 60, Phase.INFUSION, T0 + 300, infusion_start=T0) == T0 + 900
    assert s.next_due(T0 + 60, Phase.OBSERVATION, None, T0, infusion_stop=T0 + 2400) == T0 + 2400 + 900
    assert s.next_due(T0, Phase.DISCHARGED, None) is None
    with pytest.raises(ValueError):
        rules.NibpSchedule(0, 15)


def test_moaas_and_cadss_due() -> None:
    assert rules.moaas_next_due(Phase.BASELINE, None, None) is None
    assert rules.moaas_next_due(Phase.INFUSION, T0, None) == T0 + rules.MOAAS_INTERVAL_S
    assert rules.moaas_next_due(Phase.INFUSION, T0, T0 + 600) == T0 + 600 + rules.MOAAS_INTERVAL_S
    # CADSS: in the last 5 min of the infusion and up to 30 min after, until one is recorded
    assert not rules.cadss_due(T0 + 60, Phase.INFUSION, T0, None, remaining_s=301, cadss_recorded=False)
    assert rules.cadss_due(T0 + 60, Phase.INFUSION, T0, None, remaining_s=300, cadss_recorded=False)
    assert not rules.cadss_due(T0 + 60, Phase.INFUSION, T0, None, remaining_s=30, cadss_recorded=True)
    stop = T0 + 2400
    assert rules.cadss_due(stop + 1800, Phase.OBSERVATION, T0, stop, remaining_s=0, cadss_recorded=False)
    assert not rules.cadss_due(stop + 1801, Phase.OBSERVATION, T0, stop, remaining_s=0, cadss_recorded=False)


def test_due_prompts() -> None:
    kw = dict(moaas_due=None, cadss=False, paused=False, remaining_s=100.0, planned_end=None, infusion_stop=None,
              observation_s=3600.0)
    (p,) = rules.due_prompts(T0, Phase.BASELINE, nibp_due=T0, **kw)  # type: ignore[arg-type]
    assert (p.kind, p.message) == ("nibp", "Baseline NIBP needed")
    kw.update(remaining_s=0.0, planned_end=T0 - 5)
    kinds = [p.kind for p in rules.due_prompts(T0, Phase.INFUSION, nibp_due=T0 + 1, **kw)]  # type: ignore[arg-type]
    assert kinds == ["stop"]
    kw.update(paused=True)
    assert rules.due_prompts(T0, Phase.INFUSION, nibp_due=None, **kw) == []  # type: ignore[arg-type]
    kw.update(infusion_stop=T0 - 3600)
    (p,) = rules.due_prompts(T0, Phase.READY_FOR_DISCHARGE, nibp_due=None, **kw)  # type: ignore[arg-type]
    assert (p.kind, p.due_at) == ("discharge", T0)
    assert rules.due_prompts(T0, Phase.DISCHARGED, nibp_due=T0, **kw) == []  # type: ignore[arg-type]


def assess(key: str, t: float = T0, **facts: object) -> rules.DischargeCheck:
    base: dict[str, object] = dict(observation_remaining_s=0.0, observation_min=60.0, infusion_stop=T0 - 3600,
                                   baseline={}, latest={}, scales=[], events=[], escort=True)
    base.update(facts)
    return rules.assess_discharge_item(ITEM[key], t, **base)  # type: ignore[arg-type]


def test_discharge_assessment_items() -> None:
    assert assess("min_observation", observation_remaining_s=None).met is False
    left = assess("min_observation", observation_remaining_s=600.0)
    assert left.met is False and "of 60 min to go" in left.detail
    assert assess("min_observation").met is True
    stop = T0 - 3600
    assert assess("moaas_5", scales=[ScaleEntry(1, stop - 10, "moaas", 5)]).met is False  # before the stop
    assert assess("moaas_5", scales=[ScaleEntry(1, stop + 10, "moaas", 4), ScaleEntry(2, stop + 20, "moaas", 5)]).met
    nausea = ClinicalEvent(1, T0 - 600, "side_effect", "nausea", "mild")
    check = assess("no_nausea_dizziness", events=[nausea])
    assert check.met is False and "Nausea (mild)" in check.detail
    assert assess("no_nausea_dizziness", T0 + 1801, events=[nausea]).met is None  # older than 30 min: ask
    assert assess("escort", escort=False).detail == "no escort at set-up"


def test_vitals_back_near_baseline() -> None:
    stop = T0 - 3600
    baseline = {Parameter.HR: 70.0, Parameter.SPO2: 98.0}
    ok = assess("vitals_baseline", baseline=baseline,
                latest={Parameter.HR: (stop + 60, 83.0), Parameter.SPO2: (stop + 60, 95.0)})
    assert ok.met is True
    off = assess("vitals_baseline", baseline=baseline,
                 latest={Parameter.HR: (stop + 60, 85.0), Parameter.SPO2: (stop - 60, 98.0)})
    assert off.met is False and "HR 85 vs baseline 70" in off.detail and "no SpO" in off.detail
    assert assess("vitals_baseline").met is None  # no baseline: compare by hand


def test_manual_vitals_and_pump_volume_checks() -> None:
    rules.check_manual_vitals({Parameter.NIBP_SYS: 120, Parameter.NIBP_DIA: 80})
    for values, field in (({}, "vitals"), ({Parameter.NIBP_SYS: 120}, "nibp_dia"),
                          ({Parameter.NIBP_SYS: 80, Parameter.NIBP_DIA: 90}, "nibp_dia"),
                          ({Parameter.HR: 400}, "hr"), ({Parameter.PULSE_RATE: 60}, "pulse_rate")):
        with pytest.raises(ValidationError) as err:
            rules.check_manual_vitals(values)  # type: ignore[arg-type]
        assert err.value.field == field
    assert rules.check_infused_volume(24, planned_ml=25.0, computed_ml=24.5) == 24.0
    with pytest.raises(ValidationError, match="decimal point"):
        rules.check_infused_volume(240, planned_ml=25.0, computed_ml=24.5)
    with pytest.raises(ValidationError):
        rules.check_infused_volume(True, planned_ml=25.0, computed_ml=24.5)


def test_infusion_markers() -> None:
    log = [(T0, "start", None), (T0 + 60, "pause", "line"), (T0 + 120, "resume", None), (T0 + 600, "stop", None),
           (T0 + 700, "recovered", "x")]
    marks = rules.infusion_markers(log, T0 + 5000, T0 + 600, 3600.0, None)
    assert [m[2] for m in marks] == ["Infusion start", "Pause: line", "Resume", "Infusion stop",
                                     "Session resumed after restart", "Observation complete"]
    assert rules.infusion_markers(log, T0 + 5000, T0 + 600, 3600.0, discharged_at=T0 + 3000)[-1][2] != (
        "Observation complete")


def test_deidentified_record_keeps_every_infusion_action_the_session_writes(tmp_path: Path) -> None:
    """Defect: de-identification had its own drifted list of infusion actions, so the 'discharge' and
    'recovered' rows of a real session record became 'other'. Now both come from the catalogue."""
    clock = ManualClock(T0)
    path = tmp_path / "s.kapsession"
    session = NurseSession.create(demo_setup().with_changes(simulated=False), clock, path=path)
    session.start_infusion(who="AB", override_reason="test")
    session.shutdown()
    clock.advance(600)
    session = NurseSession.resume(path, clock, who="AB")
    clock.advance(60)
    session.pause_infusion("line check", who="AB")
    session.resume_infusion(who="AB")
    session.stop_infusion(who="AB")
    clock.advance(7200)
    session.discharge("AB", {i.key: True for i in DEFAULT_DISCHARGE_ITEMS})
    session.shutdown()
    conn = open_read_only(path)
    try:
        data = load_session(conn)
    finally:
        conn.close()
    recorded = [r["action"] for r in data.infusion]
    assert set(recorded) == set(INFUSION_ACTIONS)
    assert [r["action"] for r in deidentify(data, salt="s").infusion] == recorded


def test_record_edits_only_touch_editable_columns(tmp_path: Path) -> None:
    """The session's SQL lives in recording/session_rows.py: an edit names a table and columns from a
    fixed list, so nothing the nurse types can reach the statement, and a refused edit writes nothing."""
    from kapmonitor.recording.recorder import SessionRecorder
    from kapmonitor.recording.session_rows import set_session_info, update_row

    path = tmp_path / "r.kapsession"
    recorder = SessionRecorder(path).start()
    try:
        recorder.insert("scales", {"id": 1, "t": T0, "scale": "moaas", "score": 4.0, "detail": None, "who": "AB"})
        set_session_info(recorder, "pseudonym", "X-1")
        update_row(recorder, "scales", 1, {"score": 5.0})
        for table, changes in (("scales", {"who": "ZZ"}), ("audit", {"who": "ZZ"}), ("scales; DROP", {"score": 1})):
            with pytest.raises(ValueError):
                update_row(recorder, table, 1, changes)
        assert recorder.flush()
    finally:
        recorder.stop()
    conn = open_read_only(path)
    try:
        assert conn.execute("SELECT score, who FROM scales").fetchall() == [(5.0, "AB")]
        assert conn.execute("SELECT value FROM session_info WHERE key = 'pseudonym'").fetchone() == ("X-1",)
    finally:
        conn.close()
