"""Colours, fonts and the stylesheet of the dark, monitor-style theme.

Parameter colours follow bedside-monitor custom (HR green, SpO2 cyan-blue, NIBP white);
alarm colours follow IEC 60601-1-8 (high red, medium yellow, low pale yellow); technical alarms are cyan.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from kapmonitor.model.parameters import Parameter

if TYPE_CHECKING:
    from PySide6.QtGui import QPalette

BACKGROUND = "#000000"
PANEL = "#101418"
PANEL_BORDER = "#2a3138"
TEXT = "#f2f2f2"
TEXT_DIM = "#9aa4ad"
# disabled: dimmer than TEXT and drawn on a darker, dashed-bordered field, still >= 4.5:1 on every panel
TEXT_DISABLED = "#8a939c"
FIELD = "#0b0f13"  # inputs, lists and drop-down lists
SELECTION = "#2f5f8a"  # the chosen row of a list or drop-down, white text on it (6.9:1)
GRID = "#2b3036"
DEFAULT_MARK = "#6cb6ff"  # the frame of a dialog's default button (what Enter presses)

PARAMETER_COLOURS: dict[Parameter, str] = {
    Parameter.HR: "#3dff6e",
    Parameter.PULSE_RATE: "#3dff6e",
    Parameter.SPO2: "#38c8ff",
    Parameter.NIBP_SYS: "#ffffff",
    Parameter.NIBP_DIA: "#ffffff",
    Parameter.NIBP_MEAN: "#ffb347",
    Parameter.NIBP_PULSE: "#ffffff",
    Parameter.PLETH: "#38c8ff",
    Parameter.RESP_RATE: "#d0a8ff",  # lavender and pink: apart from the alarm yellow/red and the other tiles
    Parameter.ETCO2: "#ffb0d8",
}

ALARM_HIGH = "#ff2020"
ALARM_MEDIUM = "#ffd400"
ALARM_LOW = "#fff176"  # pale yellow, steady: cyan is for technical alarms (INOPs)
ALARM_INOP = "#00e5ff"
SIMULATED = "#ff8c00"
INFUSION_SHADE = (255, 140, 0, 38)

FONT_FAMILY = "DejaVu Sans"

# Fonts are designed for a 1280x800 window and grow with a larger one (a maximised window on a 4K
# screen shows the alarm bar, the session panel and the tiles as large as the window around them);
# never smaller than designed. The nurse's window rescales its fonts when its size changes.
REFERENCE_SCREEN = (1280, 800)
MAX_FONT_SCALE = 4.0
ALARM_TEXT_PX = 28  # alarm rows at 1280x800: legible from two metres
_BASE_PX = "kapmonitorBasePx"  # a widget's designed pixel size, kept while its font is rescaled
_SCALE = "kapmonitorFontScale"
_BASE_SHEET = "kapmonitorBaseSheet"  # a widget's own style sheet with its designed font-size values
_SET_SHEET = "kapmonitorScaledSheet"
_FONT_SIZE = re.compile(r"font-size:\s*(\d+(?:\.\d+)?)px")


def _rescale_sheet(w: Any, scale: float) -> bool:
    """Scale the `font-size: Npx` values of a widget's own style sheet (labels styled by name)."""
    sheet = w.styleSheet()
    if "font-size" not in sheet:
        return False
    if sheet != w.property(_SET_SHEET):  # new, or its code set another sheet since
        w.setProperty(_BASE_SHEET, sheet)
    base = str(w.property(_BASE_SHEET))
    scaled = _FONT_SIZE.sub(lambda m: f"font-size: {scaled_px(float(m.group(1)), scale)}px", base)
    w.setProperty(_SET_SHEET, scaled)
    if scaled == sheet:
        return False
    w.setStyleSheet(scaled)
    return True


def scale_for(width: float, height: float) -> float:
    """Font scale for a window (or screen) of `width` x `height` logical pixels: 1.0 at 1280x800
    and below, 2.7 for 3840x2160."""
    if width <= 0 or height <= 0:
        return 1.0
    scale = min(width / REFERENCE_SCREEN[0], height / REFERENCE_SCREEN[1])
    return max(1.0, min(MAX_FONT_SCALE, scale))


def scaled_px(px: float, scale: float = 1.0) -> int:
    """`px` (designed for 1280x800) at `scale`, in whole pixels."""
    return max(1, round(px * scale))


def rescale_fonts(root: object, scale: float) -> int:
    """Give every pixel-sized font under `root` (a window) its designed size times `scale`.

    Widgets with an `apply_scale(scale)` method (the alarm bar: its row heights follow its font)
    rescale themselves and their children; a label its parent fits to its own size (a tile's
    value) is left alone; widgets that inherit their font follow `root`'s, which is scaled from the
    application font. Idempotent and cheap when nothing changed, so it may run on every resize and
    once a second (new widgets are caught then). Returns how many fonts changed. GUI thread only.
    """
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QFont
    from PySide6.QtWidgets import QApplication, QWidget

    assert isinstance(root, QWidget)
    changed = 0
    if root.property(_SCALE) != scale:
        font = QFont(root.font())
        font.setPointSizeF(QApplication.font().pointSizeF() * scale)
        root.setFont(font)
        root.setProperty(_SCALE, scale)
        changed += 1
    skip: set[int] = set()
    for w in root.findChildren(QWidget):
        if id(w) in skip:
            continue
        apply = getattr(w, "apply_scale", None)
        if callable(apply):
            if w.property(_SCALE) != scale:
                apply(scale)
                w.setProperty(_SCALE, scale)
                changed += 1
            skip.update(id(c) for c in w.findChildren(QWidget))
            continue
        if w.isWindow():
            continue  # a dialog keeps its own size
        if _rescale_sheet(w, scale):
            changed += 1
        if not w.testAttribute(Qt.WidgetAttribute.WA_SetFont):
            continue  # an inheriting widget follows its parent
        parent = w.parentWidget()
        if parent is not None and getattr(parent, "value_label", None) is w:
            continue  # fitted to its tile by the tile itself
        font = w.font()
        base = w.property(_BASE_PX)
        if base is not None and font.pixelSize() == scaled_px(float(base), float(w.property(_SCALE))):
            if w.property(_SCALE) == scale:
                continue  # done before
        elif font.pixelSize() > 0:
            base = font.pixelSize()  # new, or its own code set another designed size since
            w.setProperty(_BASE_PX, base)
        else:
            continue  # a point-sized font derived from the window's: already scaled
        px = scaled_px(float(base), scale)
        if font.pixelSize() != px:
            font.setPixelSize(px)
            w.setFont(font)
            changed += 1
        w.setProperty(_SCALE, scale)
    return changed


STYLESHEET = f"""
QMainWindow, QWidget#central {{ background: {BACKGROUND}; }}
QWidget {{ color: {TEXT}; }}
QStatusBar {{ background: {PANEL}; color: {TEXT}; border-top: 1px solid {PANEL_BORDER}; }}
QStatusBar QLabel {{ padding: 0 10px; }}
QMenuBar {{ background: {PANEL}; color: {TEXT}; }}
QMenuBar::item:selected {{ background: #26303a; }}
QMenu {{ background: {PANEL}; color: {TEXT}; border: 1px solid {PANEL_BORDER}; }}
QMenu::item:selected {{ background: #26303a; }}
QMenu::item:disabled, QMenuBar::item:disabled {{ color: {TEXT_DISABLED}; }}
QMenu::separator {{ height: 1px; background: {PANEL_BORDER}; margin: 4px 8px; }}
QPushButton {{ background: #1d252d; color: {TEXT}; border: 1px solid #3a4550; border-radius: 6px;
              padding: 6px 14px; }}
QPushButton:hover {{ background: #26313b; }}
QPushButton:pressed {{ background: #2f3c48; }}
QPushButton:default {{ border: 2px solid {DEFAULT_MARK}; padding: 5px 13px; }}
QPushButton:disabled {{ color: {TEXT_DISABLED}; background: #12171c; border: 1px dashed #3a4550; }}
QLineEdit, QSpinBox, QDoubleSpinBox, QComboBox, QPlainTextEdit, QTextEdit {{
    background: {FIELD}; color: {TEXT}; border: 1px solid #3a4550; border-radius: 4px; padding: 4px; }}
QLineEdit:disabled, QSpinBox:disabled, QDoubleSpinBox:disabled, QComboBox:disabled, QPlainTextEdit:disabled,
QTextEdit:disabled {{ color: {TEXT_DISABLED}; border-style: dashed; }}
QLabel:disabled, QCheckBox:disabled, QRadioButton:disabled, QGroupBox:disabled {{ color: {TEXT_DISABLED}; }}
QComboBox QAbstractItemView {{ background: {FIELD}; color: {TEXT}; border: 1px solid #7a8794;
    selection-background-color: {SELECTION}; selection-color: #ffffff; outline: 0; }}
QTabWidget::pane {{ background: {PANEL}; border: 1px solid {PANEL_BORDER}; top: -1px; }}
QTabBar::tab {{ background: #1d252d; color: {TEXT}; border: 1px solid #3a4550; border-bottom: 0;
    border-top-left-radius: 6px; border-top-right-radius: 6px; padding: 6px 14px; margin-right: 2px; }}
QTabBar::tab:selected {{ background: {SELECTION}; color: #ffffff; }}
QTabBar::tab:disabled {{ color: {TEXT_DISABLED}; }}
QGroupBox {{ color: {TEXT}; }}
QToolTip {{ background: #f2f2f2; color: #000000; border: 1px solid #3a4550; padding: 4px; }}
QTableView, QTableWidget, QListWidget, QTreeView {{ background: #0b0f13; color: {TEXT}; gridline-color: #222a31;
    alternate-background-color: #151b21; selection-background-color: #2f3c48; }}
QCheckBox::indicator, QTreeView::indicator, QTableView::indicator {{ width: 16px; height: 16px;
    border: 1px solid #7a8794; border-radius: 3px; background: #0b0f13; }}
QCheckBox::indicator:checked, QTreeView::indicator:checked, QTableView::indicator:checked {{
    background: #d77a00; border-color: #ffb347; }}
QHeaderView::section {{ background: {PANEL}; color: {TEXT_DIM}; border: 0; padding: 4px; }}
QDialog {{ background: {PANEL}; }}
QLabel#error {{ color: #ff6b6b; }}
QScrollBar:vertical {{ background: #0b0f13; width: 14px; margin: 0; }}
QScrollBar:horizontal {{ background: #0b0f13; height: 14px; margin: 0; }}
QScrollBar::handle:vertical, QScrollBar::handle:horizontal {{ background: #3a4550; border-radius: 6px;
    min-height: 28px; min-width: 28px; }}
QScrollBar::add-line, QScrollBar::sub-line {{ width: 0; height: 0; }}
QScrollBar::add-page, QScrollBar::sub-page {{ background: none; }}
QProgressBar {{ background: #0b0f13; border: 1px solid #3a4550; border-radius: 4px; text-align: center;
               color: {TEXT}; }}
QProgressBar::chunk {{ background: #d77a00; }}
"""


def apply_application_font(app: object) -> None:
    """The default font and the dark theme for every window (main, therapist, dialogs).

    The font is set on the application, not in the stylesheet, so widgets can enlarge it; in points
    (about 15 px at 96 dpi), so code that scales `pointSizeF()` works.
    """
    from PySide6.QtGui import QFont
    from PySide6.QtWidgets import QApplication

    assert isinstance(app, QApplication)
    font = QFont(FONT_FAMILY)
    font.setPointSizeF(11.5)
    app.setFont(font)
    app.setPalette(dark_palette())
    app.setStyleSheet(STYLESHEET)


def dark_palette() -> QPalette:
    """The theme as a palette: whatever the stylesheet does not style (a tab page, a drop-down list,
    a plain widget's background) is dark with light text, never light text on the default light grey.
    Disabled text is dimmer but keeps >= 4.5:1."""
    from PySide6.QtGui import QColor, QPalette

    palette = QPalette()
    role = QPalette.ColorRole
    for r, colour in (
        (role.Window, PANEL), (role.WindowText, TEXT), (role.Base, FIELD), (role.AlternateBase, "#151b21"),
        (role.Text, TEXT), (role.Button, "#1d252d"), (role.ButtonText, TEXT), (role.BrightText, "#ffffff"),
        (role.Highlight, SELECTION), (role.HighlightedText, "#ffffff"), (role.ToolTipBase, "#f2f2f2"),
        (role.ToolTipText, "#000000"), (role.PlaceholderText, TEXT_DIM), (role.Link, "#6cb6ff"),
        (role.Light, "#3a4550"), (role.Midlight, "#2a3138"), (role.Mid, "#222a31"), (role.Dark, "#0b0f13"),
        (role.Shadow, "#000000"),
    ):
        palette.setColor(r, QColor(colour))
    disabled = QPalette.ColorGroup.Disabled
    for r in (role.WindowText, role.Text, role.ButtonText, role.PlaceholderText):
        palette.setColor(disabled, r, QColor(TEXT_DISABLED))
    palette.setColor(disabled, role.Base, QColor("#12171c"))
    palette.setColor(disabled, role.Button, QColor("#12171c"))
    return palette
