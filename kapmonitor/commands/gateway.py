"""`kapmonitor gateway`: the bedside without a window, for a small box next to a monitor.

Acquisition, alarms (sounded on the local output), recording and publishing to the central
station (`--publish mqtt://HOST:PORT --chair NAME`), until SIGTERM or Ctrl-C; then the publisher
says "offline (stopped)" and the record is flushed and closed. It is built on the Qt-free
`Bedside` and never imports PySide6.

`add_publish_arguments` / `publisher_from_args` are shared with `kapmonitor run`.
Thread-safety: `run` owns the main thread; signals only set a flag it polls.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from kapmonitor.commands import CommandError

if TYPE_CHECKING:
    from kapmonitor.bedside import Bedside
    from kapmonitor.model.clock import Clock
    from kapmonitor.publish.hl7_out import Hl7Outbox
    from kapmonitor.publish.publisher import MqttPublisher

log = logging.getLogger(__name__)


def add_publish_arguments(p: argparse.ArgumentParser) -> None:
    """--publish, --chair, --site and the broker credentials (also used by `run`)."""
    g = p.add_argument_group("central station (MQTT)")
    g.add_argument("--publish", metavar="URL", help="publish this chair to a broker: mqtt://HOST:PORT or mqtts://HOST:PORT")
    g.add_argument("--chair", help="chair name on the central station (letters, digits, - _ .)")
    # no argparse defaults: `run` fills what is not given from publish.toml, then check_publish_args
    g.add_argument("--site", help="site name (default: clinic)")
    g.add_argument("--show-as", choices=["pseudonym", "chair"],
                   help="what the central shows: the session's pseudonym (default) or only the chair name")
    g.add_argument("--allow-central-ack", action="store_true",
                   help="accept acknowledgements of this chair's alarms from the central station (also needs the "
                        "clinic setting: kapmonitor admin central-ack on); each one is credited and recorded")
    add_broker_credentials(g)
    p.add_argument("--hl7-out", metavar="tcp:HOST:PORT",
                   help="send NIBP and one-minute vitals as HL7 ORU^R01 (IHE PCD-01) over MLLP to the clinic's "
                        "interface engine; unacknowledged messages wait in the session record (needs --chair)")


def add_broker_credentials(g: argparse._ArgumentGroup | argparse.ArgumentParser) -> None:
    g.add_argument("--mqtt-user", help="broker user name (password: KAPMONITOR_MQTT_PASSWORD or --mqtt-password-file)")
    g.add_argument("--mqtt-password-file", type=Path, help="file (mode 0600) holding the broker password")
    g.add_argument("--mqtt-ca", type=Path, help="CA certificate for mqtts://")
    g.add_argument("--mqtt-cert", type=Path, help="client certificate for mqtts://")
    g.add_argument("--mqtt-key", type=Path, help="client key for mqtts://")


def broker_from_args(args: argparse.Namespace, url: str) -> object:
    """The `BrokerConfig` of `url` and the credential options; a bad one is a one-line CommandError."""
    from kapmonitor.publish.broker import PASSWORD_ENV, BrokerConfigError, parse_broker_url

    saved = getattr(args, "mqtt_password", None)  # from publish.toml (kapmonitor run)
    environ = {PASSWORD_ENV: saved} if saved and args.mqtt_password_file is None else None
    try:
        return parse_broker_url(url, username=args.mqtt_user, password_file=args.mqtt_password_file,
                                ca_file=args.mqtt_ca, cert_file=args.mqtt_cert, key_file=args.mqtt_key,
                                environ=environ)
    except BrokerConfigError as exc:
        raise CommandError(str(exc)) from None


def check_publish_args(args: argparse.Namespace) -> None:
    """Fail before anything starts: --chair without --publish, a bad URL or name."""
    from kapmonitor.publish.broker import BrokerConfigError, check_name

    args.site = args.site or "clinic"
    args.show_as = args.show_as or "pseudonym"
    hl7 = getattr(args, "hl7_out", None)
    if hl7 is not None:
        from kapmonitor.publish.hl7_out import parse_target

        try:
            parse_target(hl7)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if not args.chair:
            raise CommandError("--hl7-out needs --chair NAME (the only patient identifier sent)")
    if getattr(args, "allow_central_ack", False):
        from kapmonitor.publish.ack_policy import central_ack_allowed

        if args.publish is None:
            raise CommandError("--allow-central-ack needs --publish mqtt://HOST:PORT and --chair NAME")
        allowed, why = central_ack_allowed()
        if not allowed:
            raise CommandError(f"--allow-central-ack: {why}")
    if args.publish is None:
        if args.chair is not None and hl7 is None:
            raise CommandError("--chair needs --publish mqtt://HOST:PORT")
        if args.chair is not None:
            check_name_or_fail("chair", args.chair)
        return
    if not args.chair:
        raise CommandError("--publish needs --chair NAME (the chair's name on the central station)")
    try:
        check_name("chair", args.chair)
        check_name("site", args.site)
    except BrokerConfigError as exc:
        raise CommandError(str(exc)) from None
    broker_from_args(args, args.publish)


def check_name_or_fail(what: str, name: str) -> None:
    from kapmonitor.publish.broker import BrokerConfigError, check_name

    try:
        check_name(what, name)
    except BrokerConfigError as exc:
        raise CommandError(str(exc)) from None


def hl7_from_args(args: argparse.Namespace, bedside: Bedside, clock: Clock) -> Hl7Outbox | None:
    """The HL7 outbox listening to the bedside's vitals and started, with what the record still
    holds unacknowledged; or None without --hl7-out."""
    if getattr(args, "hl7_out", None) is None:
        return None
    from kapmonitor.publish.hl7_out import Hl7Outbox
    from kapmonitor.recording.reader import read_hl7_pending

    recorder = bedside.pipeline.recorder
    outbox = Hl7Outbox(args.hl7_out, args.chair, clock, lambda: bedside.pipeline.recorder,
                       pending=read_hl7_pending(recorder.path))
    bedside.pipeline.dispatcher.add_listener(outbox)
    outbox.start()
    return outbox


def central_ack_hook(args: argparse.Namespace, bedside: Bedside, clock: Clock) -> Callable[[MqttPublisher], None]:
    """What every publisher of this bedside does with the central's commands: always answered (so a
    refusal is recorded too), acted on only with --allow-central-ack (checked against the clinic setting)."""
    from kapmonitor.publish.commands import RemoteAcknowledger

    enabled = bool(getattr(args, "allow_central_ack", False))

    def hook(publisher: MqttPublisher) -> None:
        publisher.set_commands(RemoteAcknowledger(bedside.alarms, lambda: bedside.pipeline.recorder, clock,
                                                  publisher.where, enabled=enabled))

    return hook


def publisher_from_args(args: argparse.Namespace, bedside: Bedside, clock: Clock) -> MqttPublisher | None:
    """A publisher attached to the bedside's pipeline and session (not started), or None."""
    if getattr(args, "publish", None) is None:
        return None
    from kapmonitor.model.samples import LinkEvent
    from kapmonitor.publish.broker import BrokerConfig
    from kapmonitor.publish.publisher import MqttPublisher

    broker = broker_from_args(args, args.publish)
    assert isinstance(broker, BrokerConfig)
    publisher = MqttPublisher(broker, args.chair, clock, site=args.site, identity=args.show_as)
    publisher.attach(bedside.pipeline.dispatcher, bedside.alarms)
    publisher.set_session(bedside.session)
    central_ack_hook(args, bedside, clock)(publisher)
    reader = bedside.pipeline.reader  # a link state reported before the publisher listened
    publisher.on_items([LinkEvent(clock.now(), reader.link_state, "")])
    bedside.publisher = publisher  # follows the session from now on, stops with the bedside
    return publisher


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from kapmonitor.commands.options import positive_float
    from kapmonitor.drivers.registry import available_drivers

    parser.add_argument("--driver", default="simulated", help=f"monitor driver: {', '.join(available_drivers())} "
                        "(default: simulated)")
    parser.add_argument("--port", help="serial port or URL, e.g. /dev/ttyUSB0, socket://host:port")
    parser.add_argument("--baud", type=int, help="override the driver's baud rate")
    parser.add_argument("--speed", type=positive_float, default=1.0, help="time acceleration (simulator only)")
    parser.add_argument("--scenario", default="normal", help="simulator scenario (default: normal)")
    parser.add_argument("--seed", type=int, default=0, help="simulator random seed")
    parser.add_argument("--session", type=Path, help="session database to write (default: a new file per session)")
    parser.add_argument("--profile", type=Path, help="alarm profile TOML (default: the clinic's or the built-in one)")
    add_publish_arguments(parser)


def _make_driver(args: argparse.Namespace, clock: Clock) -> object:
    from kapmonitor.drivers.base import DriverOptions
    from kapmonitor.drivers.errors import DriverError
    from kapmonitor.drivers.registry import driver_class
    from kapmonitor.drivers.simulator import SCENARIOS
    from kapmonitor.model.samples import Source

    try:
        cls = driver_class(args.driver)
    except DriverError as exc:
        raise CommandError(str(exc)) from None
    simulated = cls.source is Source.SIMULATED
    if simulated and args.scenario not in SCENARIOS:
        raise CommandError(f"unknown scenario {args.scenario!r} (known: {', '.join(SCENARIOS)})")
    if not simulated and not args.port:
        raise CommandError(f"driver {args.driver} needs --port (see `kapmonitor ports`)")
    if not simulated and args.speed != 1.0:
        raise CommandError("a real monitor runs in real time: --speed is for the simulator")
    options = DriverOptions(port=args.port, baudrate=args.baud, scenario=args.scenario, seed=args.seed,
                            waves=not simulated)  # a simulated chair keeps its record light
    try:
        return cls(options, clock)
    except (DriverError, OSError, ValueError) as exc:
        raise CommandError(str(exc)) from None


def run(args: argparse.Namespace, stop: threading.Event | None = None) -> int:
    """Run until SIGTERM/SIGINT (or `stop`), then stop cleanly. Returns the exit code."""
    import sys

    from kapmonitor.bedside import Bedside
    from kapmonitor.commands.options import accelerated_start
    from kapmonitor.drivers.base import Driver
    from kapmonitor.model.clock import AcceleratedClock, RealClock
    from kapmonitor.recording.database import SessionDatabaseError

    check_publish_args(args)
    if args.session is not None and args.session.exists() and not args.session.is_file():
        raise CommandError(f"--session {args.session} is not a file")
    clock: Clock = RealClock() if args.speed == 1.0 else AcceleratedClock(args.speed, accelerated_start(args.session))
    driver = _make_driver(args, clock)
    assert isinstance(driver, Driver)
    try:
        bedside = Bedside(driver, clock, args.session, args.profile, music=False)
    except (SessionDatabaseError, OSError, ValueError) as exc:
        raise CommandError(f"cannot start: {exc}") from None
    done = stop if stop is not None else threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        done.set()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    publisher = None
    outbox = None
    try:
        bedside.start(sound=True)
        outbox = hl7_from_args(args, bedside, clock)
        publisher = publisher_from_args(args, bedside, clock)
        if publisher is not None:
            publisher.start()
        where = f"; publishing as {args.site}/{args.chair} to {publisher.broker.display_url}" if publisher else ""
        if publisher is not None and args.allow_central_ack:
            where += "; the central station may acknowledge this chair's alarms (clinic setting)"
        log.info("gateway running: %s, recording to %s%s", bedside.device_text(),
                 bedside.pipeline.recorder.path, where)
        print(f"kapmonitor gateway: {bedside.device_text()}, recording to {bedside.pipeline.recorder.path}{where}",
              file=sys.stderr, flush=True)
        while not done.wait(0.2):
            pass
    finally:
        if outbox is not None:
            outbox.stop()  # what is not acknowledged stays in the record for the next start
        if publisher is not None:
            publisher.stop()  # "offline (stopped)", retained, before the record closes
        bedside.stop()  # alarms and monitor stopped, record flushed and closed
        for s, handler in old.items():
            signal.signal(s, handler)
    log.info("gateway stopped")
    return 0
