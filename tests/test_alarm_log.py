"""The alarm log in a real session database, the pre-start check, profile round trip, the PIN store."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest

from kapmonitor.alarms.engine import AlarmEngine
from kapmonitor.alarms.log import AlarmLogWriter
from kapmonitor.alarms.pin import PinError, PinStore
from kapmonitor.alarms.prestart import check_prestart
from kapmonitor.alarms.profile import (
    Priority,
    Threshold,
    default_profile,
    diff_profiles,
    load_profile,
    load_profile_or_default,
    save_profile,
)
from kapmonitor.model.clock import ManualClock
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import VitalSample
from kapmonitor.recording.recorder import SessionRecorder

T0 = 1_700_000_000.0


def test_every_state_change_lands_in_alarm_log(tmp_path: Path) -> None:
    db = tmp_path / "s.kapsession"
    clock = ManualClock(T0)
    engine = AlarmEngine(default_profile(), clock)
    with SessionRecorder(db) as rec:
        engine.add_listener(AlarmLogWriter(rec))
        engine.session_active(True)
        engine.on_items([VitalSample(T0, Parameter.NIBP_SYS, 186.0, measurement_id="m1")])
        clock.advance(5)
        engine.pause_audio(who="AB")
        clock.advance(5)
        engine.acknowledge("AB")
        prof = engine.profile
        idx = next(i for i, r in enumerate(prof.limits)
                   if r.parameter is Parameter.SPO2 and r.priority is Priority.MEDIUM)
        new = prof.with_rule(idx, dataclasses.replace(prof.limits[idx], thresholds=(Threshold("below", 90),)))
        engine.set_profile(new, "AB", "COPD, habitual SpO2 91")
        clock.advance(60)
        engine.on_items([VitalSample(T0 + 70, Parameter.NIBP_SYS, 120.0, measurement_id="m2")])
        engine.tick(T0 + 200)  # link lost (no data since 70 s) and audio resumed
        assert rec.flush()
    conn = sqlite3.connect(db)
    rows = conn.execute(
        "SELECT t - ?, alarm_id, parameter, kind, priority, event, value, limit_value, who FROM alarm_log ORDER BY id",
        (T0,)).fetchall()
    assert rows == [
        (0.0, "nibp_sys.upper", "nibp_sys", "physiological", "high", "raised", 186.0, 180.0, None),
        (5.0, "audio-pause", None, "system", "high", "audio_paused", 120.0, None, "AB"),
        (10.0, "link-lost", None, "technical", "high", "raised", None, 10.0, None),  # no data since 0 s
        (10.0, "nibp_sys.upper", "nibp_sys", "physiological", "high", "acknowledged", 186.0, 180.0, "AB"),
        (10.0, "link-lost", None, "technical", "high", "acknowledged", None, 10.0, "AB"),
        (10.0, "limits", "spo2", "system", "low", "limit_changed", 90.0, 92.0, "AB"),
        (70.0, "link-lost", None, "technical", "high", "cleared", None, 10.0, None),
        (70.0, "nibp_sys.upper", "nibp_sys", "physiological", "high", "cleared", 120.0, 180.0, None),
        (80.0, "link-lost", None, "technical", "high", "raised", None, 10.0, None),
        (125.0, "audio-pause", None, "system", "high", "audio_resumed", None, None, None),
        (200.0, "link-lost", None, "technical", "high", "escalated", None, 10.0, None),
    ]
    changes = conn.execute("SELECT t - ?, parameter, field, old_value, new_value, who, reason FROM limit_changes",
                           (T0,)).fetchall()
    assert changes == [(10.0, "spo2", "medium.below", "92", "90", "AB", "COPD, habitual SpO2 91")]


def test_prestart_findings() -> None:
    prof = default_profile()
    ok = check_prestart(prof, {Parameter.NIBP_SYS: 128, Parameter.NIBP_DIA: 82, Parameter.HR: 72, Parameter.SPO2: 98})
    assert ok.ok and not ok.blocked and ok.summary() == "Pre-start check passed"
    r = check_prestart(prof, {Parameter.NIBP_SYS: 145, Parameter.NIBP_DIA: 112, Parameter.HR: 112,
                              Parameter.SPO2: 89})
    assert [(f.parameter, f.action) for f in r.findings] == [
        (Parameter.SPO2, "block"), (Parameter.NIBP_DIA, "block"), (Parameter.HR, "confirm"),
        (Parameter.NIBP_SYS, "confirm")]
    assert r.blocked and not r.ok
    missing = check_prestart(prof, {Parameter.NIBP_SYS: 128, Parameter.NIBP_DIA: 82, Parameter.HR: 72})
    assert [(f.parameter, f.action, f.value) for f in missing.findings] == [(Parameter.SPO2, "confirm", None)]
    edge = check_prestart(prof, {Parameter.NIBP_SYS: 140, Parameter.NIBP_DIA: 90, Parameter.HR: 50,
                                 Parameter.SPO2: 94})
    assert edge.ok  # "> 140", "> 90", "< 50", "< 94": the limits themselves pass


def test_profile_round_trip_and_diff(tmp_path: Path) -> None:
    prof = default_profile()
    path = tmp_path / "p.toml"
    save_profile(prof, path)
    again = load_profile(path)
    assert diff_profiles(prof, again) == []
    assert again.limits == prof.limits and again.prestart == prof.prestart


def test_broken_profile_falls_back_to_default_with_message(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[[limits]]\nparameter = 'hr'\npriority = 'urgent'\nabove = 100\n")
    prof, warning = load_profile_or_default(path)
    assert prof.source != str(path) and prof.limits == default_profile().limits  # the built-in limits
    assert warning is not None and "limits[0]" in warning and "built-in default" in warning


def test_pin_store(tmp_path: Path) -> None:
    store = PinStore(tmp_path / "cfg" / "pin.json")
    assert not store.is_set()
    with pytest.raises(PinError, match="no administrator PIN"):  # no PIN: an error, never "any PIN"
        store.verify("1234")
    with pytest.raises(PinError):
        store.set_pin("1234a6", "Admin")
    with pytest.raises(PinError, match="at least 6 digits"):
        store.set_pin("2468", "Admin")
    store.set_pin("246810", "Admin")
    assert store.verify("246810") and not store.verify("246811")
    (tmp_path / "cfg" / "pin.json").write_text("{not json")
    with pytest.raises(PinError, match="cannot read"):
        store.is_set()
