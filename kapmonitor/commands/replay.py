"""`kapmonitor replay CAPTURE --driver NAME [--speed N|max] --session OUT.db`.

Runs a capture through the same headless pipeline as live monitoring (driver → dispatcher →
alarm engine and recorder) on the capture's own clock, so the same capture always yields the
same session rows.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import time
from pathlib import Path

from kapmonitor.acquisition.dispatcher import Listener
from kapmonitor.commands import CommandError
from kapmonitor.drivers.base import DriverOptions
from kapmonitor.drivers.errors import UnknownDriverError
from kapmonitor.drivers.registry import decodable_drivers
from kapmonitor.drivers.replay import CaptureError, ReplayDriver
from kapmonitor.model.clock import ManualClock

log = logging.getLogger(__name__)


def parse_speed(text: str) -> float:
    if text == "max":
        return math.inf
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"speed must be a number or 'max', not {text!r}") from None
    if not value > 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"speed must be positive, not {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("capture", type=Path, help="raw capture file or session .db with raw frames")
    parser.add_argument("--driver", required=True, help=f"protocol of the capture: {', '.join(decodable_drivers())}")
    parser.add_argument("--speed", type=parse_speed, default=math.inf, help="N times real time, or 'max' (default)")
    parser.add_argument("--session", type=Path, required=True, help="session database to write (must not exist)")


def replay_to_session(capture: Path, driver_name: str, session: Path, speed: float = math.inf) -> ReplayDriver:
    """Replay `capture` into a new session database; returns the finished driver (for its stats)."""
    from kapmonitor.pipeline import MonitoringPipeline

    if session.exists():
        raise CommandError(f"session {session} already exists; choose a new file")
    if not session.parent.is_dir():
        raise CommandError(f"cannot write session {session}: no such directory")
    clock = ManualClock()
    options = DriverOptions(extra={"speed": speed})
    try:
        driver = ReplayDriver(capture, driver_name, options, clock)
        start = driver.start_time
    except UnknownDriverError as exc:
        raise CommandError(str(exc)) from None
    except CaptureError as exc:
        raise CommandError(str(exc)) from None
    except ImportError as exc:
        raise CommandError(f"the decoder for {driver_name} is not available: {exc}") from None
    if start is None:
        raise CommandError(f"nothing decodable in {capture} for driver {driver_name}")
    clock.advance_to(start)
    listeners: list[Listener] = []
    engine = None
    try:
        from kapmonitor.alarms.engine import AlarmEngine
        from kapmonitor.alarms.profile import default_profile

        engine = AlarmEngine(default_profile(), clock)
        listeners.append(engine)
    except ImportError:
        log.info("alarm engine not available; replaying without alarms")
    meta = {"replay_of": str(capture), "replay_driver": driver_name}
    pipeline = MonitoringPipeline(driver, session, meta, extra_listeners=listeners)
    if engine is not None:
        from kapmonitor.alarms.log import AlarmLogWriter

        engine.add_listener(AlarmLogWriter(pipeline.recorder))
        engine.session_active(True)
        driver.on_advance.append(lambda t: engine.tick(t))
    try:
        pipeline.start()
    except Exception as exc:
        raise CommandError(f"cannot write session {session}: {exc}") from exc
    try:
        while not driver.finished and pipeline.reader.alive:
            time.sleep(0.01)
    finally:
        pipeline.reader.stop()
        if engine is not None:
            engine.tick(clock.now())
        pipeline.stop()
    return driver


def run(args: argparse.Namespace) -> int:
    driver = replay_to_session(args.capture, args.driver, args.session, args.speed)
    s = driver.stats
    print(
        f"replayed {args.capture} into {args.session}: frames {s.frames}, checksum errors {s.checksum_errors}, "
        f"length errors {s.length_errors}, resyncs {s.resyncs}",
        file=sys.stderr,
    )
    return 0
