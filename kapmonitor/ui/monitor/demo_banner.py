"""An orange banner while the monitor runs in demo mode (HL7 OBX-8 `DEMO`, IntelliVue demo data).

Like the simulator's banner, it tells everyone at the bedside that the numbers on the monitor's
link are not the patient's. The values themselves carry status `demo`: the tiles never show them
as valid, the alarm engine raises only its "demo data" technical alarm, and the record keeps them
as `demo`. The watch is a dispatcher listener (reader thread) that only sets plain attributes;
the banner is shown or hidden by the window's refresh timer in the GUI thread.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from kapmonitor.model.samples import DeviceNotice, Item, Source, Status, VitalSample
from kapmonitor.ui import theme

log = logging.getLogger(__name__)

DEMO_TEXT = "MONITOR IN DEMO MODE \u2014 not the patient's values"
DEMO_TIP = ("The monitor runs in demo mode: its values are recorded as demo, never shown as the patient's "
            "and never alarmed. Switch demo mode off on the monitor.")
FORGET_AFTER_S = 30.0  # no demo value for this long (monitor silent or gone): the banner goes


class DemoWatch:
    """Whether the monitor currently sends demo-mode values. `on_items` runs in the reader thread;
    `active` may be read from any thread (one float attribute, replaced whole)."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self.last_demo: float | None = None

    def on_items(self, items: Sequence[Item]) -> None:
        for item in items:
            if isinstance(item, VitalSample) and item.source is Source.MONITOR:
                if item.status is Status.DEMO:
                    if self.last_demo is None:
                        log.warning("the monitor sends demo-mode values")
                    self.last_demo = self._monotonic()
                elif item.valid:
                    self.last_demo = None  # a patient value: demo mode has ended
            elif isinstance(item, DeviceNotice) and item.code == "demo-mode-ended":
                self.last_demo = None

    @property
    def active(self) -> bool:
        last = self.last_demo
        return last is not None and self._monotonic() - last < FORGET_AFTER_S


class _Window(Protocol):
    extra_refreshers: list[Callable[[float], None]]

    def centralWidget(self) -> QWidget | None: ...


class _Dispatcher(Protocol):
    def add_listener(self, listener: DemoWatch) -> None: ...


def _banner() -> QLabel:
    """A full-width orange strip, as the SIMULATED MONITOR banner (same colour, size and weight)."""
    banner = QLabel(DEMO_TEXT)
    banner.setObjectName("demoBanner")
    banner.setToolTip(DEMO_TIP)
    banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
    font = QFont(theme.FONT_FAMILY)
    font.setPixelSize(20)
    font.setBold(True)
    banner.setFont(font)
    banner.setStyleSheet(f"background: {theme.SIMULATED}; color: #000000; padding: 4px;")
    banner.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)  # never widens the window
    return banner


def install_demo_banner(window: _Window, dispatcher: _Dispatcher) -> tuple[DemoWatch, QLabel]:
    """Put the (hidden) banner at the top of the window and keep it in step with the monitor."""
    watch = DemoWatch()
    banner = _banner()
    banner.hide()
    central = window.centralWidget()
    layout = central.layout() if central is not None else None
    if isinstance(layout, QVBoxLayout):
        layout.insertWidget(0, banner)
    dispatcher.add_listener(watch)

    def refresh(_now: float) -> None:
        active = watch.active
        if banner.isHidden() == active:
            banner.setVisible(active)

    window.extra_refreshers.append(refresh)
    return watch, banner
