"""`kapmonitor central --broker URL [--site NAME] [--screenshot PNG --screenshot-after S]`.

The central station: every chair publishing to the broker in one window, most urgent first; the
chairs' alarms sound here in their priority; a chair that falls silent, loses its monitor, or a
broker that cannot be reached is a technical alarm here. It never sends anything to a chair.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from kapmonitor.commands import CommandError

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from kapmonitor.commands.gateway import add_broker_credentials
    from kapmonitor.commands.options import non_negative_float

    parser.add_argument("--broker", required=True, metavar="URL", help="the broker: mqtt://HOST:PORT or mqtts://HOST:PORT")
    parser.add_argument("--site", help="show only this site (default: every site on the broker)")
    parser.add_argument("--screenshot", type=Path, metavar="PNG", help="render the window to PNG and exit")
    parser.add_argument("--screenshot-after", type=non_negative_float, default=5.0, metavar="SECONDS",
                        help="seconds before the screenshot (default 5)")
    parser.add_argument("--no-sound", action="store_true",
                        help="do not sound alarms here (a second screen beside a central that sounds)")
    add_broker_credentials(parser)


def run(args: argparse.Namespace) -> int:
    from kapmonitor.commands.gateway import broker_from_args
    from kapmonitor.commands.options import has_display
    from kapmonitor.publish.broker import BrokerConfig, BrokerConfigError, check_name

    broker = broker_from_args(args, args.broker)
    assert isinstance(broker, BrokerConfig)
    if args.site is not None:
        try:
            check_name("site", args.site)
        except BrokerConfigError as exc:
            raise CommandError(str(exc)) from None
    if args.screenshot is not None and args.screenshot.suffix.lower() != ".png":
        raise CommandError(f"--screenshot must name a .png file, not {args.screenshot}")
    if args.screenshot is None and not has_display():
        raise CommandError("no display to show the window on (DISPLAY and WAYLAND_DISPLAY are unset); "
                           "render with --screenshot PNG")
    from kapmonitor.ui.central.app import run_central  # lazy: only here is Qt loaded

    return run_central(args, broker)
