"""The `kapmonitor` command line: `run` (the default) and the offline subcommands.

Errors a user can make (a bad option, an unknown driver, a port that cannot be opened, an
unreadable file) end in one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from kapmonitor import __version__
from kapmonitor.commands.options import accelerated_start, has_display, non_negative_float, positive_float

if TYPE_CHECKING:
    from kapmonitor.bedside import Bedside

log = logging.getLogger(__name__)

SUBCOMMANDS: dict[str, str] = {
    "run": "show live vitals from a monitor or the simulator (default)",
    "decode": "decode a raw monitor capture to CSV or JSON lines",
    "replay": "run a capture through the monitoring pipeline into a session database",
    "emulate": "play a monitor's side of its protocol on a serial port",
    "ports": "list serial ports",
    "export": "export a session database (CSV, JSON, PDF, FHIR)",
    "admin": "administrator steps: set the clinic PIN that protects the alarm profile",
    "course": "a patient's course: depression scores, response and remission, follow-ups due",
    "gateway": "the bedside without a window: monitor, alarms, record, publish to the central station",
    "central": "the central station: every chair of the clinic in one window, via an MQTT broker",
}


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line and exits 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")





def add_run_arguments(p: argparse.ArgumentParser) -> None:
    from kapmonitor.drivers.registry import available_drivers

    p.add_argument("--driver", help=f"monitor driver: {', '.join(available_drivers())} (default: the monitor "
                   "chosen last under Monitor > Monitor connection..., else simulated)")
    p.add_argument("--port", help="serial port or URL, e.g. /dev/ttyUSB0, COM3, socket://host:port")
    p.add_argument("--baud", type=int, help="override the driver's baud rate")
    p.add_argument("--speed", type=positive_float, default=1.0, help="time acceleration (simulator and replay)")
    p.add_argument("--scenario", help="simulator scenario (default: normal)")
    p.add_argument("--seed", type=int, default=0, help="simulator random seed (same seed, same session)")
    p.add_argument("--session", type=Path, help="session database to write (default: a new file per session)")
    p.add_argument("--profile", type=Path, help="alarm profile TOML (default: the clinic's or the built-in one)")
    p.add_argument("--replay", type=Path, metavar="CAPTURE", help="show a recorded capture instead of a live monitor")
    p.add_argument("--screenshot", type=Path, metavar="PNG", help="render the main window to PNG and exit")
    p.add_argument("--screenshot-after", type=non_negative_float, default=5.0, metavar="SECONDS",
                   help="session seconds (simulated time) before the screenshot")
    from kapmonitor.commands.gateway import add_publish_arguments

    add_publish_arguments(p)  # --publish/--chair/--site: this chair on the central station


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="kapmonitor", description="Bedside monitoring for ketamine-assisted psychotherapy.")
    parser.add_argument("--version", action="version", version=f"kapmonitor {__version__}")
    parser.add_argument("--log-level", default=os.environ.get("KAPMONITOR_LOG", "WARNING"),
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="logging detail on stderr")
    sub = parser.add_subparsers(dest="command", parser_class=OneLineParser, metavar="COMMAND")
    for name, help_text in SUBCOMMANDS.items():
        sp = sub.add_parser(name, help=help_text, description=help_text)
        if name == "run":
            add_run_arguments(sp)
        else:
            module = _command_module(name)
            if module is not None:
                module.add_arguments(sp)
    return parser


def _command_module(name: str):  # type: ignore[no-untyped-def]
    try:
        return importlib.import_module(f"kapmonitor.commands.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"kapmonitor.commands.{name}":
            return None
        raise


def _normalise(argv: list[str]) -> list[str]:
    """`kapmonitor --speed 600` means `kapmonitor run --speed 600`."""
    global_only = {"-h", "--help", "--version"}
    i = 0
    while i < len(argv) and argv[i].startswith("--log-level"):
        i += 1 if "=" in argv[i] else 2
    rest = argv[i:]
    if not rest or (rest[0] not in SUBCOMMANDS and rest[0] not in global_only):
        return [*argv[:i], "run", *rest]
    return argv


def run_command(args: argparse.Namespace) -> int:
    """`kapmonitor run`: check everything a user could have got wrong, then start the GUI."""
    from kapmonitor.drivers.base import Driver, DriverOptions
    from kapmonitor.drivers.errors import DriverError, PortOpenError
    from kapmonitor.drivers.registry import driver_class
    from kapmonitor.drivers.transport import open_port
    from kapmonitor.model.clock import AcceleratedClock, Clock, RealClock

    saved = apply_saved_monitor(args)
    if args.scenario is None:
        args.scenario = "normal"
    try:
        cls = driver_class(args.driver)
    except DriverError as exc:
        return fail(f"{exc} (the saved monitor; choose with --driver)" if saved else str(exc))
    if args.driver == "simulated":
        from kapmonitor.drivers.simulator import SCENARIOS

        if args.scenario not in SCENARIOS:
            return fail(f"unknown scenario {args.scenario!r} (known: {', '.join(SCENARIOS)})")
    elif args.replay is None:
        if not args.port:
            return fail(f"driver {args.driver} needs --port (see `kapmonitor ports`)")
        if cls.serial_settings is not None:
            try:
                open_port(args.port, cls.serial_settings, args.baud).close()
            except PortOpenError as exc:
                if not saved:
                    return fail(str(exc))
                # the saved monitor: start anyway (monitoring first); the window shows the link
                # as disconnected and keeps trying, and Monitor > Monitor connection... can change it
                print(f"kapmonitor: warning: {exc}; retrying while the window runs", file=sys.stderr)
    if args.session is not None and args.session.exists() and not args.session.is_file():
        return fail(f"--session {args.session} is not a file")
    if args.session is not None and args.session.is_file() and args.replay is None:
        from kapmonitor.model.samples import Source
        from kapmonitor.recording.reader import record_is_simulated

        recorded = record_is_simulated(args.session)  # a record is simulated or a patient's, never both
        if recorded is not None and recorded != (cls.source is Source.SIMULATED):
            kind = "simulated" if recorded else "a patient's"
            return fail(f"--session {args.session} is {kind} record: it cannot continue with driver {args.driver}")
    if args.screenshot is not None and args.screenshot.suffix.lower() != ".png":
        return fail(f"--screenshot must name a .png file, not {args.screenshot}")
    from kapmonitor.commands import CommandError
    from kapmonitor.commands.gateway import check_publish_args

    given = argparse.Namespace(**vars(args))  # the command line alone
    if args.replay is None and args.speed == 1.0 and args.driver != "simulated":
        # Monitor > Central station publishing..., unless the command line says otherwise; only for a real
        # monitor in real time: a training run, a replay or an accelerated clock never appears as a chair
        apply_saved_publishing(args)
    try:
        check_publish_args(args)  # a bad --publish/--chair fails here, before the window
    except CommandError as exc:
        if vars(args) == vars(given):
            raise
        # monitoring first: saved settings that no longer work (a CA file moved) never keep the bedside from starting
        print(f"kapmonitor: warning: the saved publishing settings are not used ({exc}); monitoring starts "
              "without them: Monitor > Central station publishing... shows and fixes them", file=sys.stderr)
        vars(args).update(vars(given))
        check_publish_args(args)
    if args.screenshot is None and not has_display():
        return fail("no display to show the window on (DISPLAY and WAYLAND_DISPLAY are unset); "
                    "start kapmonitor from a desktop session, or render with --screenshot PNG")
    clock: Clock = RealClock() if args.speed == 1.0 else AcceleratedClock(args.speed, accelerated_start(args.session))
    options = DriverOptions(port=args.port, baudrate=args.baud, scenario=args.scenario, seed=args.seed)
    try:
        if args.replay is not None:
            if not args.replay.is_file():
                return fail(f"cannot read capture {args.replay}: no such file")
            from kapmonitor.drivers.replay import CaptureError, ReplayDriver
            from kapmonitor.model.clock import ManualClock

            # a replay runs on the capture's own clock, paced at --speed
            replay_clock = ManualClock()
            options.extra["speed"] = args.speed
            try:
                driver: Driver = ReplayDriver(args.replay, args.driver, options, replay_clock)
                start = driver.start_time  # type: ignore[attr-defined]
            except CaptureError as exc:
                return fail(str(exc))
            if start is None:
                return fail(f"nothing decodable in {args.replay} for driver {args.driver}")
            replay_clock.advance_to(start)
            clock = replay_clock
        else:
            driver = cls(options, clock)
    except (DriverError, OSError, ValueError) as exc:
        return fail(str(exc))
    # lazy: only `kapmonitor run` loads Qt; every other command starts without it
    from kapmonitor.ui.app import run_gui

    def on_started(bedside: Bedside) -> None:
        from kapmonitor.commands.gateway import central_ack_hook
        from kapmonitor.publish.broker import BrokerConfigError
        from kapmonitor.publish.settings import settings_from_args

        # every publisher of this run (also one set up later from the window) answers the central's commands
        bedside.publisher_hooks.append(central_ack_hook(args, bedside, clock))
        # --publish: this chair on the central station; --hl7-out: NIBP and vitals to the interface engine.
        # Through the bedside, so Monitor > Central station publishing... can change them while monitoring.
        try:
            bedside.configure_publishing(settings_from_args(args))
        except (BrokerConfigError, ValueError) as exc:  # checked before the window; a file may vanish since
            log.error("publishing not started: %s", exc)

    return run_gui(args, driver, clock, on_started)


def apply_saved_monitor(args: argparse.Namespace) -> bool:
    """Without --driver: the monitor saved from the GUI (its port and baud unless given), else the
    simulator. A replay, a scenario or a speed asks for the simulator or a capture, never the
    saved monitor. True when the saved monitor is used."""
    if args.driver is not None:
        return False
    args.driver = "simulated"
    if args.replay is not None or args.scenario is not None or args.speed != 1.0:
        return False
    from kapmonitor.config import load_monitor_choice

    choice, problem = load_monitor_choice()
    if problem:
        print(f"kapmonitor: warning: {problem}; starting the simulated monitor", file=sys.stderr)
    if choice is None:
        return False
    args.driver = choice.driver
    args.port = args.port or choice.port
    args.baud = args.baud or choice.baudrate
    log.info("the saved monitor: %s %s", choice.driver, args.port or "")
    return True


def apply_saved_publishing(args: argparse.Namespace) -> None:
    """What the command line leaves open of publishing comes from publish.toml (saved from the window)."""
    from kapmonitor.publish.settings import fill_args, load_publish_settings

    saved, problem = load_publish_settings()
    if problem:
        print(f"kapmonitor: warning: {problem}", file=sys.stderr)
    fill_args(args, saved)


def fail(message: str) -> int:
    print(f"kapmonitor: error: {message}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(_normalise(args_list))
    logging.basicConfig(
        level=getattr(logging, args.log_level), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    from kapmonitor.commands import CommandError

    try:
        if args.command == "run":
            return run_command(args)
        module = _command_module(args.command)
        if module is None:
            return fail(f"the {args.command} command is not available in this build")
        return int(module.run(args))
    except CommandError as exc:
        return fail(str(exc))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
