"""A tamper-evident alarm profile: the sign-off keeps the profile's hash under a keyed tag; a
profile changed with a text editor is named on screen and in the log; the session record keeps the
profile's name, version and hash at start and at every change, and every PIN use."""

from __future__ import annotations

import json
import logging
import sqlite3
import tomllib
from pathlib import Path

import tomli_w

from kapmonitor.alarms.pin import PinStore
from kapmonitor.alarms.profile import default_profile, load_clinic_profile, load_profile
from kapmonitor.ui.alarms.profile_editor import ProfileEditorDialog

PIN = "246810"


def _signed_off_clinic_profile(qtbot, config: Path) -> tuple[PinStore, Path]:  # type: ignore[no-untyped-def]
    store = PinStore(config / "clinic_pin.json")
    store.set_pin(PIN, "Admin")
    path = config / "alarm_profile.toml"
    dlg = ProfileEditorDialog(default_profile(), path, store)
    qtbot.addWidget(dlg)
    row = next(r for r in range(dlg.limits.rowCount())
               if dlg.limits.item(r, 0).text() == "hr" and dlg.limits.item(r, 1).text() == "medium"
               and dlg.limits.item(r, 2).text() == "\u2265")
    dlg.limits.item(row, 3).setText("125")
    dlg.fields[("profile", "name")].setText("Clinic Bern")
    dlg.fields[("profile", "signed_off_by")].setText("Dr. Müller")
    dlg._save()
    assert dlg.saved_profile is not None, dlg.error.text()
    return store, path


def _tamper(path: Path) -> None:
    """What the fault-injection run did with a text editor: SBP 160/180 -> 240/250, no PIN."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    for entry in data["limits"]:
        if entry["parameter"] == "nibp_sys":
            entry["above_or_equal"] = {"medium": 240.0, "high": 250.0}[entry["priority"]]
    path.write_text(tomli_w.dumps(data), encoding="utf-8")


def test_a_profile_changed_outside_the_editor_is_named_and_logged(qtbot, tmp_path: Path, monkeypatch,  # type: ignore[no-untyped-def]
                                                                  caplog) -> None:
    monkeypatch.setenv("KAPMONITOR_CONFIG_DIR", str(tmp_path))
    _store, path = _signed_off_clinic_profile(qtbot, tmp_path)
    saved = load_profile(path)
    assert saved.version == 2 and saved.name == "Clinic Bern"  # a changed profile is a new version
    profile, warning = load_clinic_profile()
    assert warning is None and profile.digest == saved.digest

    _tamper(path)
    with caplog.at_level(logging.WARNING):
        profile, warning = load_clinic_profile()
    assert any(r.levelno == logging.WARNING and "differs from the signed-off" in r.getMessage() for r in caplog.records)
    assert warning is not None and "differs from the signed-off one" in warning and "Dr. Müller" in warning
    assert profile.digest != saved.digest

    # rewriting the sign-off record to match needs the machine key
    record_path = tmp_path / "alarm_profile_signoff.json"
    record = json.loads(record_path.read_text())
    record["hash"] = profile.digest
    record_path.write_text(json.dumps(record))
    _profile, warning = load_clinic_profile()
    assert warning is not None and "integrity check" in warning


def test_the_record_keeps_the_profile_at_start_and_at_every_change(qtbot, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from kapmonitor.drivers.base import DriverOptions
    from kapmonitor.drivers.simulator import SimulatedMonitor
    from kapmonitor.model.clock import AcceleratedClock
    from kapmonitor.ui.app import MonitorApplication

    config = tmp_path / "config"
    monkeypatch.setenv("KAPMONITOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KAPMONITOR_CONFIG_DIR", str(config))
    _store, path = _signed_off_clinic_profile(qtbot, config)
    _tamper(path)
    tampered = load_profile(path)
    clock = AcceleratedClock(60)
    db = tmp_path / "s.db"
    app = MonitorApplication(SimulatedMonitor(DriverOptions(), clock), clock, db, None)
    app.start(sound=False)
    try:
        qtbot.addWidget(app.window)
        banner = app.window.profile_banner  # type: ignore[attr-defined]
        assert banner is not None and banner.isVisible() and "differs from the signed-off" in banner.text()
        new = app.bedside.alarms.profile.with_rule(0, app.bedside.alarms.profile.limits[0])
        from dataclasses import replace

        new = replace(new, rise=replace(new.rise, systolic=45.0))
        app.alarm_ui.apply_limit_change(new, "AB", "known hypertension")
        assert not app.alarm_ui.pin_store.verify("000000", "Eve", "edit the clinic alarm profile")
        assert app.bedside.pipeline.recorder.flush()
    finally:
        app.stop()
    conn = sqlite3.connect(db)
    meta = json.loads(conn.execute("SELECT value FROM meta WHERE key='alarm_profile'").fetchone()[0])
    assert meta["hash"] == new.digest and meta["name"] == "Clinic Bern" and meta["version"] == 2
    rows = conn.execute("SELECT action, who, before, after, reason FROM audit WHERE table_name='alarm_profile' "
                        "ORDER BY id").fetchall()
    assert [r[0] for r in rows] == ["profile_in_force", "profile_changed"]
    start = json.loads(rows[0][3])
    assert start["hash"] == tampered.digest and start["signed_off"] is False and "differs" in rows[0][4]
    assert json.loads(rows[1][2])["hash"] == tampered.digest and json.loads(rows[1][3])["hash"] == new.digest
    assert rows[1][1] == "AB" and rows[1][4] == "known hypertension"
    pin_rows = conn.execute("SELECT action, who FROM audit WHERE table_name='clinic_pin'").fetchall()
    assert pin_rows == [("pin_failed", "Eve")]
