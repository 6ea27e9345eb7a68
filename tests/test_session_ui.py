"""The nurse's session widgets with real Qt widgets offscreen (pytest-qt): typing, messages, flows."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from kapmonitor.model.clock import ManualClock
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import Item, Source, VitalSample
from kapmonitor.session import NurseSession, Phase, demo_setup
from kapmonitor.session.entries import PrestartOutcome
from kapmonitor.session.storage import find_unfinished_sessions, new_session_path
from kapmonitor.ui.course.view import CourseView, SessionRecordDialog
from kapmonitor.ui.session.common import clock_text
from kapmonitor.ui.session.discharge import AddendumDialog, DischargeDialog
from kapmonitor.ui.session.events import EditEventDialog, EventsPanel
from kapmonitor.ui.session.infusion import InfusionPanel, OverrideDialog, PauseDialog, StopDialog
from kapmonitor.ui.session.panel import SessionSidePanel
from kapmonitor.ui.session.resume import ResumeOfferDialog
from kapmonitor.ui.session.scales import ScalesPanel
from kapmonitor.ui.session.setup import NewSessionDialog
from kapmonitor.ui.session.vitals import ManualVitalsDialog

T0 = 1_700_000_000.0


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def submitted() -> list[Item]:
    return []


@pytest.fixture
def session(tmp_path: Path, clock: ManualClock, submitted: list[Item]) -> Iterator[NurseSession]:
    s = NurseSession.create(
        demo_setup().with_changes(simulated=False), clock, path=tmp_path / "ui.db", submit_items=submitted.extend
    )
    yield s
    s.shutdown()


def db_rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def type_into(qtbot, widget, text: str) -> None:  # type: ignore[no-untyped-def]
    widget.clear()
    qtbot.keyClicks(widget, text)


def fill_valid_form(qtbot, d: NewSessionDialog) -> None:  # type: ignore[no-untyped-def]
    type_into(qtbot, d.pseudonym, "KAP-017")
    type_into(qtbot, d.nurse, "AB")
    type_into(qtbot, d.therapist, "CD")
    type_into(qtbot, d.prescriber, "EF")
    type_into(qtbot, d.weight, "70")
    type_into(qtbot, d.lot, "L123")
    d.consent.setChecked(True)
    d.escort.setChecked(True)


def test_new_session_form_shows_plan_large_and_messages_at_the_field(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    d = NewSessionDialog(folder=tmp_path)
    qtbot.addWidget(d)
    fill_valid_form(qtbot, d)
    assert d.total_label.text() == "35.0 mg"
    assert d.volume_label.text() == "3.50 mL"
    assert d.rate_label.text() == "5.25 mL/h"
    assert d.field_errors == {}

    type_into(qtbot, d.weight, "0")
    assert "more than 0" in d.field_errors["weight_kg"]
    assert d.rate_label.text() == "— mL/h"
    type_into(qtbot, d.weight, "seventy")
    assert "not a number" in d.field_errors["weight_kg"]
    type_into(qtbot, d.weight, "80,5")  # decimal comma accepted
    assert "weight_kg" not in d.field_errors
    assert d.total_label.text() == "40.2 mg"

    type_into(qtbot, d.dose, "1.5")
    assert d.dose_confirm.isVisibleTo(d)
    assert "confirm" in d.field_errors["dose_mg_per_kg"]
    d.accept()
    assert d.result_setup is None and d.summary.text()
    d.dose_confirm.setChecked(True)
    assert "dose_mg_per_kg" not in d.field_errors
    type_into(qtbot, d.dose, "0.5")
    assert not d.dose_confirm.isVisibleTo(d)

    type_into(qtbot, d.pump_rate, "9")
    assert "does not fit" in d.field_errors["pump_rate_ml_per_h"]
    type_into(qtbot, d.pump_rate, "6.04")  # 80.5 kg: 40.25 mg, 4.025 mL over 40 min = 6.04 mL/h
    assert "pump_rate_ml_per_h" not in d.field_errors

    d.consent.setChecked(False)
    d.accept()
    assert d.result_setup is None and "consent" in d.field_errors
    d.consent.setChecked(True)
    d.accept()
    assert d.result() == d.DialogCode.Accepted
    s = d.result_setup
    assert s is not None and s.pseudonym == "KAP-017" and s.weight_kg == 80.5 and s.pump_rate_ml_per_h == 6.04


def test_new_session_form_suggests_the_course_number(qtbot, tmp_path: Path, clock: ManualClock) -> None:  # type: ignore[no-untyped-def]
    earlier = NurseSession.create(
        demo_setup().with_changes(pseudonym="KAP-017", course_number=1, course_total=3, simulated=False),
        clock,
        path=new_session_path("KAP-017", T0, tmp_path),
    )
    earlier.start_infusion()  # only sessions that were infused count in the course
    earlier.shutdown()
    d = NewSessionDialog(folder=tmp_path)
    qtbot.addWidget(d)
    type_into(qtbot, d.pseudonym, "KAP-017")
    d.pseudonym.editingFinished.emit()
    assert (d.course_number.value(), d.course_total.value()) == (2, 3)
    assert "2 of 3" in d.course_hint.text()


def test_infusion_panel_start_override_pause_resume_stop(qtbot, session: NurseSession, clock: ManualClock) -> None:  # type: ignore[no-untyped-def]
    session.prestart_check = lambda: PrestartOutcome(False, "BP 182/105 blocks the start")
    panel = InfusionPanel(session)
    qtbot.addWidget(panel)
    assert panel.phase_label.text() == "Baseline"
    assert not panel.pause_button.isEnabled()
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    dialog = panel.dialog
    assert isinstance(dialog, OverrideDialog)
    dialog.accept()  # no initials, no reason: refused at the fields
    assert dialog.isVisible() and dialog.who_box.message and dialog.reason_box.message
    qtbot.keyClicks(dialog.who_edit, "AB")
    qtbot.keyClicks(dialog.reason_edit, "Dr X agreed by phone")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert session.phase() is Phase.INFUSION
    assert session.prestart is not None and session.prestart.override_by == "AB"

    clock.advance(600)
    panel.refresh()
    assert panel.elapsed_label.text() == "10:00" and panel.remaining_label.text() == "30:00"
    assert panel.progress.value() == 250
    assert panel.nibp_label.text() == "NIBP DUE NOW"
    requests: list[int] = []
    panel.request_nibp = lambda: requests.append(1)
    panel.refresh()
    qtbot.mouseClick(panel.nibp_button, Qt.MouseButton.LeftButton)
    assert requests == [1]

    qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
    pause = panel.dialog
    assert isinstance(pause, PauseDialog)
    pause.accept()
    assert pause.box.message == "give a reason for the pause"
    qtbot.mouseClick(pause.quick["Toilet"], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(pause.ok_button, Qt.MouseButton.LeftButton)
    assert "PAUSED" in panel.phase_label.text()
    clock.advance(300)
    panel.refresh()
    assert panel.elapsed_label.text() == "10:00" and "pauses +5:00" in panel.detail_label.text()
    assert panel.resume_button.isEnabled() and not panel.pause_button.isEnabled()
    qtbot.mouseClick(panel.resume_button, Qt.MouseButton.LeftButton)
    assert not session.infusion.paused

    clock.advance(600)
    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)  # asks for the pump's volume first
    box = panel.dialog
    assert isinstance(box, StopDialog)
    assert box.volume_edit.text() == "1.75"  # 20 min at 5.25 mL/h, prefilled
    qtbot.keyClick(box.volume_edit, Qt.Key.Key_Return)  # Enter never stops the pump
    assert session.phase() is Phase.INFUSION and not box.isVisible()
    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    box = panel.dialog
    assert isinstance(box, StopDialog)
    box.volume_edit.clear()
    qtbot.keyClicks(box.volume_edit, "17")  # a slip of the decimal point is refused at the field
    qtbot.mouseClick(box.ok_button, Qt.MouseButton.LeftButton)
    assert "decimal point" in box.box.message and session.phase() is Phase.INFUSION
    box.volume_edit.clear()
    qtbot.keyClicks(box.volume_edit, "1,7")
    qtbot.mouseClick(box.ok_button, Qt.MouseButton.LeftButton)
    assert session.phase() is Phase.OBSERVATION
    assert panel.volume_label.text() == "1.70 mL"
    assert panel.phase_label.text() == "Observation"
    assert not panel.stop_button.isEnabled()
    assert session.flush()
    assert [r[0] for r in db_rows(session.path, "SELECT action FROM infusion_events ORDER BY id")] == [
        "start",
        "pause",
        "resume",
        "stop",
    ]
    assert db_rows(session.path, "SELECT reason FROM infusion_events WHERE action = 'pause'") == [("Toilet",)]
    info = dict(db_rows(session.path, "SELECT key, value FROM session_info"))
    assert float(info["volume_infused_ml"]) == 1.7 and info["volume_infused_confirmed"] == "1"
    assert float(info["volume_computed_ml"]) == pytest.approx(1.75)


def test_prompts_show_when_due(qtbot, session: NurseSession, clock: ManualClock) -> None:  # type: ignore[no-untyped-def]
    panel = InfusionPanel(session)
    qtbot.addWidget(panel)
    session.start_infusion()
    clock.advance(15 * 60)
    panel.refresh()
    assert "MOAA/S assessment due" in panel.prompt_texts
    clock.advance(25 * 60)
    panel.refresh()
    assert any("stop the pump" in t for t in panel.prompt_texts)
    assert any("CADSS" in t for t in panel.prompt_texts)


def test_events_panel_one_tap_messages_and_audited_edit(qtbot, session: NurseSession, clock: ManualClock) -> None:  # type: ignore[no-untyped-def]
    panel = EventsPanel(session)
    qtbot.addWidget(panel)
    qtbot.mouseClick(panel.severity_buttons["moderate"], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(panel.side_buttons["nausea"], Qt.MouseButton.LeftButton)
    assert panel.row_texts == ["Nausea (moderate)"]
    qtbot.mouseClick(panel.side_buttons["other"], Qt.MouseButton.LeftButton)
    assert panel.note_box.message == "describe the side effect"
    assert len(panel.row_texts) == 1
    qtbot.keyClicks(panel.note_edit, "tingling lips")
    qtbot.mouseClick(panel.side_buttons["other"], Qt.MouseButton.LeftButton)
    assert panel.row_texts[-1] == "Other (moderate): tingling lips"
    qtbot.mouseClick(panel.quick_buttons[0], Qt.MouseButton.LeftButton)
    assert len(panel.row_texts) == 2  # a quick pick only fills the form (issue 11, defect 21)
    qtbot.mouseClick(panel.add_intervention_button, Qt.MouseButton.LeftButton)
    assert panel.row_texts[-1] == "Ondansetron 4 mg IV"
    qtbot.keyClicks(panel.drug_edit, "Ondansetron")
    qtbot.keyClicks(panel.dose_edit, "four")
    qtbot.mouseClick(panel.add_intervention_button, Qt.MouseButton.LeftButton)
    assert "needs a number" in panel.dose_box.message
    assert len(panel.row_texts) == 3

    panel.table.selectRow(2)
    panel.request_edit()
    dialog = panel.dialog
    assert isinstance(dialog, EditEventDialog)
    type_into(qtbot, dialog.fields["dose"], "8 mg")  # type: ignore[arg-type]
    type_into(qtbot, dialog.time_edit, "25:99")
    qtbot.keyClicks(dialog.who_edit, "GH")
    qtbot.keyClicks(dialog.reason_edit, "dose typed wrong")
    dialog.accept()
    assert "not a time" in dialog.boxes["t"].message
    earlier = clock_text(T0 - 120)
    type_into(qtbot, dialog.time_edit, earlier)
    dialog.who_edit.clear()
    dialog.accept()
    assert dialog.boxes["who"].message == "enter your initials"
    qtbot.keyClicks(dialog.who_edit, "GH")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert panel.row_texts[0] == "Ondansetron 8 mg IV"  # now the earliest entry
    assert session.events()[0].t == T0 - 120
    assert session.flush()
    ((who, before, after, reason),) = db_rows(
        session.path, "SELECT who, before, after, reason FROM audit WHERE action = 'edit'"
    )
    assert who == "GH" and reason == "dose typed wrong"
    assert json.loads(str(before))["dose"] == "4 mg" and json.loads(str(after))["dose"] == "8 mg"
    assert json.loads(str(before))["t"] == T0 and json.loads(str(after))["t"] == T0 - 120

    panel.table.selectRow(1)
    panel.request_edit(delete=True)
    dialog = panel.dialog
    assert isinstance(dialog, EditEventDialog)
    qtbot.keyClicks(dialog.who_edit, "GH")
    qtbot.keyClicks(dialog.reason_edit, "entered for the wrong patient")
    dialog.accept()
    assert panel.row_texts == ["Ondansetron 8 mg IV", "Other (moderate): tingling lips"]


def test_scales_panel(qtbot, session: NurseSession) -> None:  # type: ignore[no-untyped-def]
    panel = ScalesPanel(session)
    qtbot.addWidget(panel)
    qtbot.mouseClick(panel.moaas_buttons[4], Qt.MouseButton.LeftButton)
    assert [e.score for e in session.scales("moaas")] == [4.0]
    qtbot.keyClicks(panel.total_edits["cadss"], "lots")
    qtbot.mouseClick(panel.save_buttons["cadss"], Qt.MouseButton.LeftButton)
    assert "not a number" in panel.boxes["cadss"].message
    type_into(qtbot, panel.total_edits["cadss"], "100")
    qtbot.mouseClick(panel.save_buttons["cadss"], Qt.MouseButton.LeftButton)
    assert "0 to 92" in panel.boxes["cadss"].message
    type_into(qtbot, panel.total_edits["cadss"], "21")
    qtbot.mouseClick(panel.save_buttons["cadss"], Qt.MouseButton.LeftButton)
    assert panel.boxes["cadss"].message == ""
    assert [e.score for e in session.scales("cadss")] == [21.0]
    assert "CADSS 21" in panel.history.text()


def test_manual_vitals_dialog(qtbot, session: NurseSession, submitted: list[Item]) -> None:  # type: ignore[no-untyped-def]
    d = ManualVitalsDialog(session)
    qtbot.addWidget(d)
    qtbot.keyClicks(d.edits[Parameter.NIBP_SYS], "120")
    qtbot.keyClicks(d.edits[Parameter.NIBP_DIA], "eighty")
    d.accept()
    assert "not a number" in d.boxes["nibp_dia"].message and submitted == []
    type_into(qtbot, d.edits[Parameter.NIBP_DIA], "130")
    d.accept()
    assert "lower than systolic" in d.boxes["nibp_dia"].message and submitted == []
    type_into(qtbot, d.edits[Parameter.NIBP_DIA], "80")
    qtbot.keyClicks(d.edits[Parameter.HR], "72")
    qtbot.mouseClick(d.ok_button, Qt.MouseButton.LeftButton)
    assert d.result() == d.DialogCode.Accepted
    assert sorted(i.parameter.value for i in submitted if isinstance(i, VitalSample)) == ["hr", "nibp_dia", "nibp_sys"]
    assert all(isinstance(i, VitalSample) and i.source is Source.MANUAL for i in submitted)


def test_discharge_closes_the_session_then_addendum(qtbot, session: NurseSession, clock: ManualClock) -> None:  # type: ignore[no-untyped-def]
    panel = SessionSidePanel(session)
    qtbot.addWidget(panel)
    assert not panel.discharge_button.isEnabled()
    session.start_infusion()
    clock.advance(2400)
    session.stop_infusion()
    clock.advance(1800)
    panel.refresh()
    assert panel.discharge_button.isEnabled()
    d = panel.open_discharge()
    assert isinstance(d, DischargeDialog)
    assert "to go" in d.details["min_observation"].text()
    for cb in d.checks.values():
        cb.setChecked(True)
    d.accept()
    assert d.who_box.message  # initials missing
    qtbot.keyClicks(d.who_edit, "AB")
    d.checks["moaas_5"].setChecked(False)
    d.accept()
    assert "not met" in d.error.text() and "MOAA/S" in d.error.text()
    d.checks["moaas_5"].setChecked(True)
    # defect 4: 30 of 60 min observed, everything ticked: refused without a reason
    assert d.early_label.isVisibleTo(d) and "30:00 of 60 min to go" in d.early_label.text()
    qtbot.mouseClick(d.sign_button, Qt.MouseButton.LeftButton)
    assert not session.closed and "minimum observation time has not elapsed" in d.error.text()
    qtbot.keyClicks(d.override_edit, "transport arrived; physician agreed")
    qtbot.mouseClick(d.sign_button, Qt.MouseButton.LeftButton)
    assert session.closed and session.phase() is Phase.DISCHARGED
    assert session.flush()
    (checklist,) = db_rows(session.path, "SELECT checklist FROM discharge")
    recorded = json.loads(str(checklist[0]))
    assert recorded["override_reason"] == "transport arrived; physician agreed" and recorded["early"] is True
    assert recorded["items"]["min_observation"]["assessed"] is False
    assert recorded["items"]["min_observation"]["overridden"] is True
    panel.refresh()
    assert not panel.vitals_button.isEnabled() and panel.discharge_button.text() == "Addendum…"
    assert not panel.events.side_buttons["nausea"].isEnabled()
    assert not panel.infusion.start_button.isEnabled()
    a = panel.open_discharge()
    assert isinstance(a, AddendumDialog)
    a.accept()
    assert a.text_box.message
    a.text_edit.setPlainText("Phoned next day: well.")
    qtbot.keyClicks(a.who_edit, "AB")
    qtbot.mouseClick(a.ok_button, Qt.MouseButton.LeftButton)
    assert session.events()[-1].label == "Addendum: Phoned next day: well."
    assert session.flush()
    assert db_rows(session.path, "SELECT value FROM session_info WHERE key = 'status'") == [("discharged",)]


def test_resume_offer_and_course_view(qtbot, tmp_path: Path, clock: ManualClock) -> None:  # type: ignore[no-untyped-def]
    paths = []
    for n in (1, 2):
        s = NurseSession.create(
            demo_setup().with_changes(pseudonym="KAP-3", course_number=n, course_total=3, simulated=False),
            clock,
            path=new_session_path("KAP-3", clock.now(), tmp_path),
        )
        s.start_infusion()
        s.submit_manual_vitals({Parameter.NIBP_SYS: 140.0 + n, Parameter.NIBP_DIA: 90.0})
        clock.advance(3600)
        s.shutdown()
        paths.append(s.path)
    unfinished = find_unfinished_sessions(tmp_path)
    assert len(unfinished) == 2
    d = ResumeOfferDialog(unfinished)
    qtbot.addWidget(d)
    assert d.list.count() == 2 and "KAP-3" in d.list.item(0).text()
    d.close_selected()
    assert d.who_box.message and d.reason_box.message and d.list.count() == 2
    qtbot.keyClicks(d.who_edit, "AB")
    qtbot.keyClicks(d.reason_edit, "duplicate record")
    d.close_selected()
    assert d.list.count() == 1
    assert len(find_unfinished_sessions(tmp_path)) == 1
    d.accept()
    assert d.chosen == paths[0]

    view = CourseView("KAP-3", tmp_path)
    qtbot.addWidget(view)
    assert view.table.rowCount() == 2
    texts = [view.table.item(1, c).text() for c in range(view.table.columnCount())]
    assert texts[1] == "2 of 3\nabandoned" and texts[4] == "142/90"
    view.table.selectRow(0)
    view.open_selected()
    assert isinstance(view.record_dialog, SessionRecordDialog)
    text = view.record_dialog.text.toPlainText()
    assert "pseudonym: KAP-3" in text and "start" in text
    before = paths[0].stat().st_mtime_ns
    assert paths[0].stat().st_mtime_ns == before
    view.pseudonym_edit.setText("NOBODY")
    view.load()
    assert "no sessions" in view.box.message


def test_closed_panels_stop_listening(qtbot, session: NurseSession) -> None:  # type: ignore[no-untyped-def]
    panel = EventsPanel(session)
    bridge = panel.bridge
    assert bridge.notify in session._listeners
    seen: list[int] = []
    bridge.changed.connect(lambda: seen.append(1))
    session.add_note("one")
    assert seen == [1]
    bridge.deleteLater()
    qtbot.waitUntil(lambda: bridge.notify not in session._listeners, timeout=2000)
    session.add_note("two")  # no listener left on a deleted object: nothing raised
    assert seen == [1]
    panel.deleteLater()
