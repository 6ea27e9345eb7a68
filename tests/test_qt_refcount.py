"""PySide6 6.12.0 drops a reference to None on every void call under Python 3.11; the pin keeps it out."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QWidget


def test_refcount_of_none_does_not_drift(qtbot) -> None:  # type: ignore[no-untyped-def]
    widget = QWidget()
    qtbot.addWidget(widget)
    before = sys.getrefcount(None)
    for i in range(2000):
        widget.setWindowTitle(f"t{i}")
    after = sys.getrefcount(None)
    assert abs(after - before) < 50, (before, after)
