"""Any decoding error in an alarm profile (not UTF-8, not TOML, wrong types) falls back to the
built-in limits with the on-screen notice: at start (the clinic's file) and with --profile."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kapmonitor.alarms.profile import ProfileError, default_profile, load_clinic_profile, load_profile

GOOD = (Path(__file__).parents[1] / "resources" / "alarm_profile.toml").read_bytes()
LATIN1 = GOOD.replace(b'signed_off_by = ""', 'signed_off_by = "Dr. Müller"'.encode("latin-1"))
LATIN1_LINE = LATIN1[: LATIN1.index(b"\xfc")].count(b"\n") + 1  # the line the bad byte is on

BROKEN: dict[str, tuple[bytes, str]] = {
    "latin-1": (LATIN1, f"not UTF-8 text (byte 0xfc on line {LATIN1_LINE})"),
    "limits-not-a-list": (b"limits = 5\n", "must be a list of tables"),
    "limits-of-text": (b'limits = ["hr"]\n', "must be a list of tables"),
    "priority-a-number": (b'[[limits]]\nparameter = "hr"\npriority = 3\nabove = 120\n', "priority must be"),
    "version-text": (GOOD.replace(b"version = 1", b'version = "two"'), "version must be a whole number"),
    "profile-not-a-table": (b"profile = 3\n" + GOOD.split(b"[profile]", 1)[1].split(b"\n", 5)[5],
                            "[profile] must be a table"),
    "rise-text": (GOOD.replace(b"systolic = 40", b'systolic = "40"'), "systolic must be a number"),
    "message-a-number": (GOOD.replace(b'message_below = "SpO2 low"', b"message_below = 3"), "must be text"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_every_decoding_error_is_a_profile_error(tmp_path: Path, case: str) -> None:
    content, reason = BROKEN[case]
    path = tmp_path / "p.toml"
    path.write_bytes(content)
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    assert reason in str(info.value)


def test_the_clinic_profile_in_latin_1_falls_back_at_start(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("KAPMONITOR_CONFIG_DIR", str(tmp_path))
    (tmp_path / "alarm_profile.toml").write_bytes(LATIN1)
    profile, message = load_clinic_profile()
    assert profile.limits == default_profile().limits
    assert message is not None and "not UTF-8" in message and "built-in default" in message


@pytest.mark.parametrize("case", ["latin-1", "priority-a-number"])
def test_the_app_starts_on_the_built_in_limits_and_says_so(qtbot, tmp_path: Path, monkeypatch,  # type: ignore[no-untyped-def]
                                                          case: str) -> None:
    from kapmonitor.drivers.base import DriverOptions
    from kapmonitor.drivers.simulator import SimulatedMonitor
    from kapmonitor.model.clock import AcceleratedClock
    from kapmonitor.ui.app import MonitorApplication

    monkeypatch.setenv("KAPMONITOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KAPMONITOR_CONFIG_DIR", str(tmp_path / "config"))
    content, reason = BROKEN[case]
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "alarm_profile.toml").write_bytes(content)  # the clinic's own file, no --profile
    clock = AcceleratedClock(60)
    app = MonitorApplication(SimulatedMonitor(DriverOptions(), clock), clock, tmp_path / "s.db", None)
    app.start(sound=False)
    try:
        window = app.window
        qtbot.addWidget(window)
        assert app.bedside.alarms.profile.limits == default_profile().limits
        banner = window.profile_banner  # type: ignore[attr-defined]
        assert banner is not None and banner.isVisible()
        assert reason in banner.text() and "built-in default" in banner.text()
    finally:
        app.stop()


def test_run_with_a_latin_1_profile_starts_without_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "clinic.toml"
    bad.write_bytes(LATIN1)
    png = tmp_path / "out.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "KAPMONITOR_DATA_DIR": str(tmp_path / "data"),
           "KAPMONITOR_CONFIG_DIR": str(tmp_path / "config")}
    result = subprocess.run(
        [sys.executable, "-m", "kapmonitor", "run", "--profile", str(bad), "--screenshot", str(png),
         "--screenshot-after", "1", "--speed", "60", "--session", str(tmp_path / "s.db")],
        capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and png.exists()
    assert "not UTF-8" in result.stderr  # the fallback is logged
