"""`kapmonitor central --broker URL [--site NAME] [--screenshot PNG --screenshot-after S]`.

The central station: every chair publishing to the broker in one window, most urgent first; the
chairs' alarms sound here in their priority; a chair that falls silent, loses its monitor, or a
broker that cannot be reached is a technical alarm here. By default it never sends anything to a
chair; with `--allow-ack --operator NAME` (clinics that enable it) the operator may acknowledge
the alarm of a chair that accepts it, after a confirmation, and every command and answer is
appended to the central's audit file.
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
    g = parser.add_argument_group("acknowledging chairs' alarms (off by default)")
    g.add_argument("--allow-ack", action="store_true",
                   help="offer acknowledging a chair's alarm, for chairs whose clinic enabled it (needs --operator)")
    g.add_argument("--operator", metavar="NAME", help="who acknowledges here (credited at the chair; required)")
    g.add_argument("--station", metavar="NAME", help="this central station's name (default: the computer's name)")
    g.add_argument("--audit-file", type=Path, metavar="FILE",
                   help="the central's audit trail (default: central/central_audit.jsonl in the data folder)")
    add_broker_credentials(parser)


def check_ack_args(args: argparse.Namespace) -> None:
    """--allow-ack needs a named operator; --operator without --allow-ack is a mistake worth saying."""
    import socket

    from kapmonitor.publish.commands import check_operator

    if not args.allow_ack:
        if args.operator or args.station or args.audit_file:
            raise CommandError("--operator, --station and --audit-file go with --allow-ack")
        return
    if not args.operator:
        raise CommandError("--allow-ack needs --operator NAME: an acknowledgement is never anonymous")
    args.station = args.station or socket.gethostname().split(".")[0] or "central"
    for what, value in (("--operator", args.operator), ("--station", args.station)):
        try:
            check_operator(value)
        except ValueError as exc:
            raise CommandError(f"{what}: {exc} (1 to 64 printable characters)") from None


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
    check_ack_args(args)
    if args.screenshot is not None and args.screenshot.suffix.lower() != ".png":
        raise CommandError(f"--screenshot must name a .png file, not {args.screenshot}")
    if args.screenshot is None and not has_display():
        raise CommandError("no display to show the window on (DISPLAY and WAYLAND_DISPLAY are unset); "
                           "render with --screenshot PNG")
    from kapmonitor.ui.central.app import run_central  # lazy: only here is Qt loaded

    return run_central(args, broker)
