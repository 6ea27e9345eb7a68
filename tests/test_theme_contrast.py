"""Text contrast of the dark theme, measured on rendered widgets offscreen (issue 11, defect 8):
drop-down lists, tab names, labels on tab pages, and disabled items that look disabled yet stay
readable. The real-desktop layer (tests/desktop/) measures the same on screen."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QRect
from PySide6.QtGui import QAction, QImage
from PySide6.QtWidgets import QApplication, QComboBox, QLabel, QMenu, QPushButton, QTabWidget, QVBoxLayout, QWidget

from kapmonitor.ui import theme

MIN = 4.5


def _luminance(rgb: int) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (rgb >> 16) & 255, (rgb >> 8) & 255, rgb & 255
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def text_contrast(image: QImage, rect: QRect | None = None) -> float:
    """Contrast of the text in `rect` of `image`: its commonest colour (the background) against the
    colour of at least 4 pixels that differs most from it (the glyph cores)."""
    rect = image.rect() if rect is None else rect.intersected(image.rect())
    counts: dict[int, int] = {}
    for y in range(rect.top(), rect.bottom() + 1):
        for x in range(rect.left(), rect.right() + 1):
            p = image.pixel(x, y) & 0xFFFFFF
            counts[p] = counts.get(p, 0) + 1
    background = max(counts, key=lambda p: counts[p])
    lb = _luminance(background)
    best = 1.0
    for p, n in counts.items():
        if n >= 4:
            la = _luminance(p)
            best = max(best, (max(la, lb) + 0.05) / (min(la, lb) + 0.05))
    return best


@pytest.fixture
def themed(qtbot):  # type: ignore[no-untyped-def]
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    old_palette, old_sheet, old_font = app.palette(), app.styleSheet(), app.font()
    theme.apply_application_font(app)
    yield app
    app.setPalette(old_palette)
    app.setStyleSheet(old_sheet)
    app.setFont(old_font)


def test_drop_down_list_items_are_readable(themed, qtbot) -> None:  # type: ignore[no-untyped-def]
    combo = QComboBox()
    qtbot.addWidget(combo)
    combo.addItems(["NIBP sys · medium · ≥ 160 mmHg", "NIBP sys · high · ≥ 180 mmHg", "SpO₂ · high · < 88 %"])
    combo.show()
    combo.showPopup()
    view = combo.view()
    qtbot.waitUntil(view.isVisible)
    image = view.grab().toImage()
    for row in range(combo.count()):
        rect = view.visualRect(view.model().index(row, 0))
        if row == combo.currentIndex():
            continue  # the highlighted row: checked against its own background below
        assert text_contrast(image, rect) >= MIN, (row, text_contrast(image, rect))
    current = view.visualRect(view.model().index(combo.currentIndex(), 0))
    assert text_contrast(image, current) >= MIN
    combo.hidePopup()


def test_tab_names_and_labels_on_a_tab_page_are_readable(themed, qtbot) -> None:  # type: ignore[no-untyped-def]
    tabs = QTabWidget()
    qtbot.addWidget(tabs)
    page = QWidget()
    QVBoxLayout(page).addWidget(QLabel("Minimum observation time (min)"))
    tabs.addTab(QWidget(), "Limits")
    tabs.addTab(page, "Other settings and sign-off")
    tabs.setCurrentIndex(1)
    tabs.resize(500, 200)
    tabs.show()
    qtbot.waitExposed(tabs)
    image = tabs.grab().toImage()
    bar = tabs.tabBar()
    for i in range(tabs.count()):
        rect = bar.tabRect(i).translated(bar.pos())
        assert text_contrast(image, rect) >= MIN, (tabs.tabText(i), text_contrast(image, rect))
    label = page.findChild(QLabel)
    assert label is not None
    rect = QRect(label.mapTo(tabs, label.rect().topLeft()), label.size())
    assert text_contrast(image, rect) >= MIN


def test_disabled_items_look_disabled_and_stay_readable(themed, qtbot) -> None:  # type: ignore[no-untyped-def]
    box = QWidget()
    qtbot.addWidget(box)
    layout = QVBoxLayout(box)
    on, off = QPushButton("Discharge…"), QPushButton("Discharge…")
    off.setEnabled(False)
    layout.addWidget(on)
    layout.addWidget(off)
    box.show()
    qtbot.waitExposed(box)
    on_image, off_image = on.grab().toImage(), off.grab().toImage()
    assert text_contrast(off_image) >= MIN
    assert text_contrast(on_image) - text_contrast(off_image) >= 3, "a disabled button looks like an enabled one"

    menu = QMenu()
    qtbot.addWidget(menu)
    enabled, disabled = QAction("Course of sessions…", menu), QAction("New session…", menu)
    disabled.setEnabled(False)
    menu.addAction(enabled)
    menu.addAction(disabled)
    menu.popup(box.mapToGlobal(box.rect().center()))
    qtbot.waitUntil(menu.isVisible)
    image = menu.grab().toImage()
    on_c = text_contrast(image, menu.actionGeometry(enabled))
    off_c = text_contrast(image, menu.actionGeometry(disabled))
    menu.hide()
    assert off_c >= MIN, off_c
    assert on_c - off_c >= 3, f"disabled menu item {off_c:.1f}:1 against enabled {on_c:.1f}:1"
