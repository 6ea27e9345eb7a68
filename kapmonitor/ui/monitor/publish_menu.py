"""Monitor ▸ Central station publishing…: the menu entry, light at start-up (the dialog, and with it
the MQTT client library, is loaded when the nurse first opens it), and the central station's link in
the status bar while this chair is published. GUI thread only."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QMainWindow, QMenu

from kapmonitor.ui import theme
from kapmonitor.ui.status_bar import bold_font, set_label

if TYPE_CHECKING:
    from kapmonitor.publish.hl7_out import Hl7Outbox
    from kapmonitor.publish.publisher import MqttPublisher
    from kapmonitor.publish.settings import PublishSettings
    from kapmonitor.ui.monitor.publish_dialog import PublishDialog


class PublishingHost(Protocol):
    """What the menu and the dialog need of the running bedside (kapmonitor.bedside.Bedside)."""

    @property
    def publisher(self) -> MqttPublisher | None: ...

    @property
    def hl7_outbox(self) -> Hl7Outbox | None: ...

    def publish_settings(self) -> PublishSettings | None: ...

    def configure_publishing(self, settings: PublishSettings | None) -> None: ...

    def close_reason(self) -> str | None: ...


class PublishMenu(QObject):
    """Opens the publishing dialog (non-modal: alarms stay answerable); one at a time."""

    def __init__(self, window: QMainWindow, host: PublishingHost, save_path: Path | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.host = host
        self.save_path = save_path  # None: publish.toml in the config folder
        self.dialog: PublishDialog | None = None
        self.action = QAction("Central station &publishing\u2026", window)
        self.action.setStatusTip("Publish this chair to the central station (MQTT) and send HL7 out")
        self.action.triggered.connect(self.open_dialog)
        # beside the monitor link (device, separator, link come first): does the central see this chair?
        self.indicator = QLabel("")
        self.indicator.setObjectName("centralLink")
        self.indicator.setFont(bold_font(theme.scaled_px(15)))
        self.indicator.hide()
        window.statusBar().insertPermanentWidget(3, self.indicator)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.refresh_indicator)
        self._timer.start(1000)

    def refresh_indicator(self) -> None:
        """"● Central: connected" (green) or "reconnecting" (orange) while published; hidden when not."""
        publisher = self.host.publisher
        if publisher is None:
            self.indicator.hide()
            return
        chair = f"{publisher.where.site}/{publisher.where.chair}"
        if publisher.connected:
            text, colour, tip = "connected", "#3dff6e", f"Central station: {chair} on {publisher.broker.display_url}"
        else:
            text, colour, tip = "reconnecting", "#ffb347", f"Central station ({chair}): {publisher.state}"
        set_label(self.indicator, f"\u25cf Central: {text}", f"color: {colour};")
        if self.indicator.toolTip() != tip:
            self.indicator.setToolTip(tip)
        self.indicator.show()

    def open_dialog(self) -> PublishDialog:
        from kapmonitor.publish.settings import load_publish_settings
        from kapmonitor.ui.monitor.publish_dialog import PublishDialog

        old = self.dialog
        if old is not None and old.isVisible():
            old.raise_()
            old.activateWindow()
            return old
        if old is not None and not old.testing:  # a test still running finishes into its own dialog
            old.deleteLater()
        running = self.host.publish_settings()
        saved, problem = load_publish_settings(self.save_path)
        notes = [problem] if problem else []
        if running is not None and running != saved:
            notes.append("Shown: the settings this run uses (given on the command line); "
                         "Apply also saves them for the next start.")
        elif running is None and saved is not None and saved.active and not problem:
            notes.append("Saved settings start with kapmonitor only for a real monitor in real time (not the "
                         "simulator, a replay or --speed); Apply publishes this run too.")
        dlg = PublishDialog(self.window, self.host, running or saved, note="\n".join(notes) or None,
                            save_path=self.save_path)
        dlg.setModal(False)
        if running is None and saved is not None and saved.active:
            dlg.show_problems(saved.problems(), "Saved but not in use")  # e.g. a CA file moved since
        self.dialog = dlg
        dlg.show()
        return dlg


def install_publish_action(window: QMainWindow, host: PublishingHost, menu: QMenu | None = None,
                           save_path: Path | None = None) -> PublishMenu:
    """Add "Central station publishing..." to `menu` (the window's Monitor menu) or to the window."""
    publishing = PublishMenu(window, host, save_path)
    if menu is not None:
        menu.addAction(publishing.action)
    else:
        window.addAction(publishing.action)
    return publishing
