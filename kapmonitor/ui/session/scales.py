"""Scales: MOAA/S by one tap (prompted every 15 min), CADSS total near the end of the infusion,
BPRS total (optional). Each stored with its time. GUI thread only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLineEdit, QPushButton, QVBoxLayout, QWidget

from kapmonitor.session.catalogues import SCALES
from kapmonitor.session.entries import SessionError
from kapmonitor.session.infusion import format_duration
from kapmonitor.session.model import ValidationError
from kapmonitor.session.session import NurseSession
from kapmonitor.ui.session.common import (
    FieldBox,
    NumberInputError,
    ReservedLabel,
    SessionBridge,
    apply_session_style,
    clock_text,
    make_label,
    parse_number,
)

log = logging.getLogger(__name__)

MOAAS_HINTS = {
    5: "responds readily to name",
    4: "lethargic response to name",
    3: "responds after loud/repeated name",
    2: "responds after mild prodding",
    1: "responds after trapezius squeeze",
    0: "no response",
}


class ScalesPanel(QWidget):
    def __init__(self, session: NurseSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        apply_session_style(self)
        self.bridge = SessionBridge(session, self)
        self.bridge.changed.connect(self.refresh)
        self.now_fn: Callable[[], float] = session.now  # display time
        layout = QVBoxLayout(self)

        moaas = QGroupBox("MOAA/S (0–5)")
        ml = QVBoxLayout(moaas)
        row = QHBoxLayout()
        self.moaas_buttons: dict[int, QPushButton] = {}
        for score in range(5, -1, -1):
            b = QPushButton(str(score))
            b.setToolTip(MOAAS_HINTS[score])
            b.setMinimumHeight(48)
            b.clicked.connect(lambda _c=False, s=score: self.record("moaas", s))
            row.addWidget(b)
            self.moaas_buttons[score] = b
        ml.addLayout(row)
        self.moaas_status = make_label("", "dim")
        ml.addWidget(self.moaas_status)
        layout.addWidget(moaas)

        self.total_edits: dict[str, QLineEdit] = {}
        self.boxes: dict[str, FieldBox] = {}
        self.save_buttons: dict[str, QPushButton] = {}
        for key in ("cadss", "bprs"):
            spec = SCALES[key]
            group = QGroupBox(
                f"{spec.label} total ({spec.minimum}–{spec.maximum})" + (" — optional" if key == "bprs" else "")
            )
            gl = QHBoxLayout(group)
            edit = QLineEdit()
            edit.setPlaceholderText("total score")
            box = FieldBox("", edit)
            # a corrected entry clears the old message at once (never a stale error beside a good value)
            edit.textEdited.connect(lambda _t, b=box: b.set_error(None))
            edit.returnPressed.connect(lambda k=key: self.record_total(k))
            save = QPushButton("Save")
            save.clicked.connect(lambda _c=False, k=key: self.record_total(k))
            gl.addWidget(box, 1)
            gl.addWidget(save, 0, Qt.AlignmentFlag.AlignTop)
            self.total_edits[key] = edit
            self.boxes[key] = box
            self.save_buttons[key] = save
            layout.addWidget(group)
        self.cadss_status = make_label("", "dim")
        layout.addWidget(self.cadss_status)
        self.history = make_label("", "dim")
        self.history.setWordWrap(True)
        layout.addWidget(self.history)
        self.error = ReservedLabel("", 1, "error")
        layout.addWidget(self.error)
        layout.addStretch(1)
        self.timer = QTimer(self)
        self.timer.setInterval(1000)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.refresh()

    def record(self, scale: str, score: float) -> bool:
        self.error.setText("")
        try:
            self.session.record_scale(scale, score)
        except ValidationError as exc:
            if scale in self.boxes:
                self.boxes[scale].set_error(exc.message)
            else:
                self.error.setText(exc.message)
            return False
        except SessionError as exc:
            self.error.setText(str(exc))
            return False
        return True

    def record_total(self, scale: str) -> None:
        box = self.boxes[scale]
        box.set_error(None)
        try:
            value = parse_number(self.total_edits[scale].text(), f"{SCALES[scale].label} total")
        except NumberInputError as exc:
            box.set_error(str(exc))
            return
        assert value is not None
        if self.record(scale, value):
            self.total_edits[scale].clear()

    def refresh(self) -> None:
        t = self.now_fn()
        due = self.session.moaas_next_due(t)
        last = self.session.scales("moaas")
        parts = []
        if last:
            parts.append(f"last {last[-1].score:g} at {clock_text(last[-1].t)}")
        if due is not None:
            parts.append("DUE NOW" if due <= t else f"next in {format_duration(due - t)}")
        self.moaas_status.setText(" · ".join(parts))
        self.moaas_status.setStyleSheet("color: #ffd400;" if due is not None and due <= t else "")
        self.cadss_status.setText("CADSS due now (end of infusion)" if self.session.cadss_due(t) else "")
        self.cadss_status.setStyleSheet("color: #ffd400;")
        entries = self.session.scales()
        self.history.setText("  ".join(f"{clock_text(e.t)[:5]} {e.label}" for e in entries[-8:]))
        closed = self.session.closed
        for b in [*self.moaas_buttons.values(), *self.save_buttons.values()]:
            b.setEnabled(not closed)
