"""The therapist's music window: now playing, phases against the infusion clock, big transport keys.

It can live on a second screen (`place_on_second_screen()`), separate from the nurse's monitor.

Safety by construction: this window receives only a `MusicController` and a read-only callable
for the infusion window. It has no reference to the alarm engine, the alarm sounds or the
monitoring pipeline, so nothing here can silence, pause, acknowledge or redirect a clinical
alarm; music plays on its own output stream and device. (tests/test_music_ui.py checks that the
window exposes no alarm control.)

GUI thread only. Controller notifications arrive through `MusicBridge` (queued signal); a 4 Hz
timer refreshes times and the timeline.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent, QFont, QGuiApplication, QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMainWindow,
    QPushButton,
    QScrollArea,
    QSlider,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from kapmonitor.audio.controller import MAX_CROSSFADE, MIN_CROSSFADE, MusicController, MusicStatus, State
from kapmonitor.audio.player import output_devices
from kapmonitor.audio.take_home import format_duration
from kapmonitor.ui.music.bridge import MusicBridge
from kapmonitor.ui.music.phase_timeline import PhaseSpan, PhaseTimelineWidget
from kapmonitor.ui.music.playlist_editor import PlaylistEditor
from kapmonitor.ui.reflow import ReflowGrid

log = logging.getLogger(__name__)

InfusionWindowFn = Callable[[], "tuple[float, float] | None"]

SHORTCUTS: dict[str, tuple[str, ...]] = {
    "play_pause": ("Space", "Media Play"),
    "next": ("Ctrl+Right", "Media Next"),
    "previous": ("Ctrl+Left", "Media Previous"),
    "advance_phase": ("Ctrl+Shift+Right",),
    "stop": ("Ctrl+.", "Media Stop"),
    "duck": ("D",),
    "hold_phase": ("H",),
    "volume_up": ("Ctrl+Up",),
    "volume_down": ("Ctrl+Down",),
}


TOGGLE_STYLE = ("QPushButton:checked { background: #d77a00; color: #000000; border: 2px solid #ffb347; "
                "font-weight: bold; }")


class TherapistWindow(QMainWindow):
    """See module docstring. `infusion_window_fn()` returns (infusion start, planned end) or None."""

    def __init__(self, controller: MusicController, infusion_window_fn: InfusionWindowFn | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("kapmonitor – session music")
        self.controller = controller
        self._infusion_window_fn = infusion_window_fn
        self.bridge = MusicBridge(controller, self)
        self.bridge.changed.connect(self._on_changed)

        # the content scrolls vertically when the window is short (beside the nurse's vitals at
        # 1280x800): now playing, transport, volume and Duck first, the playlist below
        central = QWidget(self)
        self.scroll_area = QScrollArea(self)
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll_area.setWidget(central)
        self.setCentralWidget(self.scroll_area)
        outer = QVBoxLayout(central)

        # now playing
        self.title_label = QLabel("—", self)
        big = QFont(self.title_label.font())
        big.setPointSizeF(big.pointSizeF() * 1.8)
        big.setBold(True)
        self.title_label.setFont(big)
        self.title_label.setWordWrap(True)
        self.artist_label = QLabel("", self)
        self.phase_label = QLabel("", self)
        self.times_label = QLabel("", self)
        self.next_label = QLabel("", self)
        mid = QFont(self.times_label.font())
        mid.setPointSizeF(mid.pointSizeF() * 1.3)
        for label in (self.phase_label, self.times_label):
            label.setFont(mid)
        now_box = QGroupBox("Now playing", self)
        now_layout = QVBoxLayout(now_box)
        for w in (self.title_label, self.artist_label, self.phase_label, self.times_label, self.next_label):
            now_layout.addWidget(w)
        outer.addWidget(now_box)

        self.timeline = PhaseTimelineWidget(self)
        outer.addWidget(self.timeline)

        # transport: one row when wide, wrapped to more rows in a narrow window (beside the vitals)
        transport = ReflowGrid(self)
        self.transport = transport
        self.buttons: dict[str, QPushButton] = {}
        transport_keys: tuple[tuple[str, str, Callable[[], None]], ...] = (
            ("previous", "◀◀ Previous", controller.previous),
            ("play_pause", "▶ Play", controller.toggle_play_pause),
            ("stop", "■ Stop (fade)", controller.stop),
            ("next", "Next ▶▶", controller.next),
            ("advance_phase", "Next phase ▶|", controller.advance_phase),
        )
        for key, text, slot in transport_keys:
            button = QPushButton(text, self)
            button.setMinimumHeight(56)
            f = QFont(button.font())
            f.setPointSizeF(f.pointSizeF() * 1.25)
            button.setFont(f)
            button.setStyleSheet("QPushButton { padding: 6px 6px; }")  # three keys a row beside the vitals
            button.clicked.connect(slot)
            transport.add(button)
            self.buttons[key] = button
        outer.addWidget(transport)

        # volume, duck, hold, crossfade
        levels = QGridLayout()
        self.volume_slider = QSlider(Qt.Orientation.Horizontal, self)
        self.volume_slider.setRange(int(controller.settings.min_volume_db), 0)
        self.volume_slider.setValue(round(controller.volume_db))
        self.volume_slider.valueChanged.connect(self._on_volume_moved)
        self.volume_slider.sliderReleased.connect(self._on_volume_released)
        self.volume_label = QLabel("", self)
        self.duck_button = QPushButton("Duck (talk)", self)
        self.duck_button.setCheckable(True)
        self.duck_button.setMinimumHeight(56)
        self.duck_button.toggled.connect(lambda on: controller.duck(on))
        self.buttons["duck"] = self.duck_button
        self.hold_button = QPushButton("Hold phase", self)
        self.hold_button.setCheckable(True)
        self.hold_button.setMinimumHeight(56)
        self.hold_button.toggled.connect(controller.set_hold_phase)
        self.buttons["hold_phase"] = self.hold_button
        for toggle in (self.duck_button, self.hold_button):  # on must look on, from across the room
            toggle.setStyleSheet(TOGGLE_STYLE)
        self.crossfade_spin = QDoubleSpinBox(self)
        self.crossfade_spin.setRange(MIN_CROSSFADE, MAX_CROSSFADE)
        self.crossfade_spin.setSuffix(" s crossfade")
        self.crossfade_spin.setValue(controller.settings.crossfade)
        self.crossfade_spin.valueChanged.connect(controller.set_crossfade)
        levels.addWidget(QLabel("Volume", self), 0, 0)
        levels.addWidget(self.volume_slider, 0, 1)
        levels.addWidget(self.volume_label, 0, 2)
        levels.setColumnStretch(1, 1)
        self.toggles = ReflowGrid(self)
        for control in (self.duck_button, self.hold_button, self.crossfade_spin):
            self.toggles.add(control)
        # room for the longest text, so the slider keeps its width when Duck adds "(ducked …)"
        widest = f"{controller.settings.min_volume_db:.0f} dB (max {controller.settings.min_volume_db:.0f})"
        depth = controller.settings.duck_depth_db
        self._duck_note = f"  (ducked {'−' if depth < 0 else ''}{abs(depth):.0f} dB)"
        metrics = self.volume_label.fontMetrics()
        self.volume_label.setMinimumWidth(metrics.horizontalAdvance(widest + self._duck_note) + 8)
        outer.addLayout(levels)
        outer.addWidget(self.toggles)

        device_row = QHBoxLayout()
        self.device_label = QLabel("", self)
        self.device_label.setWordWrap(True)  # its own line: "NOT AVAILABLE (…)" never cut in a narrow window
        self.device_combo = QComboBox(self)
        self.device_combo.setToolTip("Where the music plays (the patient's headphones). Alarms never play here.")
        self.device_refresh = QPushButton("Rescan outputs", self)
        self.device_refresh.clicked.connect(self.reload_devices)
        device_row.addWidget(QLabel("Music output:", self))
        device_row.addWidget(self.device_combo, 1)
        device_row.addWidget(self.device_refresh)
        outer.addWidget(self.device_label)
        outer.addLayout(device_row)
        self.reload_devices()
        self.device_combo.currentIndexChanged.connect(self._on_device_chosen)

        splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.editor = PlaylistEditor(controller.playlist, self)
        self.editor.jump_requested.connect(controller.jump)
        self.editor.changed.connect(controller.playlist_changed)
        self.editor.message.connect(self.show_message)
        self.messages = QListWidget(self)
        self.messages.setMaximumHeight(110)
        self.editor.tree.setMinimumHeight(160)  # a usable playlist, scrolled to when the window is short
        splitter.addWidget(self.editor)
        splitter.addWidget(self.messages)
        outer.addWidget(splitter, 1)

        self.shortcuts: dict[str, list[QShortcut]] = {}
        actions: dict[str, Callable[[], None]] = {
            "play_pause": controller.toggle_play_pause,
            "next": controller.next,
            "previous": controller.previous,
            "advance_phase": controller.advance_phase,
            "stop": controller.stop,
            "duck": self.duck_button.toggle,
            "hold_phase": self.hold_button.toggle,
            "volume_up": lambda: self.step_volume(2.0),
            "volume_down": lambda: self.step_volume(-2.0),
        }
        for key, sequences in SHORTCUTS.items():
            for seq in sequences:
                shortcut = QShortcut(QKeySequence(seq), self)
                shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
                shortcut.activated.connect(actions[key])
                self.shortcuts.setdefault(key, []).append(shortcut)

        self._timer = QTimer(self)
        self._timer.setInterval(250)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        # narrow enough to open beside the nurse's vitals on a 1280x800 screen (ui/placement.py)
        self.resize(560, 760)
        # never narrower than the content: it scrolls down, never sideways (nothing cut at the right)
        bar = self.scroll_area.verticalScrollBar().sizeHint().width()
        self.setMinimumWidth(central.minimumSizeHint().width() + bar + 2)
        self.refresh()

    # -- actions ------------------------------------------------------------------------------
    def step_volume(self, db: float) -> None:
        self.controller.set_volume(self.controller.volume_db + db)

    def _on_volume_moved(self, value: int) -> None:
        if abs(value - self.controller.volume_db) >= 0.5:
            self.controller.set_volume(float(value), record=not self.volume_slider.isSliderDown())

    def _on_volume_released(self) -> None:
        self.controller.set_volume(float(self.volume_slider.value()), record=True)

    def reload_devices(self) -> None:
        """List the output devices PortAudio knows, keeping the current choice selected."""
        current = getattr(self.controller.player, "device", None)
        self.device_combo.blockSignals(True)
        self.device_combo.clear()
        self.device_combo.addItem("System default", None)
        for name in output_devices():
            self.device_combo.addItem(name, name)
        if current is not None:
            index = self.device_combo.findData(current)
            if index < 0:
                self.device_combo.addItem(f"{current} (not found)", current)
                index = self.device_combo.count() - 1
            self.device_combo.setCurrentIndex(index)
        self.device_combo.blockSignals(False)

    def _on_device_chosen(self, index: int) -> None:
        self.controller.set_output_device(self.device_combo.itemData(index))

    def show_message(self, text: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        self.messages.insertItem(0, f"{stamp}  {text}")
        while self.messages.count() > 100:
            self.messages.takeItem(self.messages.count() - 1)

    def place_on_second_screen(self) -> bool:
        """Move to a screen other than the primary one, if there is one. True when moved."""
        primary = QGuiApplication.primaryScreen()
        for screen in QGuiApplication.screens():
            if screen is not primary:
                self.setGeometry(screen.availableGeometry().adjusted(40, 40, -40, -40))
                return True
        return False

    # -- updates ------------------------------------------------------------------------------
    def _on_changed(self, kind: str, message: str) -> None:
        if kind == "message" and message:
            self.show_message(message)
        if kind == "playlist":
            self.editor.refresh_if_changed()
        self.refresh()

    def _infusion(self) -> tuple[float, float] | None:
        if self._infusion_window_fn is None:
            return None
        try:
            return self._infusion_window_fn()
        except Exception:  # the music view must not die with the infusion model
            log.exception("infusion window callable failed")
            return None

    def refresh(self) -> None:
        status = self.controller.status()
        self._show_status(status)
        self.editor.refresh_if_changed()
        now = time.time()
        spans = [PhaseSpan(n, a, b, c) for n, a, b, c in self.controller.phase_plan(now)]
        self.timeline.set_data(spans, self._infusion(), now)

    def _show_status(self, s: MusicStatus) -> None:
        track = s.track
        self.title_label.setText(track.title if track else "—")
        self.artist_label.setText(track.artist if track else "")
        state = {State.PLAYING: "playing", State.PAUSED: "paused", State.STOPPED: "stopped",
                 State.STOPPING: "fading out…"}[s.state]
        hold = " · holding this phase" if s.hold_phase else ""
        self.phase_label.setText(f"Phase: {s.phase_name} ({state}){hold}")
        self.times_label.setText(f"Track: {format_duration(s.track_left)} left   ·   "
                                 f"Phase: {format_duration(s.phase_left)} left")
        self.next_label.setText(f"Next: {s.next_track.display}" if s.next_track else "")
        sounding = s.state in (State.PLAYING, State.PAUSED, State.STOPPING)
        self.editor.set_playing(track.id if track is not None and sounding else None)
        self.buttons["play_pause"].setText("▮▮ Pause" if s.state is State.PLAYING else "▶ Play")
        duck = self._duck_note if s.ducked else ""
        self.volume_label.setText(f"{s.volume_db:.0f} dB (max {s.ceiling_db:.0f}){duck}")
        self.volume_slider.blockSignals(True)
        self.volume_slider.setMaximum(int(s.ceiling_db))
        self.volume_slider.setValue(round(s.volume_db))
        self.volume_slider.blockSignals(False)
        for button, on in ((self.duck_button, s.ducked), (self.hold_button, s.hold_phase)):
            if button.isChecked() != on:
                button.blockSignals(True)
                button.setChecked(on)
                button.blockSignals(False)
        device = "Output OK" if s.device_ok else "Music output NOT AVAILABLE (resumes when it returns)"
        self.device_label.setText(f"{device}   ·   dropouts:\u00a0{s.underruns}")  # a wrap never parts the count

    def showEvent(self, event: QShowEvent) -> None:
        # shown again after being closed: listen and tick again
        self.bridge.attach()
        if not self._timer.isActive():
            self._timer.start()
        self.refresh()
        super().showEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing the window never stops the music; it only stops updating the view."""
        self._timer.stop()
        self.bridge.detach()
        super().closeEvent(event)
