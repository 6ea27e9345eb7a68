"""Hands `MusicController` notifications to the GUI thread as a Qt signal.

The controller calls its listeners from whatever thread made the change (often the audio
decoder thread); emitting a signal from there is safe and Qt queues it to the receivers' thread.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from kapmonitor.audio.controller import MusicController


class MusicBridge(QObject):
    """`changed(kind, message)` for every controller notification (kinds: state, track, phase,
    volume, playlist, device, message)."""

    changed = Signal(str, str)

    def __init__(self, controller: MusicController, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._controller = controller
        self._attached = False
        self.attach()

    def _relay(self, kind: str, message: str) -> None:
        self.changed.emit(kind, message)

    def attach(self) -> None:
        if not self._attached:
            self._controller.add_listener(self._relay)
            self._attached = True

    def detach(self) -> None:
        if self._attached:
            self._controller.remove_listener(self._relay)
            self._attached = False
