"""Monitor ▸ Central station publishing…: where this chair is published (MQTT broker, chair and site
names, what the central shows, TLS and log-in) and HL7 out, changed while monitoring goes on.

Each field is checked on Apply and a bad one says under itself what to change (nothing is applied
then). "Test connection" tries the broker on a worker thread and shows the answer. Apply starts,
changes or stops publishing at once (`Bedside.configure_publishing`) and saves the settings in
publish.toml (mode 0600; it holds the password). The link state (connected / reconnecting / off)
is shown and kept current. Enter applies nothing (no default button); Escape closes. Non-modal, so
alarms stay answerable; placed beside the vitals by ui/placement.py like every dialog.
GUI thread only, except the test's worker, which only emits `_TestSignals.finished`.
"""

from __future__ import annotations

import html
import logging
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kapmonitor.publish.broker import BrokerConfigError
from kapmonitor.publish.hl7_out import Hl7Outbox
from kapmonitor.publish.publisher import MqttPublisher
from kapmonitor.publish.settings import PublishSettings, normalise_hl7_target, save_publish_settings, try_broker
from kapmonitor.ui.monitor.publish_menu import PublishingHost
from kapmonitor.ui.theme import TEXT_DIM

log = logging.getLogger(__name__)

# on the dark panels (ui/theme.py), each >= 4.5:1: connected, reconnecting, wrong input, off
OK_COLOUR, WARN_COLOUR, ERROR_COLOUR, OFF_COLOUR = "#3dff6e", "#ffb347", "#ff7b7b", TEXT_DIM
SHOW_AS_TEXT = {"pseudonym": "The session's pseudonym", "chair": "Only the chair name"}


def link_state(publisher: MqttPublisher | None, outbox: Hl7Outbox | None) -> tuple[str, str, str, str]:
    """(headline, broker line, HL7 line, colour) for the dialog's state: connected / reconnecting / off."""
    colour = OFF_COLOUR
    if publisher is None:
        head, broker = "Central station: off", "This chair is not published."
    else:
        chair = f"{publisher.where.site}/{publisher.where.chair}"
        if publisher.connected:
            head, broker, colour = f"Central station: connected ({chair})", publisher.broker.display_url, OK_COLOUR
        else:
            head, broker, colour = f"Central station: reconnecting ({chair})", publisher.state, WARN_COLOUR
    if outbox is None:
        hl7 = "HL7 out: off"
    elif outbox.connected:
        hl7 = f"HL7 out: connected to {outbox.host}:{outbox.port}, {outbox.pending} waiting"
    else:
        why = f" ({outbox.last_error})" if outbox.last_error else ""
        hl7 = f"HL7 out: not connected to {outbox.host}:{outbox.port}{why}, {outbox.pending} waiting"
        if outbox.last_error:
            colour = WARN_COLOUR
    return head, broker, hl7, colour


class _TestSignals(QObject):
    finished = Signal(bool, str)  # emitted from the worker thread (queued to the GUI)


class PublishDialog(QDialog):
    """The publishing settings of this chair. `host` None: only edit (no Apply to a running bedside)."""

    def __init__(self, parent: QWidget | None, host: PublishingHost | None, initial: PublishSettings | None,
                 note: str | None = None, save_path: Path | None = None, test_seconds: float = 5.0) -> None:
        super().__init__(parent)
        self.setWindowTitle("Central station publishing")
        self.setMinimumWidth(520)
        self.host = host
        self.save_path = save_path
        self.test_seconds = test_seconds
        self._worker: threading.Thread | None = None
        self.question: QMessageBox | None = None  # "Stop publishing this chair?", shown last
        self._browse_buttons: list[QPushButton] = []
        self._signals = _TestSignals(self)
        self._signals.finished.connect(self._on_test_finished)
        s = initial or PublishSettings()

        self.state_label = QLabel()
        self.state_label.setWordWrap(True)
        self.state_label.setObjectName("linkState")
        self.state_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        # four lines kept for it (a reason may wrap): a longer state never squeezes the fields
        self.state_label.setFixedHeight(self.state_label.fontMetrics().lineSpacing() * 4 + 4)
        self.note_label = QLabel(note or "")
        self.note_label.setWordWrap(True)
        self.note_label.setVisible(bool(note))
        self.note_label.setStyleSheet(f"color: {WARN_COLOUR};")

        self.enabled_box = QCheckBox("Publish this chair to the central station")
        self.enabled_box.setChecked(s.enabled)
        self.url_edit = QLineEdit(s.broker_url)
        self.url_edit.setPlaceholderText("mqtt://HOST:1883 or mqtts://HOST:8883")
        self.chair_edit = QLineEdit(s.chair)
        self.chair_edit.setPlaceholderText("e.g. chair-3")
        self.chair_edit.setToolTip("Letters, digits, - _ . (up to 32): the chair's name on the central station")
        self.site_edit = QLineEdit(s.site)
        self.show_combo = QComboBox()
        for key, text in SHOW_AS_TEXT.items():
            self.show_combo.addItem(text, key)
        self.show_combo.setCurrentIndex(max(0, self.show_combo.findData(s.show_as)))
        self.show_combo.setToolTip("Only the chair name: no patient identifier leaves this computer")
        self.user_edit = QLineEdit(s.username)
        self.user_edit.setPlaceholderText("if the broker asks")
        self.password_edit = QLineEdit(s.password)
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.ca_edit = QLineEdit(str(s.ca_file or ""))
        self.cert_edit = QLineEdit(str(s.cert_file or ""))
        self.key_edit = QLineEdit(str(s.key_file or ""))
        for edit in (self.ca_edit, self.cert_edit, self.key_edit):
            edit.setPlaceholderText("for mqtts:// only")
        self.hl7_edit = QLineEdit(s.hl7_out.removeprefix("tcp:"))
        self.hl7_edit.setPlaceholderText("HOST:PORT of the interface engine; empty: off")

        # a bad field gets a red frame and its reason as tooltip; the reasons are listed above the buttons
        self.fields: dict[str, tuple[str, QWidget]] = {}
        self.shown_problems: dict[str, str] = {}
        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        # two short fields share a row (chair and site, user and password): the dialog fits beside the tiles
        rows: list[list[tuple[str, str, QWidget]]] = [
            [("url", "Broker address", self.url_edit)],
            [("chair", "Chair name", self.chair_edit), ("site", "Site", self.site_edit)],
            [("show_as", "Central shows", self.show_combo)],
            [("username", "User name", self.user_edit), ("password", "Password", self.password_edit)],
            [("ca", "CA file", self.ca_edit)],
            [("cert", "Client certificate", self.cert_edit)],
            [("key", "Client key", self.key_edit)],
            [("hl7", "HL7 out", self.hl7_edit)],
        ]
        browse = {"ca": "CA certificate", "cert": "Client certificate", "key": "Client key"}
        for (key, text, widget), *more in rows:
            self.fields[key] = (text, widget)
            field = widget if key not in browse else self._with_browse(widget, browse[key])
            if more:
                field = QWidget()
                line = QHBoxLayout(field)
                line.setContentsMargins(0, 0, 0, 0)
                line.addWidget(widget, 3)
                for key2, text2, widget2 in more:
                    self.fields[key2] = (text2, widget2)
                    label = QLabel(text2)
                    label.setBuddy(widget2)
                    line.addWidget(label)
                    line.addWidget(widget2, 2)
            form.addRow(text, field)

        self.test_button = QPushButton("Test connection")
        self.test_button.clicked.connect(self.start_test)
        self.apply_button = QPushButton("Apply")
        self.apply_button.clicked.connect(self.apply)
        self.apply_button.setEnabled(host is not None)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.reject)
        for button in (self.test_button, self.apply_button, self.close_button):
            button.setAutoDefault(False)  # Enter applies nothing: no default button at all
            button.setDefault(False)
        self.result_label = QLabel("")
        self.result_label.setWordWrap(True)
        self.result_label.setObjectName("result")
        self.result_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        # room for the answers from the start: the dialog never grows over what it was placed beside
        self.result_label.setFixedHeight(self.result_label.fontMetrics().lineSpacing() * 3 + 4)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        buttons = QHBoxLayout()
        buttons.addWidget(self.test_button)
        buttons.addStretch(1)
        buttons.addWidget(self.apply_button)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.state_label)
        layout.addWidget(self.note_label)
        layout.addWidget(self.enabled_box)
        layout.addLayout(form)
        layout.addWidget(self.result_label)
        layout.addLayout(buttons)

        self.enabled_box.toggled.connect(self._enable_fields)
        self._enable_fields()
        self._timer = QTimer(self)  # the link state, kept current while the dialog is open
        self._timer.timeout.connect(self.refresh_state)
        self._timer.start(1000)
        self.refresh_state()

    def _with_browse(self, edit: QWidget, title: str) -> QWidget:
        row = QWidget()
        box = QHBoxLayout(row)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(edit, 1)
        browse = QPushButton("Browse\u2026")
        browse.setAutoDefault(False)
        self._browse_buttons.append(browse)
        assert isinstance(edit, QLineEdit)
        browse.clicked.connect(lambda: self._browse(edit, title))
        box.addWidget(browse)
        return row

    def _browse(self, edit: QLineEdit, title: str) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, title, edit.text() or str(Path.home()),
            "Certificates and keys (*.crt *.pem *.key *.cer);;All files (*)",
            options=QFileDialog.Option.DontUseNativeDialog)  # placed clear of the alarms like every window
        if path:
            edit.setText(path)

    def _enable_fields(self) -> None:
        on = self.enabled_box.isChecked()
        for w in (self.url_edit, self.site_edit, self.show_combo, self.user_edit, self.password_edit,
                  self.ca_edit, self.cert_edit, self.key_edit, *self._browse_buttons):
            w.setEnabled(on)
        self.test_button.setEnabled(on and not self.testing)

    # -- the settings ----------------------------------------------------------------------------
    def settings(self) -> PublishSettings:
        """What the fields say now (not checked)."""

        def path(edit: QLineEdit) -> Path | None:
            text = edit.text().strip()
            return Path(text).expanduser() if text else None

        return PublishSettings(
            enabled=self.enabled_box.isChecked(), broker_url=self.url_edit.text().strip(),
            chair=self.chair_edit.text().strip(), site=self.site_edit.text().strip() or "clinic",
            show_as=str(self.show_combo.currentData()), username=self.user_edit.text().strip(),
            password=self.password_edit.text(), ca_file=path(self.ca_edit), cert_file=path(self.cert_edit),
            key_file=path(self.key_edit), hl7_out=normalise_hl7_target(self.hl7_edit.text()),
        )

    def show_problems(self, problems: dict[str, str], verb: str = "Not applied") -> bool:
        """Frame each bad field in red (its reason as tooltip), say the first reason in full and name
        the other fields, and put the cursor in the first bad one. True when there was a problem."""
        self.shown_problems = dict(problems)
        first: tuple[str, str, QWidget] | None = None
        for key, (label, widget) in self.fields.items():
            why = problems.get(key, "")
            # the frame's width as the theme's (1px): the dialog keeps its size, placed clear of the alarms
            widget.setStyleSheet(f"border: 1px solid {ERROR_COLOUR}; background: #3a1212;" if why else "")
            widget.setToolTip(why)
            if why and first is None:
                first = (label, why, widget)
        if first is None:
            return False
        label, why, widget = first
        if why.lower().startswith(label.lower()):  # "Broker address: broker address must ..." reads badly
            why = why[len(label):].lstrip(" :")
        others = [self.fields[k][0] for k in self.fields if k in problems and self.fields[k][0] != label]
        also = f" Also check: {', '.join(others)} (framed in red)." if others else ""
        self._result(ERROR_COLOUR, f"{verb}. {label}: {why}{also}")
        widget.setFocus()
        return True

    def check(self) -> PublishSettings | None:
        """The settings when every field is usable, else None with the problems shown."""
        settings = self.settings()
        if self.show_problems(settings.problems()):
            return None
        return settings

    def _result(self, colour: str, text: str) -> None:
        self.result_label.setStyleSheet(f"color: {colour};")
        self.result_label.setText(text)
        self.result_label.setToolTip(text)  # whole on hover should a long reason not fit its lines

    # -- apply -----------------------------------------------------------------------------------
    def apply(self) -> bool:
        """Check, publish with these settings from now on, and save them for the next start. Stopping
        while a session is open is asked first (the central raises an alarm for it): False until then."""
        settings = self.check()
        if settings is None or self.host is None:
            return False
        reason = self.host.close_reason() if self.host.publisher is not None and not settings.enabled else None
        if reason:
            self._confirm_stop(settings, reason)
            return False
        return self._apply(settings)

    def _confirm_stop(self, settings: PublishSettings, reason: str) -> None:
        """Enter, Space and Escape keep publishing; only the explicit button stops it."""
        box = QMessageBox(QMessageBox.Icon.Warning, "Stop publishing this chair?",
                          f"{reason}\n\nThe central station will show this chair as stopped and raise an alarm "
                          "there. Monitoring, alarms and recording here go on.",
                          QMessageBox.StandardButton.NoButton, self)
        stop = box.addButton("Stop publishing", QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton("Keep publishing", QMessageBox.ButtonRole.RejectRole)
        stop.setAutoDefault(False)
        box.setDefaultButton(keep)
        box.setEscapeButton(keep)
        box.setModal(False)
        box.finished.connect(lambda _r: self._apply(settings) if box.clickedButton() is stop else
                             self._result(OFF_COLOUR, "Still publishing: nothing changed."))
        self.question = box
        box.show()

    def _apply(self, settings: PublishSettings) -> bool:
        assert self.host is not None
        try:
            self.host.configure_publishing(settings if settings.active else None)
        except (BrokerConfigError, ValueError, OSError) as exc:
            self._result(ERROR_COLOUR, f"Not applied: {exc}")
            return False
        try:
            save_publish_settings(settings, self.save_path)
            saved = " Saved for the next start."
        except OSError as exc:
            saved = f" Applies until kapmonitor closes: the settings could not be saved ({exc.strerror or exc})."
        if settings.enabled:
            what = f"Publishing as {settings.site}/{settings.chair} to {settings.broker_config().display_url}."
        else:
            what = "This chair is no longer published to the central station."
        if settings.hl7_out:
            what += f" HL7 out to {settings.hl7_out.removeprefix('tcp:')}."
        self._result(OK_COLOUR, what + saved)
        self.note_label.hide()  # it spoke of the settings before this Apply
        log.info("publishing settings applied from the window")
        QTimer.singleShot(300, self.refresh_state)
        return True

    def refresh_state(self) -> None:
        host = self.host
        head, broker, hl7, colour = link_state(None if host is None else host.publisher,
                                               None if host is None else host.hl7_outbox)
        self.state_label.setText(f"<b>\u25cf {html.escape(head)}</b><br>{html.escape(broker)}<br>{html.escape(hl7)}")
        self.state_label.setStyleSheet(f"color: {colour};")

    # -- test connection -------------------------------------------------------------------------
    @property
    def testing(self) -> bool:
        return self._worker is not None and self._worker.is_alive()

    def start_test(self) -> None:
        """Try the broker with what the fields say, on a worker thread."""
        if self.testing:
            return
        settings = self.settings()
        problems = {k: v for k, v in settings.problems().items() if k not in ("chair", "site", "hl7")}
        if self.show_problems(problems, "Not tested"):
            return
        try:
            config = settings.broker_config()
        except BrokerConfigError as exc:
            self._result(ERROR_COLOUR, f"Not tested: {exc}")
            return
        self.test_button.setEnabled(False)
        self._result(OFF_COLOUR, f"Testing {config.display_url} \u2026")
        signals, seconds = self._signals, self.test_seconds

        def work() -> None:
            ok, text = try_broker(config, seconds)
            signals.finished.emit(ok, text)

        self._worker = threading.Thread(target=work, name="broker-test", daemon=True)
        self._worker.start()

    @Slot(bool, str)
    def _on_test_finished(self, ok: bool, text: str) -> None:
        self._result(OK_COLOUR if ok else ERROR_COLOUR, text)
        self.test_button.setEnabled(self.enabled_box.isChecked())
        log.info("broker test: %s", text)

    def done(self, r: int) -> None:
        self._timer.stop()
        super().done(r)
