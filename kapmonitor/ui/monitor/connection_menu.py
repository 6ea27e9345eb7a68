"""Monitor ▸ Monitor connection…: the menu item of the running application. The dialog
(ui/monitor/connection_dialog.py, with its drivers and port listing) is imported when first opened,
not at start-up. GUI thread only.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMainWindow, QMenu, QMessageBox

from kapmonitor.config import MonitorChoice, save_monitor_choice
from kapmonitor.drivers.errors import DriverError

if TYPE_CHECKING:
    from kapmonitor.ui.monitor.connection_dialog import ConnectionDialog

log = logging.getLogger(__name__)

ConnectionChoice = MonitorChoice  # driver, port, baud rate (saved in monitor.toml)


class MonitorSwitcher(Protocol):
    """What the Monitor connection menu needs of the running bedside (kapmonitor.bedside.Bedside)."""

    def current_monitor(self) -> ConnectionChoice: ...

    def can_switch_monitor(self) -> str | None: ...

    def switch_warning(self, choice: ConnectionChoice) -> str | None: ...

    def switch_monitor(self, choice: ConnectionChoice) -> str: ...


class ConnectionMenu(QObject):
    """Monitor ▸ Monitor connection…: choose, test, switch at once and remember the monitor.

    Nothing it shows is modal: alarms can be acknowledged while the dialog or a message is open.
    Leaving a patient's monitor mid-session is confirmed first (Enter keeps the monitor).
    `dialog`, `question` and `message` are the windows shown last. GUI thread only.
    """

    def __init__(self, window: QMainWindow, app: MonitorSwitcher) -> None:
        super().__init__(window)
        self.window = window
        self.app = app
        self.dialog: ConnectionDialog | None = None
        self.question: QMessageBox | None = None
        self.message: QMessageBox | None = None
        self.action = QAction("Monitor &connection\u2026", window)
        why_not = app.can_switch_monitor()
        if why_not:
            self.action.setEnabled(False)
            self.action.setToolTip(why_not)
        self.action.triggered.connect(self.open_dialog)

    def open_dialog(self) -> ConnectionDialog:
        current = self.app.current_monitor()
        from kapmonitor.ui.monitor.connection_dialog import ConnectionDialog

        dlg = ConnectionDialog(self.window, initial=current, busy_port=current.port)
        dlg.setModal(False)
        dlg.accepted.connect(lambda: self._chosen(dlg, current))
        self.dialog = dlg
        dlg.show()
        return dlg

    def _tell(self, icon: QMessageBox.Icon, text: str) -> None:
        box = QMessageBox(icon, "Monitor connection", text, QMessageBox.StandardButton.Ok, self.window)
        box.setModal(False)
        self.message = box
        box.show()

    def _chosen(self, dlg: ConnectionDialog, current: ConnectionChoice) -> None:
        from kapmonitor.ui.monitor.connection_dialog import _settings_of

        choice = dlg.selection()
        settings, _, error = _settings_of(choice.driver)
        if error or (settings is not None and not choice.port):
            self._tell(QMessageBox.Icon.Warning,
                       error or "Choose or type a serial port first; the monitor was not changed.")
            return
        if choice == current:
            try:
                save_monitor_choice(choice)
            except OSError as exc:
                log.warning("monitor choice not saved: %s", exc)
            return
        warning = self.app.switch_warning(choice)
        if warning:
            self._confirm(choice, warning)
        else:
            self.switch(choice)

    def switch(self, choice: ConnectionChoice) -> None:
        try:
            message = self.app.switch_monitor(choice)
        except (DriverError, ImportError, ValueError, OSError) as exc:
            self._tell(QMessageBox.Icon.Warning, f"The monitor was not changed: {exc}")
            return
        self.window.statusBar().showMessage(message, 8000)
        self._tell(QMessageBox.Icon.Information, message)

    def _confirm(self, choice: ConnectionChoice, warning: str) -> None:
        """Leaving a patient mid-session: asked first; Enter, Space and Escape keep the monitor."""
        box = QMessageBox(QMessageBox.Icon.Warning, "Change the monitor?", warning,
                          QMessageBox.StandardButton.NoButton, self.window)
        go = box.addButton("Switch anyway", QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton("Keep this monitor", QMessageBox.ButtonRole.RejectRole)
        go.setAutoDefault(False)
        box.setDefaultButton(keep)
        box.setEscapeButton(keep)
        box.setModal(False)
        box.finished.connect(lambda _r: self.switch(choice) if box.clickedButton() is go else None)
        self.question = box
        box.show()


def install_connection_action(window: QMainWindow, app: MonitorSwitcher, menu: QMenu | None = None) -> ConnectionMenu:
    """Add "Monitor connection..." to `menu` (the window's Monitor menu) or to the window."""
    connection = ConnectionMenu(window, app)
    if menu is not None:
        menu.addAction(connection.action)
    else:
        window.addAction(connection.action)
    return connection
