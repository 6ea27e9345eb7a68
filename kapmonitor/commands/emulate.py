"""`kapmonitor emulate ge-s5|philips-intellivue|hl7|masimo-ascii1|ivy-450c --port PATH [--scenario S] [--speed N]`.

`masimo-ascii1 --sensor on|off|none|cycle` plays sensor-off and no-sensor sequences.
`hl7` talks on the network: `--port tcp:HOST:PORT` sends to a listening kapmonitor,
`--port listen:HOST:PORT` waits for kapmonitor to connect; `--dialect` picks the vendor's codes.

Plays the monitor's side of a protocol on a serial port, driven by the simulator's physiology:
for trying a set-up without a patient (a null-modem cable between two ports, or a
pseudo-terminal pair from `socat -d -d pty,raw,echo=0 pty,raw,echo=0`). Runs until Ctrl-C.

Every emulator module exposes
`run_emulator(port_url: str, scenario: str, speed: float, seed: int, stop: threading.Event) -> None`.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import threading

from kapmonitor.commands import CommandError
from kapmonitor.drivers.simulator import SCENARIOS

log = logging.getLogger(__name__)

EMULATORS: dict[str, str] = {
    "ge-s5": "kapmonitor.drivers.ge_s5.emulator",
    "philips-intellivue": "kapmonitor.drivers.intellivue.emulator",
    "hl7": "kapmonitor.drivers.hl7.emulator",
    "masimo-ascii1": "kapmonitor.drivers.masimo.emulator",
    "ivy-450c": "kapmonitor.drivers.ivy.emulator",
}
NETWORK_EMULATORS = frozenset({"hl7"})  # --port tcp:HOST:PORT (connect) or listen:HOST:PORT


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number: {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("monitor", help=f"which monitor to play: {', '.join(EMULATORS)}")
    parser.add_argument("--port", required=True, help="serial port or pseudo-terminal to talk on")
    parser.add_argument("--scenario", default="normal", help=f"patient scenario: {', '.join(SCENARIOS)}")
    parser.add_argument("--speed", type=_positive, default=1.0, help="time acceleration (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the simulated patient")
    parser.add_argument("--dialect", default=None,
                        help="hl7 only: vendor dialect mdc (default), mindray, philips or nihon-kohden")
    parser.add_argument("--sensor", default=None,
                        help="masimo-ascii1 only: on (default), off (sensor off the patient), none (no sensor) "
                             "or cycle (30 s on, 10 s off, 30 s on, 10 s no sensor, repeating)")


def run(args: argparse.Namespace) -> int:
    module_name = EMULATORS.get(args.monitor)
    if module_name is None:
        raise CommandError(f"unknown monitor {args.monitor!r} (known: {', '.join(EMULATORS)})")
    if args.scenario not in SCENARIOS:
        raise CommandError(f"unknown scenario {args.scenario!r} (known: {', '.join(SCENARIOS)})")
    kwargs: dict[str, object] = {}
    if args.monitor in NETWORK_EMULATORS:
        from kapmonitor.drivers.hl7.emulator import DIALECTS

        if not args.port.startswith(("tcp:", "listen:")):
            raise CommandError(f"bad port {args.port!r}: use tcp:HOST:PORT (kapmonitor listens there) "
                               "or listen:HOST:PORT (kapmonitor connects)")
        if args.dialect is not None and args.dialect not in DIALECTS:
            raise CommandError(f"unknown dialect {args.dialect!r} (known: {', '.join(DIALECTS)})")
        kwargs["dialect"] = args.dialect or "mdc"
    elif args.dialect is not None:
        raise CommandError(f"--dialect is only for hl7, not {args.monitor}")
    if getattr(args, "sensor", None) is not None:
        from kapmonitor.drivers.masimo.emulator import SENSOR_MODES

        if args.monitor != "masimo-ascii1":
            raise CommandError(f"--sensor is only for masimo-ascii1, not {args.monitor}")
        if args.sensor not in SENSOR_MODES:
            raise CommandError(f"unknown sensor mode {args.sensor!r} (known: {', '.join(SENSOR_MODES)})")
        kwargs["sensor"] = args.sensor
    if args.monitor not in NETWORK_EMULATORS and "://" not in args.port and not os.path.exists(args.port):
        raise CommandError(f"cannot open port {args.port}: no such device")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise CommandError(f"the {args.monitor} emulator is not available: {exc}") from None
    stop = threading.Event()
    thread = threading.Thread(
        target=module.run_emulator, args=(args.port, args.scenario, args.speed, args.seed, stop), kwargs=kwargs,
        name=f"emulator-{args.monitor}", daemon=True,
    )
    print(f"emulating {args.monitor} on {args.port} (scenario {args.scenario}, speed {args.speed:g}); "
          "Ctrl-C to stop", file=sys.stderr)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        thread.join(5.0)
    return 0
