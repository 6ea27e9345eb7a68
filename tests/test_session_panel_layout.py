"""The session panel holds still and is safe under the finger and the Enter key (issue 11, defects
14, 21 and 22): reserved room for prompts and messages, units never wrapped, a drug recorded only
after confirmation, stale messages cleared, Enter never cancelling a form or signing/removing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QTextLayout, QTextOption
from PySide6.QtWidgets import QApplication, QWidget

from kapmonitor.model.clock import ManualClock
from kapmonitor.session import NurseSession, demo_setup
from kapmonitor.ui.session.common import keep_units_together
from kapmonitor.ui.session.discharge import DischargeDialog
from kapmonitor.ui.session.events import EditEventDialog, EventsPanel
from kapmonitor.ui.session.panel import SessionSidePanel
from kapmonitor.ui.session.scales import ScalesPanel
from kapmonitor.ui.session.setup import NewSessionDialog

T0 = 1_700_000_000.0


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def session(tmp_path: Path, clock: ManualClock) -> Iterator[NurseSession]:
    s = NurseSession.create(demo_setup().with_changes(simulated=False), clock, path=tmp_path / "s.kapsession")
    yield s
    s.shutdown()


def top_in(widget: QWidget, ancestor: QWidget) -> int:
    return widget.mapTo(ancestor, QPoint(0, 0)).y()


def settle() -> None:
    for _ in range(3):
        QApplication.processEvents()


def wrapped_lines(text: str, font: object, width: int) -> list[str]:
    layout = QTextLayout(text, font)  # type: ignore[arg-type]
    option = QTextOption()
    option.setWrapMode(QTextOption.WrapMode.WordWrap)
    layout.setTextOption(option)
    layout.beginLayout()
    lines = []
    while True:
        line = layout.createLine()
        if not line.isValid():
            break
        line.setLineWidth(width)
        lines.append(text[line.textStart() : line.textStart() + line.textLength()])
    layout.endLayout()
    return lines


def test_units_never_wrap_inside_a_quantity(qtbot, session: NurseSession) -> None:  # type: ignore[no-untyped-def]
    panel = SessionSidePanel(session)
    qtbot.addWidget(panel)
    label = panel.infusion.plan_label
    text = label.text()
    assert keep_units_together("5.25 mL/h over 40 min") == "5.25\u00a0mL\u2060/\u2060h over 40\u00a0min"
    for width in range(60, 520, 4):
        for line in wrapped_lines(text, label.font(), width):
            stripped = line.rstrip().replace("\u2060", "")
            assert not stripped.endswith(("mL/", "mg/", "5.25", "0.5", "35.0", "3.50", "40")), (width, line)


def test_prompts_and_messages_do_not_move_the_panel(qtbot, session: NurseSession, clock: ManualClock) -> None:  # type: ignore[no-untyped-def]
    panel = SessionSidePanel(session)
    qtbot.addWidget(panel)
    panel.resize(470, 900)
    panel.show()
    settle()
    tabs_y, buttons_y = top_in(panel.tabs, panel), top_in(panel.vitals_button, panel)
    session.start_infusion()
    clock.advance(40 * 60)  # MOAA/S, CADSS and "stop the pump" are all due now
    panel.infusion.refresh()
    settle()
    assert len(panel.infusion.prompt_texts) == 3 and panel.infusion.prompt_strip.isVisible()
    assert (top_in(panel.tabs, panel), top_in(panel.vitals_button, panel)) == (tabs_y, buttons_y)
    panel.infusion._report("Could not start an NIBP measurement: the monitor did not answer")
    settle()
    assert top_in(panel.tabs, panel) == tabs_y
    session.record_scale("moaas", 4)
    session.record_scale("cadss", 12)
    session.stop_infusion()
    panel.infusion._report("")
    panel.infusion.refresh()
    settle()
    assert panel.infusion.prompt_texts == []
    assert top_in(panel.tabs, panel) == tabs_y


def test_field_messages_do_not_move_the_buttons(qtbot, session: NurseSession) -> None:  # type: ignore[no-untyped-def]
    panel = EventsPanel(session)
    qtbot.addWidget(panel)
    panel.resize(470, 1000)
    panel.show()
    settle()
    def positions() -> tuple[int, int, int]:
        return top_in(panel.add_note_button, panel), top_in(panel.table, panel), top_in(panel.edit_button, panel)

    before = positions()
    qtbot.keyClicks(panel.drug_edit, "Ondansetron")
    qtbot.keyClicks(panel.dose_edit, "four")
    qtbot.mouseClick(panel.add_intervention_button, Qt.MouseButton.LeftButton)
    assert "needs a number" in panel.dose_box.message
    qtbot.mouseClick(panel.add_note_button, Qt.MouseButton.LeftButton)
    assert panel.note_box.message == "the note is empty"
    settle()
    assert positions() == before
    qtbot.keyClicks(panel.note_edit, "x")  # typing clears the message; still nothing moves
    assert panel.note_box.message == ""
    settle()
    assert top_in(panel.table, panel) == before[1]


def test_quick_pick_fills_the_form_and_the_nurse_confirms(qtbot, session: NurseSession, clock: ManualClock) -> None:  # type: ignore[no-untyped-def]
    session.sign_in("AB")
    panel = SessionSidePanel(session)
    qtbot.addWidget(panel)
    panel.resize(470, 640)  # a short panel: the events tab scrolls
    panel.show()
    panel.tabs.setCurrentIndex(0)
    settle()
    events = panel.events
    midazolam = next(b for b in events.quick_buttons if b.text() == "Midazolam 1 mg IV")
    qtbot.mouseClick(midazolam, Qt.MouseButton.LeftButton)
    assert session.events() == []  # one tap records nothing
    assert (events.drug_edit.text(), events.dose_edit.text(), events.route_combo.currentText()) == (
        "Midazolam", "1 mg", "IV")
    assert "Midazolam 1 mg IV" in events.pending_intervention and "by AB" in events.pending_intervention
    settle()
    assert not events.intervention_check.visibleRegion().isEmpty()  # shown without scrolling by hand
    assert events.add_intervention_button.hasFocus()
    type_over = events.dose_edit
    type_over.selectAll()
    qtbot.keyClicks(type_over, "0.5 mg")  # corrected before confirming
    assert "Midazolam 0.5 mg IV" in events.pending_intervention
    clock.advance(30)
    qtbot.keyClick(type_over, Qt.Key.Key_Return)  # Enter confirms what the form shows
    (event,) = session.events()
    assert (event.drug, event.dose, event.route, event.who, event.t) == ("Midazolam", "0.5 mg", "IV", "AB", T0 + 30)
    settle()
    assert "Recorded Midazolam 0.5 mg IV" in events.intervention_check.text() and "by AB" in events.status.text()
    assert not events.intervention_check.visibleRegion().isEmpty()
    assert not events.status.visibleRegion().isEmpty()  # also above the scrolling part of the tab


def test_a_corrected_cadss_clears_its_message(qtbot, session: NurseSession) -> None:  # type: ignore[no-untyped-def]
    panel = ScalesPanel(session)
    qtbot.addWidget(panel)
    session.start_infusion()
    qtbot.keyClicks(panel.total_edits["cadss"], "100")
    qtbot.keyClick(panel.total_edits["cadss"], Qt.Key.Key_Return)
    assert "0 to 92" in panel.boxes["cadss"].message and session.scales("cadss") == []
    qtbot.keyClick(panel.total_edits["cadss"], Qt.Key.Key_Backspace)  # "10": a valid total now
    assert panel.boxes["cadss"].message == ""
    qtbot.keyClick(panel.total_edits["cadss"], Qt.Key.Key_Return)
    assert [e.score for e in session.scales("cadss")] == [10.0]


def test_enter_in_the_set_up_form_never_throws_it_away(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    d = NewSessionDialog(folder=tmp_path)
    qtbot.addWidget(d)
    d.show()
    d.pseudonym.setFocus()
    qtbot.keyClicks(d.pseudonym, "KAP-1")
    qtbot.keyClick(d.pseudonym, Qt.Key.Key_Return)
    assert d.isVisible() and d.result_setup is None  # not cancelled: the missing fields are shown
    assert d.pseudonym.text() == "KAP-1" and "nurse_initials" in d.field_errors
    for edit, text in ((d.nurse, "AB"), (d.therapist, "CD"), (d.prescriber, "EF"), (d.weight, "70")):
        qtbot.keyClicks(edit, text)
    d.consent.setChecked(True)
    d.escort.setChecked(True)
    qtbot.keyClick(d.weight, Qt.Key.Key_Return)
    assert d.result() == d.DialogCode.Accepted and d.result_setup is not None


def test_enter_never_signs_a_discharge_or_removes_an_entry(qtbot, session: NurseSession, clock: ManualClock) -> None:  # type: ignore[no-untyped-def]
    note = session.add_note("to remove")
    remove = EditEventDialog(note, delete=True)
    remove.session = session
    qtbot.addWidget(remove)
    remove.show()
    qtbot.keyClicks(remove.who_edit, "AB")
    qtbot.keyClicks(remove.reason_edit, "wrong patient")
    qtbot.keyClick(remove.reason_edit, Qt.Key.Key_Return)
    assert remove.isVisible() and [e.id for e in session.events()] == [note.id]

    session.start_infusion()
    clock.advance(40 * 60)
    session.stop_infusion()
    clock.advance(61 * 60)
    d = DischargeDialog(session)
    qtbot.addWidget(d)
    d.show()
    for cb in d.checks.values():
        cb.setChecked(True)
    d.who_edit.setFocus()
    qtbot.keyClicks(d.who_edit, "AB")
    qtbot.keyClick(d.who_edit, Qt.Key.Key_Return)
    assert d.isVisible() and not session.closed and d.who_edit.text() == "AB"  # nothing signed, nothing lost
    qtbot.mouseClick(d.sign_button, Qt.MouseButton.LeftButton)
    assert session.closed


def test_the_infusion_panel_is_never_squeezed_by_the_tabs(qtbot, session: NurseSession) -> None:  # type: ignore[no-untyped-def]
    panel = SessionSidePanel(session)
    qtbot.addWidget(panel)
    panel.show()
    for height in (900, 700, panel.minimumSizeHint().height()):
        panel.resize(470, height)
        settle()
        infusion = panel.infusion
        assert infusion.height() >= infusion.minimumSizeHint().height(), height
        assert infusion.stop_button.height() >= infusion.stop_button.minimumSizeHint().height()


def test_the_set_up_form_is_never_cut_in_a_narrow_dialog(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    d = NewSessionDialog(folder=tmp_path)
    qtbot.addWidget(d)
    d.show()
    for width, two_columns in ((560, False), (1100, True)):
        d.resize(width, 700)
        settle()
        body = d.boxes["pseudonym"].parentWidget()
        assert body is not None
        viewport = body.parentWidget()
        assert viewport is not None
        for key, box in d.boxes.items():  # every field whole inside the visible width
            right = box.mapTo(viewport, QPoint(box.width(), 0)).x()
            assert right <= viewport.width(), (width, key, right, viewport.width())
        beside = d.boxes["weight_kg"].mapTo(body, QPoint(0, 0)).x() > d.boxes["pseudonym"].mapTo(body, QPoint(0, 0)).x()
        assert beside is two_columns
