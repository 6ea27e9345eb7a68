"""The session controller inside the real main window: dock, menu, markers, infusion window,
demo session with the simulator's infusion start, resume into the window's recorder."""

from __future__ import annotations

from pathlib import Path

import pytest

from kapmonitor.alarms.profile import default_profile
from kapmonitor.bedside import WindowFacts
from kapmonitor.model.clock import ManualClock
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import VitalSample
from kapmonitor.model.trends import TrendStore
from kapmonitor.recording.database import SessionDatabaseError
from kapmonitor.recording.recorder import SessionRecorder
from kapmonitor.session import Phase
from kapmonitor.session.keeper import SessionKeeper, is_nurse_session
from kapmonitor.ui.main_window import MainWindow
from kapmonitor.ui.session.integration import SessionController
from kapmonitor.ui.session.panel import SessionSidePanel
from kapmonitor.ui.session.setup import NewSessionDialog

T0 = 1_700_000_000.0


def make_window(qtbot, clock: ManualClock, keeper: SessionKeeper | None = None) -> MainWindow:  # type: ignore[no-untyped-def]
    w = MainWindow(WindowFacts(
        TrendStore(), default_profile(), session_start=T0, now_fn=clock.now, simulated=True, device="test",
        infusion_window_fn=None if keeper is None else keeper.infusion_window,  # as Bedside.infusion_window
    ))
    qtbot.addWidget(w)
    return w


def test_demo_session_autostarts_and_marks_the_trend(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock(T0)
    started: list[float] = []
    submitted: list[object] = []
    with SessionRecorder(tmp_path / "demo.db") as rec:
        keeper = SessionKeeper(rec, clock, submit_items=submitted.extend, folder=tmp_path, simulated=True,
                               on_infusion_started=started.append)
        window = make_window(qtbot, clock, keeper)
        ctl = SessionController(window, keeper)
        assert ctl.new_action.isEnabled() and not ctl.vitals_action.isEnabled()
        session = keeper.start_demo_session(autostart_at=T0 + 60)
        assert isinstance(ctl.panel, SessionSidePanel) and ctl.stack.currentWidget() is ctl.panel
        assert ctl.dock.widget() is ctl.body and ctl.dock.titleBarWidget() is ctl.duty_bar
        assert session.simulated and "SIMULATED" in ctl.panel.infusion.title.text()
        assert not ctl.new_action.isEnabled()
        clock.advance(61)
        ctl.tick()
        assert session.phase() is Phase.INFUSION and session.infusion.started_at == T0 + 60
        assert started == [T0 + 60]
        assert window.infusion_window_fn is not None
        assert window.infusion_window_fn(clock.now()) == (T0 + 60, T0 + 60 + 2400)
        session.add_side_effect("nausea", "mild")
        ctl.tick()
        assert [m[2] for m in ctl._markers_shown or []] == ["Infusion start", "Nausea (mild)"]
        window.refresh_trend()
        ctl.vitals_action.trigger()
        assert ctl.panel.dialog is not None and ctl.panel.dialog.windowTitle() == "Manual vitals"
        assert rec.flush()
    assert is_nurse_session(tmp_path / "demo.db")


def test_new_session_from_the_menu_and_resume(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock(T0)
    window = make_window(qtbot, clock)
    listeners: list[object] = []
    path = tmp_path / "real.db"
    with SessionRecorder(path) as rec:
        ctl = SessionController(window, SessionKeeper(rec, clock, add_listener=listeners.append, folder=tmp_path))
        ctl.new_action.trigger()
        dialog = ctl.dialog
        assert isinstance(dialog, NewSessionDialog)
        dialog.pseudonym.setText("KAP-1")
        for edit, text in (
            (dialog.nurse, "AB"),
            (dialog.therapist, "CD"),
            (dialog.prescriber, "EF"),
            (dialog.weight, "82"),
        ):
            edit.setText(text)
        dialog.consent.setChecked(True)
        dialog.escort.setChecked(True)
        dialog.accept()
        session = ctl.session
        assert session is not None and session.setup.pseudonym == "KAP-1" and listeners == [session]
        session.on_items([VitalSample(clock.now(), Parameter.NIBP_SYS, 120.0)])
        session.start_infusion()
        clock.advance(300)
        session.pause_infusion("patient request")
        assert rec.flush()
    assert not is_nurse_session(tmp_path / "nothing.db")

    clock.advance(60)
    window2 = make_window(qtbot, clock)
    with SessionRecorder(path) as rec2:
        ctl2 = SessionController(window2, SessionKeeper(rec2, clock, folder=tmp_path))
        resumed = ctl2.keeper.resume_session(path)
        assert resumed.infusion.paused and resumed.phase() is Phase.INFUSION
        assert ctl2.panel is not None and "PAUSED" in ctl2.panel.infusion.phase_label.text()


def test_a_record_that_cannot_be_resumed_is_reported_and_not_reused(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock(T0)
    window = make_window(qtbot, clock)
    path = tmp_path / "plain.db"  # a recording without a nurse's session in it
    with SessionRecorder(path) as rec:
        ctl = SessionController(window, SessionKeeper(rec, clock, folder=tmp_path))
        with pytest.raises(SessionDatabaseError):
            ctl.keeper.resume_session(path)
        assert "cannot be resumed" in ctl.status_label.text()
        assert not ctl.new_button.isEnabled() and not ctl.new_action.isEnabled()
        assert ctl.session is None


def test_offer_resume_lists_unfinished_real_sessions(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from kapmonitor.session import NurseSession, demo_setup
    from kapmonitor.ui.session.integration import offer_resume
    from kapmonitor.ui.session.resume import ResumeOfferDialog

    clock = ManualClock(T0)
    assert offer_resume(tmp_path) is None  # nothing unfinished: no dialog at all
    s = NurseSession.create(demo_setup().with_changes(simulated=False), clock, path=tmp_path / "a.db")
    s.start_infusion()
    s.shutdown()
    seen: list[str] = []

    def answer() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, ResumeOfferDialog):
            QTimer.singleShot(20, answer)
            return
        seen.append(dialog.list.item(0).text())
        dialog.resume_button.click()

    QTimer.singleShot(0, answer)
    assert offer_resume(tmp_path) == tmp_path / "a.db"
    assert "DEMO-001" in seen[0] and "infusion" in seen[0]
