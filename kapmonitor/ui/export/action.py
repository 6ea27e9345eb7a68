"""File ▸ Export session… (Ctrl+E): the menu item, with the dialog and the export code imported when
it is first used, not at start-up (they are not needed for the nurse's first screen). GUI thread only.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu, QWidget


def _open(parent: QWidget, db_path: Path | None) -> None:
    from kapmonitor.ui.export.dialog import open_export_dialog

    open_export_dialog(parent, db_path)


def install_export_action(window: QMainWindow, session_path_fn: Callable[[], Path | None]) -> QAction:
    """Add File > Export session… (Ctrl+E) to `window` (which has a `file_menu`), before Quit.

    `session_path_fn` gives the current session database (exported from a snapshot while it is
    still being recorded); the dialog lets the user pick another one.
    """
    action = QAction("&Export session…", window)
    action.setShortcut(QKeySequence("Ctrl+E"))
    menu: QMenu = window.file_menu  # type: ignore[attr-defined]
    first = menu.actions()[0] if menu.actions() else None
    if first is not None:
        menu.insertAction(first, action)
        menu.insertSeparator(first)
    else:
        menu.addAction(action)
    action.triggered.connect(lambda: _open(window, session_path_fn()))
    return action
