"""Runs the central station window (`kapmonitor central`): the model, the sound and the window.

Thread-safety: everything here runs in the GUI thread; see the model and window for theirs.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from pathlib import Path

from kapmonitor.publish.broker import BrokerConfig

log = logging.getLogger(__name__)


def run_central(args: argparse.Namespace, broker: BrokerConfig) -> int:
    """Show every chair until the window closes or SIGTERM; `--screenshot` saves the window and exits."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from kapmonitor.central.model import CentralModel
    from kapmonitor.central.sound import CentralSound
    from kapmonitor.ui.central.window import CentralWindow
    from kapmonitor.ui.theme import STYLESHEET, apply_application_font, dark_palette

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setApplicationName("kapmonitor central")
    apply_application_font(app)
    app.setPalette(dark_palette())
    app.setStyleSheet(STYLESHEET)
    allow = bool(getattr(args, "allow_ack", False))
    model = CentralModel(broker, args.site, client_id=f"kapmonitor-central-{int(time.time() * 1000) % 10**9}",
                         allow_commands=allow)
    commander = None
    if allow:  # --allow-ack: a named operator, and the audit file opened before anything is shown
        from kapmonitor.central.commands import AckError, CentralCommander

        try:
            commander = CentralCommander(model, args.operator, args.station, args.audit_file)
        except AckError as exc:
            print(f"kapmonitor: error: {exc}", file=sys.stderr)
            return 2
    sound = CentralSound(model)
    window = CentralWindow(model, sound, args.site, commander=commander)
    window.resize(1280, 800)
    model.start()
    if not args.screenshot and not args.no_sound:
        sound.start()  # a sound device that cannot play is a technical alarm in the sound engine (logged)
    window.start()
    if args.screenshot is None:
        window.showMaximized()  # the whole screen: a title bar must not push the alarm bar off it
    else:
        window.show()
    code = {"rc": 0}

    def terminate(*_: object) -> None:
        app.exit(0)

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, terminate)
    pump = QTimer()
    pump.start(200)  # lets Python run the signal handlers while Qt's loop runs
    pump.timeout.connect(lambda: None)
    if args.screenshot is not None:
        png: Path = args.screenshot

        def save() -> None:
            window.refresh()
            image = window.grab()
            png.parent.mkdir(parents=True, exist_ok=True)
            if not image.save(str(png)):
                print(f"kapmonitor: error: cannot write screenshot {png}", file=sys.stderr)
                code["rc"] = 2
            app.exit(0)

        QTimer.singleShot(int(args.screenshot_after * 1000), save)
    try:
        app.exec()
    finally:
        window.stop()
        sound.stop()
        model.stop()
        if commander is not None:
            commander.close()
    return code["rc"]
