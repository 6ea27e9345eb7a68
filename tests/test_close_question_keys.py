"""The "End monitoring?" question during an infusion: the keyboard never quits monitoring by itself.

Real key events go to the question as a nurse's keyboard would send them (Enter, the keypad's
Enter, Space, Escape, and Enter after tabbing onto "Quit monitoring").
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QPushButton

from kapmonitor.alarms.profile import default_profile
from kapmonitor.bedside import WindowFacts
from kapmonitor.model.trends import TrendStore
from kapmonitor.ui.main_window import MainWindow

T0 = 1_800_000_000.0


def ask(qtbot) -> tuple[MainWindow, QMessageBox]:  # type: ignore[no-untyped-def]
    window = MainWindow(WindowFacts(
            TrendStore(), default_profile(), session_start=T0, now_fn=lambda: T0, simulated=False,
                        device="test"))
    qtbot.addWidget(window)
    window.show()
    window.start()
    window.close_guard = lambda: "The infusion is running."
    assert not window.close()
    box = window.close_question
    assert box is not None
    qtbot.waitUntil(box.isVisible)
    return window, box


def button(box: QMessageBox, text: str) -> QPushButton:
    found = next(b for b in box.buttons() if b.text().replace("&", "") == text)
    assert isinstance(found, QPushButton)
    return found


def key_target(box: QMessageBox):  # type: ignore[no-untyped-def]
    """Where the keyboard goes in the question: its focus widget."""
    return box.focusWidget() or box


@pytest.mark.parametrize("key", [Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space, Qt.Key.Key_Escape])
def test_a_key_on_the_question_keeps_monitoring(qtbot, key: Qt.Key) -> None:  # type: ignore[no-untyped-def]
    window, box = ask(qtbot)
    keep = button(box, "Keep monitoring")
    assert box.defaultButton() is keep and box.escapeButton() is keep
    qtbot.waitUntil(lambda: box.focusWidget() is keep)  # the default is where the keyboard is
    qtbot.keyClick(key_target(box), key)
    qtbot.waitUntil(lambda: not box.isVisible())
    assert box.clickedButton() is keep
    assert window.isVisible() and window.fast_timer.isActive()  # still monitoring


def test_enter_after_tabbing_onto_quit_still_keeps_monitoring(qtbot) -> None:  # type: ignore[no-untyped-def]
    window, box = ask(qtbot)
    quit_button = button(box, "Quit monitoring")
    quit_button.setFocus()
    qtbot.waitUntil(lambda: box.focusWidget() is quit_button)
    qtbot.keyClick(quit_button, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not box.isVisible())
    assert box.clickedButton() is not quit_button and window.isVisible()


def test_quit_needs_a_deliberate_click(qtbot) -> None:  # type: ignore[no-untyped-def]
    window, box = ask(qtbot)
    qtbot.mouseClick(button(box, "Quit monitoring"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.isVisible())
