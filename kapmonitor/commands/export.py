"""`kapmonitor export SESSION.db --format csv|json|pdf|fhir|all [-o DIR] [--deidentify] [--waves] [--paper a4|letter]`

Exports one session database from a read-only snapshot (a session still being recorded exports
consistently; the database is never modified). Prints the written files; any bad input is one
line on stderr with exit code 2 and nothing written.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from kapmonitor.export.formats import available_formats

    parser.add_argument("session", type=Path, metavar="SESSION.db", help="session database to export")
    parser.add_argument(
        "--format",
        "-f",
        default="all",
        metavar="FORMAT",
        help=f"{', '.join(available_formats())}, or all (several separated by commas; default all)",
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="DIR",
        help="output folder (default: SESSION-export, or deidentified-export, in the current folder)",
    )
    parser.add_argument(
        "--deidentify", action="store_true", help="hash the pseudonym, drop staff and free text, shift dates to day 0"
    )
    parser.add_argument(
        "--salt",
        default=None,
        help="secret salt for the pseudonym hash (default: $KAPMONITOR_DEID_SALT, else random); "
        "the same salt links the sessions of one patient",
    )
    parser.add_argument("--waves", action="store_true", help="include waveforms (pleth) in CSV and JSON")
    parser.add_argument("--paper", choices=("a4", "letter"), default="a4", help="PDF paper size (default a4)")
    parser.add_argument("--quiet", "-q", action="store_true", help="print nothing on success")


def run(args: argparse.Namespace) -> int:
    from kapmonitor.commands import CommandError
    from kapmonitor.export import ExportError, ExportOptions, parse_formats, run_export

    try:
        formats = parse_formats(args.format)
        if args.salt is not None and not args.deidentify:
            raise ExportError("--salt only makes sense with --deidentify")
        salt = args.salt or os.environ.get("KAPMONITOR_DEID_SALT") or None
        options = ExportOptions(
            formats=formats, deidentify=args.deidentify, waves=args.waves, paper=args.paper, salt=salt
        )
        result = run_export(args.session, args.output, options)
    except ExportError as exc:
        raise CommandError(str(exc)) from None
    if not args.quiet:
        for path in result.files:
            print(path)
        print(f"{len(result.files)} files in {result.out_dir} ({result.seconds:.2f} s)", file=sys.stderr)
    return 0
