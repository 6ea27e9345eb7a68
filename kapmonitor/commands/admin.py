"""`kapmonitor admin`: the administrator's steps, outside the bedside program.

`admin set-pin --who NAME` sets the clinic PIN that protects the alarm profile (the bedside
program never lets the first person to open the editor choose it). Changing it asks for the
current PIN; `--reset` (forgotten PIN, PIN file deleted or damaged) makes a new machine key, so
the profile must be signed off again. `admin status` says whether a PIN is set and whether the
clinic profile is the signed-off one. `admin central-ack on|off --who NAME` (after the PIN) lets
chairs started with --allow-central-ack accept acknowledgements from the central station. Every
step is written to admin_audit.log in the config folder.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from kapmonitor.commands import CommandError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="admin_command", metavar="STEP", required=True)
    sp = sub.add_parser("set-pin", help="set or change the clinic PIN (protects the alarm profile)")
    sp.add_argument("--who", required=True, help="the administrator's name (written to the audit log)")
    sp.add_argument("--reset", action="store_true",
                    help="set a new PIN without the old one (new machine key; the profile must be signed off again)")
    sp.add_argument("--pin-stdin", action="store_true",
                    help="read the PINs from standard input, one a line (current PIN first when changing)")
    sub.add_parser("status", help="is a PIN set, is the clinic profile signed off")
    ca = sub.add_parser("central-ack",
                        help="let the central station acknowledge this computer's alarms (needs the PIN)")
    ca.add_argument("state", choices=["on", "off"])
    ca.add_argument("--who", required=True, help="the administrator's name (written to the audit log)")
    ca.add_argument("--pin-stdin", action="store_true", help="read the PIN from standard input")


def _ask(prompt: str, from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise CommandError("standard input ended before every PIN was read")
        return line.strip()
    return getpass.getpass(prompt)


def run(args: argparse.Namespace) -> int:
    from kapmonitor.alarms.pin import PinError, PinStore
    from kapmonitor.alarms.profile import load_clinic_profile

    store = PinStore()
    if args.admin_command == "status":
        print(f"clinic PIN: {store.status()}")
        profile, warning = load_clinic_profile()
        print(f"alarm profile: \u201c{profile.name}\u201d v{profile.version} ({profile.source}), hash {profile.digest}")
        print(f"sign-off: {warning or 'the profile in force is the signed-off one (or the built-in default)'}")
        from kapmonitor.publish.ack_policy import describe

        print(f"acknowledgement from the central station: {describe(store)}")
        return 0
    if args.admin_command == "central-ack":
        return _central_ack(store, args)
    try:
        current = None
        if not args.reset and store.is_set():
            current = _ask("Current PIN: ", args.pin_stdin)
    except PinError as exc:
        raise CommandError(f"{exc}; use --reset to set a new PIN (logged)") from exc
    pin = _ask("New PIN (digits): ", args.pin_stdin)
    if not args.pin_stdin and getpass.getpass("Repeat the new PIN: ") != pin:
        raise CommandError("the two PINs differ; nothing changed")
    try:
        store.set_pin(pin, args.who, current_pin=current, reset=args.reset)
    except PinError as exc:
        raise CommandError(str(exc)) from exc
    print(f"clinic PIN set by {args.who} ({store.path}); logged in {store.audit_path}")
    if args.reset:
        print("new machine key: sign the clinic alarm profile off again (Alarms > Edit the clinic alarm profile)")
    return 0


def _central_ack(store: object, args: argparse.Namespace) -> int:
    """Switch acknowledgement from the central on or off, after the clinic PIN (logged)."""
    from kapmonitor.alarms.pin import PinError, PinStore
    from kapmonitor.publish.ack_policy import set_central_ack

    assert isinstance(store, PinStore)
    if not args.who.strip():
        raise CommandError("say who changes the setting (--who)")
    try:
        if not store.verify(_ask("Clinic PIN: ", args.pin_stdin), args.who, f"central acknowledgement {args.state}"):
            raise CommandError("the PIN is wrong; nothing changed (logged)")
        set_central_ack(store, args.state == "on", args.who.strip())
    except PinError as exc:
        raise CommandError(str(exc)) from exc
    print(f"acknowledgement from the central station {'enabled' if args.state == 'on' else 'switched off'} "
          f"by {args.who}; logged in {store.audit_path}")
    return 0
