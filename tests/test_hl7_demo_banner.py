"""The orange DEMO MODE banner: shown while the monitor sends demo-mode values (the shared Mindray
demo capture), gone when patient values come back or the monitor falls silent."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QLabel, QMainWindow, QVBoxLayout, QWidget
from shared_paths import PROTOCOLS

from kapmonitor.acquisition.dispatcher import Dispatcher
from kapmonitor.drivers.hl7.decoder import Hl7Decoder
from kapmonitor.ui.monitor import demo_banner
from kapmonitor.ui.monitor.demo_banner import DemoWatch, install_demo_banner

DEMO = (PROTOCOLS / "hl7" / "mindray_vs900_demo_mode.hl7").read_bytes()
# the same VS-900 (its id in MSH-3 and OBX-18) out of demo mode
PATIENT = (PROTOCOLS / "hl7" / "mindray_vs900_nibp_capture.hl7").read_bytes().replace(
    b"00A0370098007A80", b"00A0370098006640").replace(b"PV1||I||", b"PV1||I|INTER^^1^1|")


class Window(QMainWindow):
    """The two things the banner needs of the main window: a vertical central layout and refreshers."""

    def __init__(self) -> None:
        super().__init__()
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(QLabel("alarm bar"))
        self.setCentralWidget(central)
        self.extra_refreshers: list[Callable[[float], None]] = []

    def refresh(self) -> None:
        for f in self.extra_refreshers:
            f(0.0)


def test_banner_follows_demo_mode(qtbot) -> None:  # type: ignore[no-untyped-def]
    window = Window()
    qtbot.addWidget(window)
    dispatcher = Dispatcher()
    _watch, banner = install_demo_banner(window, dispatcher)
    window.show()
    window.refresh()
    assert not banner.isVisible()
    decoder = Hl7Decoder()
    dispatcher.dispatch(decoder.decode_message(DEMO, 0.0).items)
    window.refresh()
    assert banner.isVisible() and banner.text().startswith("MONITOR IN DEMO MODE")
    layout = window.centralWidget().layout()  # type: ignore[union-attr]
    assert layout is not None and layout.indexOf(banner) == 0  # at the top, above the alarm bar
    dispatcher.dispatch(decoder.decode_message(PATIENT, 0.0).items)  # the same monitor, out of demo mode
    window.refresh()
    assert not banner.isVisible()


def test_watch_forgets_a_silent_demo_monitor(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    now = [100.0]
    watch = DemoWatch(monotonic=lambda: now[0])
    watch.on_items(Hl7Decoder().decode_message(DEMO, 0.0).items)
    assert watch.active
    now[0] += demo_banner.FORGET_AFTER_S + 1
    assert not watch.active
