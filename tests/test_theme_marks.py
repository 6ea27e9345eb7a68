"""Real widgets offscreen with the application theme: disabled menu items look disabled, the default
button of a question box is visibly marked, and both stay legible (contrast >= 4.5:1) — issue 11."""

from __future__ import annotations

from collections import Counter

import pytest
from PySide6.QtCore import QPoint, QRect
from PySide6.QtGui import QAction, QColor, QImage
from PySide6.QtWidgets import QApplication, QMenu, QMessageBox, QPushButton, QWidget

from kapmonitor.ui import theme


def _luminance(c: QColor) -> float:
    def channel(v: int) -> float:
        s = v / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(c.red()) + 0.7152 * channel(c.green()) + 0.0722 * channel(c.blue())


def _contrast(a: QColor, b: QColor) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _colours(image: QImage, r: QRect) -> Counter[tuple[int, int, int]]:
    found: Counter[tuple[int, int, int]] = Counter()
    for y in range(max(0, r.top()), min(image.height(), r.bottom() + 1)):
        for x in range(max(0, r.left()), min(image.width(), r.right() + 1)):
            c = image.pixelColor(x, y)
            found[(c.red(), c.green(), c.blue())] += 1
    return found


def _text_colour(image: QImage, r: QRect) -> tuple[QColor, QColor]:
    """(background, text) of a band: the commonest colour, and the one most unlike it of >= 6 pixels."""
    counts = _colours(image, r)
    bg = QColor(*counts.most_common(1)[0][0])
    text = max((QColor(*p) for p, n in counts.items() if n >= 6), key=lambda c: _contrast(c, bg))
    return bg, text


@pytest.fixture
def themed(qapp):  # type: ignore[no-untyped-def]
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    sheet, palette, font = app.styleSheet(), app.palette(), app.font()
    theme.apply_application_font(app)
    yield app
    app.setStyleSheet(sheet)
    app.setPalette(palette)
    app.setFont(font)


def test_a_disabled_menu_item_looks_disabled_and_stays_legible(themed, qtbot) -> None:  # type: ignore[no-untyped-def]
    owner = QWidget()
    qtbot.addWidget(owner)
    menu = QMenu(owner)
    enabled = QAction("Measure NIBP now", menu)
    disabled = QAction("Measure NIBP now", menu)
    disabled.setEnabled(False)
    menu.addAction(enabled)
    menu.addAction(disabled)
    menu.popup(QPoint(0, 0))
    qtbot.waitExposed(menu)
    image = menu.grab().toImage()
    on_bg, on_text = _text_colour(image, menu.actionGeometry(enabled))
    off_bg, off_text = _text_colour(image, menu.actionGeometry(disabled))
    menu.close()
    assert _contrast(on_text, on_bg) >= 4.5 and _contrast(off_text, off_bg) >= 4.5
    # visibly different from an enabled item: clearly dimmer text (not one shade off)
    assert _contrast(on_text, off_text) >= 1.8, (on_text.name(), off_text.name())


def test_the_default_button_of_a_question_box_is_visibly_marked(themed, qtbot) -> None:  # type: ignore[no-untyped-def]
    box = QMessageBox(QMessageBox.Icon.Question, "End monitoring?", "Closing stops monitoring.")
    keep = box.addButton("Keep monitoring", QMessageBox.ButtonRole.RejectRole)
    leave = box.addButton("Quit monitoring", QMessageBox.ButtonRole.AcceptRole)
    box.setDefaultButton(keep)
    qtbot.addWidget(box)
    box.show()
    qtbot.waitExposed(box)
    assert isinstance(keep, QPushButton) and isinstance(leave, QPushButton) and keep.isDefault()

    def frame(button: QPushButton) -> Counter[tuple[int, int, int]]:
        image = button.grab().toImage()
        w, h = image.width(), image.height()
        edge = QRect(0, 0, w, 3)  # the top border band
        return _colours(image, edge) + _colours(image, QRect(0, h - 3, w, 3))

    def ring(counts: Counter[tuple[int, int, int]]) -> QColor:
        return QColor(*max(counts, key=lambda p: counts[p] if sum(p) > 150 else 0))

    mark, plain = ring(frame(keep)), ring(frame(leave))
    # the default button's frame is another colour, clearly (an accent, not a shade of grey)
    assert _contrast(mark, plain) >= 1.5 or (abs(mark.hue() - plain.hue()) > 30 and mark.saturation() > 80), (
        mark.name(), plain.name())
    bg, text = _text_colour(keep.grab().toImage(), keep.rect().adjusted(4, 4, -4, -4))
    assert _contrast(text, bg) >= 4.5
