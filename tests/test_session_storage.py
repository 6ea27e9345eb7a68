"""The sessions folder: unfinished sessions, course suggestion, course view figures."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from kapmonitor.model.clock import ManualClock
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import VitalSample
from kapmonitor.session import NurseSession, demo_setup
from kapmonitor.session.storage import (
    SESSIONS_ENV,
    course_sessions,
    find_unfinished_sessions,
    mark_abandoned,
    new_session_path,
    sessions_dir,
    suggest_course,
)

T0 = 1_700_000_000.0
TICKED = {
    "min_observation": True,
    "vitals_baseline": True,
    "moaas_5": True,
    "walking": True,
    "no_nausea_dizziness": True,
    "escort": True,
}


def make(
    folder: Path,
    clock: ManualClock,
    pseudonym: str,
    number: int,
    total: int = 3,
    discharge: bool = True,
    simulated: bool = False,
) -> Path:
    setup = demo_setup().with_changes(
        pseudonym=pseudonym, course_number=number, course_total=total, simulated=simulated
    )
    s = NurseSession.create(setup, clock, path=new_session_path(pseudonym, clock.now(), folder))
    s.start_infusion()
    s.on_items(
        [
            VitalSample(clock.now() + 60, Parameter.NIBP_SYS, 140.0 + number),
            VitalSample(clock.now() + 60, Parameter.NIBP_DIA, 90.0),
        ]
    )
    s.submit_manual_vitals({Parameter.NIBP_SYS: 150.0 + number, Parameter.NIBP_DIA: 95.0})
    clock.advance(2400)
    if discharge:
        s.stop_infusion()
        clock.advance(3600)
        s.discharge("DN", TICKED)
    s.shutdown()
    clock.advance(86400 * 7)
    assert s.path is not None
    return s.path


def test_sessions_dir_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SESSIONS_ENV, str(tmp_path))
    assert sessions_dir() == tmp_path
    monkeypatch.delenv(SESSIONS_ENV)
    monkeypatch.setenv("KAPMONITOR_DATA_DIR", str(tmp_path / "data"))
    assert sessions_dir() == tmp_path / "data" / "sessions"


def test_new_session_path_never_reuses_a_file(tmp_path: Path) -> None:
    a = new_session_path("P-1", T0, tmp_path)
    a.touch()
    b = new_session_path("P-1", T0, tmp_path)
    assert a != b and a.name.endswith("-P-1.db")


def test_course_unfinished_and_abandoned(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    p1 = make(tmp_path, clock, "KAP-17", 1)
    p2 = make(tmp_path, clock, "KAP-17", 2)
    make(tmp_path, clock, "KAP-99", 1)
    make(tmp_path, clock, "DEMO-001", 1, discharge=False, simulated=True)
    crashed = make(tmp_path, clock, "KAP-17", 3, discharge=False)
    (tmp_path / "garbage.kapsession").write_bytes(b"not a database at all" * 100)

    # 3 of 3 done: a new course of the same length, never a silently raised total ("8 of 8")
    assert suggest_course("KAP-17", tmp_path) == (1, 3)
    assert suggest_course("KAP-99", tmp_path) == (2, 3)
    assert suggest_course("NEW-1", tmp_path) is None

    unfinished = find_unfinished_sessions(tmp_path)
    assert [u.path for u in unfinished] == [crashed]
    assert unfinished[0].phase == "infusion"
    assert len(find_unfinished_sessions(tmp_path, include_simulated=True)) == 2

    course = course_sessions("KAP-17", tmp_path)
    assert [c.course_number for c in course] == [1, 2, 3]
    assert course[0].path == p1 and course[1].path == p2
    assert course[0].peak_sys == 151.0 and course[1].peak_sys == 152.0 and course[0].peak_dia == 95.0
    assert course[0].infusion_s == 2400.0 and course[2].infusion_stop is None
    assert course[0].total_mg == pytest.approx(35.0)

    mark_abandoned(crashed, "DN", "patient left; record closed")
    assert find_unfinished_sessions(tmp_path) == []
    conn = sqlite3.connect(crashed)
    assert conn.execute("SELECT who, action, reason FROM audit WHERE action = 'abandon'").fetchall() == [
        ("DN", "abandon", "patient left; record closed")
    ]
    conn.close()


def test_alarm_counts_by_priority(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    path = make(tmp_path, clock, "KAP-5", 1)
    conn = sqlite3.connect(path)
    conn.executemany(
        "INSERT INTO alarm_log (t, alarm_id, parameter, kind, priority, event, message) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (T0 + 1, "spo2_low", "spo2", "physiological", "high", "raised", "SpO2 low"),
            (T0 + 9, "spo2_low", "spo2", "physiological", "high", "cleared", "SpO2 low"),
            (T0 + 20, "sys_high", "nibp_sys", "physiological", "medium", "raised", "BP high"),
            (T0 + 30, "sys_high", "nibp_sys", "physiological", "medium", "raised", "BP high"),
        ],
    )
    conn.commit()
    conn.close()
    (entry,) = course_sessions("KAP-5", tmp_path)
    assert entry.alarms_by_priority == {"high": 1, "medium": 2, "low": 0}


def test_course_number_does_not_drift_over_runs(tmp_path: Path) -> None:
    """Defect 17: repeated simulator runs pushed the count to "8 of 8"; runs never infused do not count."""
    clock = ManualClock(T0)
    seen = []
    for _ in range(5):
        found = suggest_course("DEMO-001", tmp_path)
        number, total = found if found else (1, 3)
        seen.append((number, total))
        make(tmp_path, clock, "DEMO-001", number, total, simulated=True)
    assert seen == [(1, 3), (2, 3), (3, 3), (1, 3), (2, 3)]
    # a record opened and quit before the infusion is not a session of the course
    setup = demo_setup().with_changes(course_number=3, course_total=3)
    s = NurseSession.create(setup, clock, path=new_session_path("DEMO-001", clock.now() + 60, tmp_path))
    s.shutdown()
    assert suggest_course("DEMO-001", tmp_path) == (3, 3)


def test_escalated_alarm_counts_as_high(tmp_path: Path) -> None:
    """Defect 17: a medium alarm that became high counted as medium ("H 0") in the course view."""
    clock = ManualClock(T0)
    path = make(tmp_path, clock, "KAP-6", 1)
    conn = sqlite3.connect(path)
    conn.executemany(
        "INSERT INTO alarm_log (t, alarm_id, parameter, kind, priority, event, message) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (T0 + 20, "nibp_sys.high", "nibp_sys", "physiological", "medium", "raised", "NIBP sys 166 > 160"),
            (T0 + 80, "nibp_sys.high", "nibp_sys", "physiological", "high", "priority_changed", "NIBP sys 185"),
            (T0 + 90, "nibp_sys.high", "nibp_sys", "physiological", "high", "acknowledged", "NIBP sys 185"),
            (T0 + 95, "nibp_sys.high", "nibp_sys", "physiological", "medium", "priority_changed", "NIBP sys 170"),
            (T0 + 99, "nibp_sys.high", "nibp_sys", "physiological", "medium", "cleared", "NIBP sys"),
            (T0 + 99, "audio-pause", None, "system", "high", "audio_paused", "paused"),
        ],
    )
    conn.commit()
    conn.close()
    (entry,) = course_sessions("KAP-6", tmp_path)
    assert entry.alarms_by_priority == {"high": 1, "medium": 0, "low": 0}
