"""Limits with sense: plausible per parameter, low below high, high priority beyond medium, and a
limit that would switch an alarm off refused everywhere (model, file, editor) or, for one session,
accepted only with the administrator PIN and then named in the alarm area."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import tomli_w
from PySide6.QtWidgets import QDialog

from kapmonitor.alarms.engine import AlarmEngine
from kapmonitor.alarms.pin import PinStore
from kapmonitor.alarms.profile import (
    AlarmOffError,
    ProfileError,
    default_profile,
    load_profile_or_default,
    parse_profile,
    profile_to_dict,
)
from kapmonitor.model.clock import ManualClock
from kapmonitor.model.parameters import Parameter
from kapmonitor.ui.alarms.limit_change_dialog import LimitChangeDialog
from kapmonitor.ui.alarms.profile_editor import PinDialog, ProfileEditorDialog

T0 = 1_700_000_000.0
PIN = "246810"


def _limit(data: dict[str, Any], parameter: str, priority: str) -> dict[str, Any]:
    return next(e for e in data["limits"] if e["parameter"] == parameter and e["priority"] == priority)


def _changed(parameter: str, priority: str, key: str, value: float) -> dict[str, Any]:
    data = profile_to_dict(default_profile())
    _limit(data, parameter, priority)[key] = value
    return data


def test_the_default_profile_has_sense() -> None:
    profile = default_profile()
    assert profile.alarms_off() == []
    assert parse_profile(profile_to_dict(profile)).limits == profile.limits


@pytest.mark.parametrize(
    ("parameter", "priority", "key", "value", "message"),
    [
        ("spo2", "high", "below", 0, "SpO\u2082 high-priority low alarm OFF (< 0 %)"),
        ("nibp_sys", "high", "above_or_equal", 300, "NIBP sys high-priority high alarm OFF (\u2265 300 mmHg)"),
        ("hr", "high", "below_or_equal", 10, "HR high-priority low alarm OFF"),
    ],
)
def test_a_limit_that_switches_an_alarm_off_is_refused(parameter: str, priority: str, key: str, value: float,
                                                        message: str) -> None:
    with pytest.raises(AlarmOffError, match="administrator PIN") as info:
        parse_profile(_changed(parameter, priority, key, value))
    assert any(message in off for off in info.value.off)
    allowed = parse_profile(_changed(parameter, priority, key, value), allow_alarm_off=True)
    assert any(message in off for off in allowed.alarms_off())


@pytest.mark.parametrize(
    ("parameter", "priority", "key", "value", "message"),
    [
        ("nibp_sys", "high", "above_or_equal", 150, "upper limit 150 must be above the medium-priority one 160"),
        ("nibp_sys", "high", "above_or_equal", 160, "must be above the medium-priority one 160"),
        ("spo2", "high", "below", 93, "high-priority lower limit 93 must be below the medium-priority one 92"),
        ("nibp_sys", "high", "below", 95, "lower limit 95 must be below the medium-priority one 90"),
        ("hr", "high", "below_or_equal", 125, "upper limit"),  # the high low limit above the medium upper one
        ("nibp_dia", "medium", "above_or_equal", 20, "implausible"),
        ("spo2", "medium", "below", 101, "implausible"),
        ("hr", "medium", "delay_s", 3600, "longer than 120 s"),
    ],
)
def test_implausible_or_crossed_limits_are_refused(parameter: str, priority: str, key: str, value: float,
                                                   message: str) -> None:
    with pytest.raises(ProfileError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        parse_profile(_changed(parameter, priority, key, value))
    assert not isinstance(info.value, AlarmOffError)


def test_a_profile_file_with_an_alarm_switched_off_falls_back_to_the_built_in_limits(tmp_path: Path) -> None:
    path = tmp_path / "clinic.toml"
    path.write_text(tomli_w.dumps(_changed("nibp_sys", "high", "above_or_equal", 300)))
    profile, message = load_profile_or_default(path)
    assert profile.limits == default_profile().limits
    assert message is not None and "alarm OFF" in message and "built-in default" in message


def test_the_profile_editor_refuses_an_alarm_switched_off(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store = PinStore(tmp_path / "cfg" / "clinic_pin.json")
    store.set_pin(PIN, "Admin")
    path = tmp_path / "clinic.toml"
    dlg = ProfileEditorDialog(default_profile(), path, store)
    qtbot.addWidget(dlg)
    dlg.fields[("profile", "signed_off_by")].setText("Dr X")
    row = next(r for r in range(dlg.limits.rowCount())
               if dlg.limits.item(r, 0).text() == "spo2" and dlg.limits.item(r, 1).text() == "high")
    dlg.limits.item(row, 3).setText("0")
    dlg._save()
    assert "alarm OFF" in dlg.error.text() and not path.exists()
    dlg.limits.item(row, 3).setText("88")
    sys_row = next(r for r in range(dlg.limits.rowCount()) if dlg.limits.item(r, 0).text() == "nibp_sys"
                   and dlg.limits.item(r, 1).text() == "high" and dlg.limits.item(r, 2).text() == "\u2265")
    dlg.limits.item(sys_row, 3).setText("300")
    dlg._save()
    assert "NIBP sys high-priority high alarm OFF" in dlg.error.text() and not path.exists()


def _choose(dlg: LimitChangeDialog, prefix: str) -> None:
    dlg.limit_box.setCurrentIndex(next(i for i in range(dlg.limit_box.count())
                                       if dlg.limit_box.itemText(i).startswith(prefix)))


def _answer_pin(qtbot, dlg: LimitChangeDialog, pin: str | None, seen: list[str]) -> None:  # type: ignore[no-untyped-def]
    """When the real PIN dialog opens: note its message, enter `pin` (or cancel), wait for its check."""

    def answer(pin_dlg: QDialog) -> bool:
        assert isinstance(pin_dlg, PinDialog)
        seen.append(pin_dlg.error.text())
        if pin is None or not pin_dlg.available:
            return False
        pin_dlg.who_edit.setText("Dr Admin")
        pin_dlg.pin_edit.setText(pin)
        pin_dlg._accept()
        qtbot.waitUntil(lambda: not pin_dlg.busy, timeout=10000)
        return pin_dlg.result() == QDialog.DialogCode.Accepted

    dlg.ask_pin = answer


def test_switching_an_alarm_off_for_one_session_needs_the_pin_and_is_shown(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QMainWindow

    from kapmonitor.ui.alarms.menu import install_alarm_ui

    store = PinStore(tmp_path / "cfg" / "clinic_pin.json")
    engine = AlarmEngine(default_profile(), ManualClock(T0))

    # no PIN set: the dialog says how the administrator sets one, and nothing changes
    dlg = LimitChangeDialog(engine.profile, pin_store=store)
    qtbot.addWidget(dlg)
    _choose(dlg, "SpO\u2082 \u00b7 high \u00b7 <")
    assert dlg.range_hint.text() == ("Limits lie between 70 and 100 %; below 70 switches this alarm off "
                                     "(administrator PIN).")
    dlg.value_box.setValue(0)
    dlg.initials.setText("AB")
    dlg.reason.setText("chronic hypoxaemia, physician's order")
    seen: list[str] = []
    _answer_pin(qtbot, dlg, PIN, seen)
    dlg._accept()
    assert "kapmonitor admin set-pin" in seen[0]
    assert dlg.new_profile is None and "switches the alarm off" in dlg.error.text()

    store.set_pin(PIN, "Admin")
    _answer_pin(qtbot, dlg, "000000", seen)  # a wrong PIN is refused
    dlg._accept()
    assert dlg.new_profile is None

    _answer_pin(qtbot, dlg, PIN, seen)
    dlg._accept()
    assert dlg.result() == QDialog.DialogCode.Accepted and dlg.new_profile is not None
    assert dlg.new_profile.alarms_off() == ["SpO\u2082 high-priority low alarm OFF (< 0 %)"]
    assert "PIN entered by Dr Admin" in dlg.why

    rows: list[tuple[str, dict[str, object]]] = []

    class Sink:
        def insert(self, table: str, row: dict[str, object]) -> None:
            rows.append((table, dict(row)))

        def set_meta(self, key: str, value: object) -> None:
            rows.append(("meta", {key: value}))

    from kapmonitor.alarms.profile_record import ProfileRecord

    window = QMainWindow()
    qtbot.addWidget(window)
    ui = install_alarm_ui(window, engine, record=ProfileRecord(Sink(), lambda: T0), pin_store=store)
    ui.apply_limit_change(dlg.new_profile, dlg.who, dlg.why)
    assert engine.profile.alarms_off() == ["SpO\u2082 high-priority low alarm OFF (< 0 %)"]
    changed = [r for t, r in rows if t == "audit" and r["action"] == "profile_changed"]
    assert len(changed) == 1 and "alarms_off" in str(changed[0]["after"])

    # a later, unrelated change keeps the alarm off without asking for the PIN again
    again = LimitChangeDialog(engine.profile, pin_store=store)
    qtbot.addWidget(again)
    _choose(again, "HR \u00b7 medium \u00b7 \u2265")
    again.value_box.setValue(130)
    again.initials.setText("AB")
    again.reason.setText("athlete")
    again._accept()
    assert again.new_profile is not None and again.new_profile.alarms_off() == engine.profile.alarms_off()
    ui.close()


def test_the_alarm_area_names_an_alarm_switched_off(qtbot, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from kapmonitor.drivers.base import DriverOptions
    from kapmonitor.drivers.simulator import SimulatedMonitor
    from kapmonitor.model.clock import AcceleratedClock
    from kapmonitor.ui.app import MonitorApplication

    monkeypatch.setenv("KAPMONITOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KAPMONITOR_CONFIG_DIR", str(tmp_path / "config"))
    clock = AcceleratedClock(60)
    app = MonitorApplication(SimulatedMonitor(DriverOptions(), clock), clock, tmp_path / "s.db", None)
    app.start(sound=False)
    try:
        window = app.window
        qtbot.addWidget(window)
        bar = window.alarm_bar  # type: ignore[attr-defined]
        off = parse_profile(_changed("spo2", "high", "below", 0), allow_alarm_off=True)
        app.alarm_ui.apply_limit_change(off, "AB", "test (alarm switched off; PIN entered by Dr Admin)")
        qtbot.waitUntil(lambda: "SpO\u2082 high-priority low alarm OFF" in bar.notice_label.text(), timeout=3000)
        assert bar.notice_label.isVisible()
        assert Parameter.SPO2 in {r.parameter for r in app.bedside.alarms.profile.limits}
    finally:
        app.stop()
