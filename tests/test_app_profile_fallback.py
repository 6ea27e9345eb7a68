"""The app never runs without limits: a broken profile file means the built-in default, said on screen."""

from __future__ import annotations

from pathlib import Path

import pytest

from kapmonitor.alarms.profile import default_profile
from kapmonitor.drivers.base import DriverOptions
from kapmonitor.drivers.simulator import SimulatedMonitor
from kapmonitor.model.clock import AcceleratedClock


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("[profile\nname = 'x'", "not valid TOML"),
        ("[profile]\nname = 'empty'\n", "no [[limits]]"),
        (None, "cannot read"),
    ],
)
def test_broken_profile_starts_on_the_default_and_says_so(qtbot, tmp_path: Path, monkeypatch,  # type: ignore[no-untyped-def]
                                                          content: str | None, reason: str) -> None:
    from kapmonitor.ui.app import MonitorApplication

    monkeypatch.setenv("KAPMONITOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KAPMONITOR_CONFIG_DIR", str(tmp_path / "config"))
    profile = tmp_path / "clinic.toml"
    if content is not None:
        profile.write_text(content)
    clock = AcceleratedClock(60)
    app = MonitorApplication(SimulatedMonitor(DriverOptions(), clock), clock, tmp_path / "s.db", profile)
    app.start(sound=False)
    try:
        window = app.window
        qtbot.addWidget(window)
        assert app.bedside.alarms.profile.limits == default_profile().limits  # limits in force
        banner = window.profile_banner  # type: ignore[attr-defined]
        assert banner is not None and banner.isVisible()
        assert reason in banner.text() and "built-in default" in banner.text()
    finally:
        app.stop()
