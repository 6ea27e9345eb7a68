"""The PHQ-9 on screen: driven with real key presses and mouse clicks, saved to a real course
database the moment the ninth answer is given, the patient-facing pages impossible to close, and a
positive item 9 raising a safety prompt a clinician acknowledges (who and when recorded)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from kapmonitor.course.store import CourseStore
from kapmonitor.ui.course.scores import Phq9Form, SafetyPromptDialog, ScoreContext, ScoreEntryDialog

pytestmark = pytest.mark.usefixtures("qapp")
TODAY = dt.date.today()


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    path = tmp_path / "courses.db"
    with CourseStore.open(path) as store:
        store.add_course("KAP-7", "AB", TODAY - dt.timedelta(days=30))
    return path


def context(store_path: Path) -> ScoreContext:
    return ScoreContext(store_path, "KAP-7", TODAY, "month-1", "AB", None, TODAY)


def scores(path: Path) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT instrument, total, item9, items, source, timepoint, who FROM scores").fetchall()
    finally:
        conn.close()


def test_keyboard_answers_back_and_next_then_the_clinician_sees_total_and_band(qtbot, store_path: Path) -> None:  # type: ignore[no-untyped-def]
    form = Phq9Form(context(store_path))
    qtbot.addWidget(form)
    form.show()
    qtbot.keyClick(form, Qt.Key.Key_2)
    qtbot.keyClick(form, Qt.Key.Key_3)
    assert form.index == 2 and form.answers[:2] == [2, 3]
    qtbot.keyClick(form, Qt.Key.Key_Left)  # back to item 2, its answer shown
    assert form.index == 1 and form.answer_buttons[3].isChecked()
    qtbot.keyClick(form, Qt.Key.Key_1)  # changed
    qtbot.keyClick(form, Qt.Key.Key_Escape)  # ignored on the patient's screen
    assert form.isVisible() and form.index == 2
    for key in (Qt.Key.Key_1, Qt.Key.Key_0, Qt.Key.Key_2, Qt.Key.Key_1, Qt.Key.Key_1, Qt.Key.Key_0):
        qtbot.keyClick(form, key)
    assert form.index == 8 and scores(store_path) == []  # nothing saved before the ninth answer
    qtbot.keyClick(form, Qt.Key.Key_0)
    assert scores(store_path) == [("phq-9", 8, 0, "[2, 1, 1, 0, 2, 1, 1, 0, 0]", "form", "month-1", "AB")]
    assert form.pages.currentIndex() == 1 and "hand the screen back" in form.thanks.text()
    form.close()  # the window's close button: still the patient's screen
    assert form.isVisible()
    qtbot.mouseClick(form.clinician_button, Qt.MouseButton.LeftButton)
    assert "total 8 / 27 — mild" in form.result_label.text() and form.safety is None
    qtbot.mouseClick(form.close_button, Qt.MouseButton.LeftButton)
    assert not form.isVisible() and form.result() == QDialog.DialogCode.Accepted


def test_mouse_answers_and_a_positive_item_9_must_be_acknowledged(qtbot, store_path: Path) -> None:  # type: ignore[no-untyped-def]
    form = Phq9Form(context(store_path))
    qtbot.addWidget(form)
    form.show()
    for value in (3, 3, 2, 2, 1, 3, 2, 1):
        qtbot.mouseClick(form.answer_buttons[value], Qt.MouseButton.LeftButton)
    assert form.index == 8
    qtbot.mouseClick(form.back_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(form.next_button, Qt.MouseButton.LeftButton)  # item 8 was answered: Next goes on
    assert form.index == 8 and not form.next_button.isEnabled()  # item 9 not yet answered
    qtbot.mouseClick(form.answer_buttons[2], Qt.MouseButton.LeftButton)
    with CourseStore.open_read_only(store_path) as store:
        (prompt,) = store.prompts("KAP-7")  # raised at once, before any clinician looked
    assert not prompt.acknowledged
    qtbot.mouseClick(form.clinician_button, Qt.MouseButton.LeftButton)
    assert "total 19 / 27 — moderately severe" in form.result_label.text()
    assert form.safety is not None and "item 9" in form.safety.banner.text()
    assert not form.close_button.isEnabled()
    qtbot.keyClick(form, Qt.Key.Key_Escape)
    assert form.isVisible()  # not dismissed without the acknowledgement
    qtbot.mouseClick(form.safety.ack_button, Qt.MouseButton.LeftButton)
    assert "initials" in form.safety.who_box.message and not form.safety.done
    qtbot.keyClicks(form.safety.who_edit, "DrM")
    qtbot.keyClicks(form.safety.action_edit, "risk assessed, safety plan agreed")
    qtbot.mouseClick(form.safety.ack_button, Qt.MouseButton.LeftButton)
    with CourseStore.open_read_only(store_path) as store:
        (prompt,) = store.prompts("KAP-7")
        audit = [a["action"] for a in store.audit("KAP-7")]
    assert prompt.acknowledged_by == "DrM" and prompt.action == "risk assessed, safety plan agreed"
    assert prompt.acknowledged_t is not None and abs(prompt.acknowledged_t - prompt.raised_t) < 60
    assert "safety prompt acknowledged" in audit and "Acknowledged by DrM" in form.safety.status.text()
    assert form.close_button.isEnabled()
    qtbot.mouseClick(form.close_button, Qt.MouseButton.LeftButton)
    assert not form.isVisible()


def test_stopping_before_the_end_saves_nothing(qtbot, store_path: Path) -> None:  # type: ignore[no-untyped-def]
    form = Phq9Form(context(store_path))
    qtbot.addWidget(form)
    form.show()
    qtbot.keyClick(form, Qt.Key.Key_1)
    qtbot.mouseClick(form.stop_button, Qt.MouseButton.LeftButton)
    assert not form.isVisible() and scores(store_path) == []


def test_bdi_ii_total_and_item_9_raise_a_prompt_that_closes_only_when_acknowledged(  # type: ignore[no-untyped-def]
    qtbot, store_path: Path,
) -> None:
    entry = ScoreEntryDialog(store_path, "KAP-7", ["month-1"], TODAY)
    qtbot.addWidget(entry)
    entry.show()
    assert entry.instrument.currentData() == "bdi-ii" and "never shown" in entry.hint.text()
    qtbot.keyClicks(entry.total_edit, "70")
    qtbot.keyClicks(entry.who_edit, "AB")
    qtbot.mouseClick(entry.save_button, Qt.MouseButton.LeftButton)
    assert "item 9" in entry.boxes["item9"].message and scores(store_path) == []  # never left out
    qtbot.keyClicks(entry.item9_edit, "1")
    qtbot.mouseClick(entry.save_button, Qt.MouseButton.LeftButton)
    assert "out of range 0–63" in entry.boxes["total"].message and scores(store_path) == []
    entry.total_edit.clear()
    qtbot.keyClicks(entry.total_edit, "24")
    qtbot.mouseClick(entry.save_button, Qt.MouseButton.LeftButton)
    assert scores(store_path) == [("bdi-ii", 24, 1, None, "entered", "month-1", "AB")]
    dialog = entry.prompt_dialog
    assert isinstance(dialog, SafetyPromptDialog) and dialog.isVisible()
    qtbot.addWidget(dialog)
    dialog.close()
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert dialog.isVisible() and not dialog.close_button.isEnabled()
    qtbot.keyClicks(dialog.panel.who_edit, "DrM")
    qtbot.mouseClick(dialog.panel.ack_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(dialog.close_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    with CourseStore.open_read_only(store_path) as store:
        assert [p.acknowledged_by for p in store.prompts("KAP-7")] == ["DrM"]
