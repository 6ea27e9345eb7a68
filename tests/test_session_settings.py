"""The clinic's session settings file: NIBP intervals and the discharge checklist."""

from __future__ import annotations

from pathlib import Path

import pytest

from kapmonitor.model.clock import ManualClock
from kapmonitor.session import NurseSession, demo_setup
from kapmonitor.session.catalogues import DEFAULT_DISCHARGE_ITEMS
from kapmonitor.session.entries import DischargeError
from kapmonitor.session.settings import (
    SessionSettings,
    SessionSettingsError,
    load_session_settings,
    parse_session_settings,
)

GOOD = """
[nibp]
infusion_interval_min = 5
after_interval_min = 30

[[discharge]]
key = "min_observation"
label = "Observed long enough"

[[discharge]]
key = "oriented"
label = "Oriented to time and place"
"""


def test_parse_good_file() -> None:
    s = parse_session_settings(GOOD)
    assert s.nibp.infusion_interval_min == 5 and s.nibp.after_interval_min == 30
    assert [(i.key, i.auto) for i in s.discharge_items] == [("min_observation", True), ("oriented", False)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[nibp\n", "not valid TOML"),
        ("[nibp]\ninfusion_interval_min = 0\n", "1 to 120"),
        ("[nibp]\ninfusion_interval_min = 'ten'\n", "1 to 120"),
        ("[nibp]\nevery = 3\n", "unknown nibp setting"),
        ("[alarms]\n", "unknown section"),
        ("[[discharge]]\nkey = 'Bad Key'\nlabel = 'x'\n", "lower-case"),
        ("[[discharge]]\nkey = 'a'\n", "needs a label"),
        ("[[discharge]]\nkey = 'a'\nlabel = 'x'\n[[discharge]]\nkey = 'a'\nlabel = 'y'\n", "twice"),
    ],
)
def test_bad_files_are_refused_with_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(SessionSettingsError, match=message):
        parse_session_settings(text)


def test_load_falls_back_to_defaults_with_a_warning(tmp_path: Path) -> None:
    assert load_session_settings(tmp_path / "missing.toml") == (SessionSettings(), None)
    bad = tmp_path / "session.toml"
    bad.write_text("[nibp]\ninfusion_interval_min = -1\n")
    settings, warning = load_session_settings(bad)
    assert settings.discharge_items == DEFAULT_DISCHARGE_ITEMS
    assert warning is not None and "default session settings" in warning
    bad.write_bytes(b"\xff\xfe\x00garbage")
    settings, warning = load_session_settings(bad)
    assert warning is not None and settings == SessionSettings()


def test_a_custom_checklist_drives_discharge(tmp_path: Path) -> None:
    clock = ManualClock(1_700_000_000.0)
    settings = parse_session_settings(GOOD)
    s = NurseSession.create(
        demo_setup(),
        clock,
        path=tmp_path / "c.db",
        nibp_schedule=settings.nibp,
        discharge_items=settings.discharge_items,
    )
    try:
        s.start_infusion()
        assert s.nibp_next_due() == clock.now() + 300
        clock.advance(2400)
        s.stop_infusion()
        clock.advance(3600)
        with pytest.raises(DischargeError, match="Oriented"):
            s.discharge("AB", {"min_observation": True})
        s.discharge("AB", {"min_observation": True, "oriented": True})
        assert s.closed
    finally:
        s.shutdown()
