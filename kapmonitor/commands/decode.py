"""`kapmonitor decode CAPTURE --driver NAME [--format csv|jsonl] [--waves]`.

Decodes the bytes a monitor sent (a raw capture, or a session database's received raw frames)
with the driver's pure decoder and writes one row per value to stdout, timed by the monitor's
clock. Damaged frames are skipped and counted; the summary goes to stderr.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from kapmonitor.commands import CommandError
from kapmonitor.drivers.errors import UnknownDriverError
from kapmonitor.drivers.registry import create_decoder, decodable_drivers
from kapmonitor.drivers.replay import CaptureError, load_capture
from kapmonitor.model.parameters import PARAMETER_INFO, Parameter
from kapmonitor.model.samples import DeviceNotice, Item, VitalSample, WaveChunk

CSV_COLUMNS = ("time", "parameter", "value", "unit", "status")
_UNITS: dict[Parameter, str] = {p: info.display_unit for p, info in PARAMETER_INFO.items()}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("capture", type=Path, help="raw capture file (bytes from the monitor; for hl7 one or more "
                        "messages, MLLP-framed or bare segments ending in CR/CRLF) or session .db")
    parser.add_argument("--driver", required=True, help=f"protocol of the capture: {', '.join(decodable_drivers())}")
    parser.add_argument("--format", choices=("csv", "jsonl"), default="csv", help="output format (default csv)")
    parser.add_argument("--waves", action="store_true", help="also write the pleth waveform samples")


def iso_time(t: float) -> str:
    """ISO 8601 UTC with Z; milliseconds only when the time has a fraction."""
    dt = datetime.fromtimestamp(t, UTC)
    spec = "seconds" if float(t).is_integer() else "milliseconds"
    return dt.isoformat(timespec=spec).replace("+00:00", "Z")


def format_value(value: float | None, digits: int = 10) -> str:
    if value is None or math.isnan(value):
        return ""
    return f"{value:.{digits}g}"


def decode_items(capture: Path, driver: str) -> tuple[list[Item], object]:
    """All items of a capture and the decoder's stats. Raises CommandError."""
    try:
        decoder = create_decoder(driver)
    except UnknownDriverError as exc:
        raise CommandError(str(exc)) from None
    except ImportError as exc:
        raise CommandError(f"the decoder for {driver} is not available: {exc}") from None
    try:
        chunks = load_capture(capture)  # a session database is read-only and left without -wal/-shm
    except CaptureError as exc:
        raise CommandError(str(exc)) from None
    items: list[Item] = []
    try:
        for chunk in chunks:
            items.extend(decoder.feed(chunk, 0.0))
        items.extend(decoder.finish())
    except Exception as exc:
        raise CommandError(f"decoding {capture} failed: {exc}") from exc
    return items, decoder.stats


def write_items(items: list[Item], out: TextIO, fmt: str, waves: bool) -> int:
    """Write the rows; returns how many were written."""
    rows = 0
    writer = csv.writer(out, lineterminator="\n") if fmt == "csv" else None
    if writer is not None:
        writer.writerow(CSV_COLUMNS)
    for item in items:
        if isinstance(item, VitalSample):
            unit = _UNITS.get(item.parameter, "")
            if writer is not None:
                writer.writerow((iso_time(item.time), item.parameter.value, format_value(item.value), unit,
                                 item.status.value))
            else:
                record: dict[str, object] = {
                    "time": iso_time(item.time), "parameter": item.parameter.value,
                    "value": item.value, "unit": unit, "status": item.status.value,
                }
                if item.measurement_id:
                    record["measurement_id"] = item.measurement_id
                out.write(json.dumps(record) + "\n")
            rows += 1
        elif waves and isinstance(item, WaveChunk):
            unit = _UNITS.get(item.parameter, "")
            values = item.values.tolist()
            if writer is not None:
                step = 1.0 / item.rate_hz
                for k, v in enumerate(values):
                    ok = not math.isnan(v)
                    writer.writerow((iso_time(round(item.time + k * step, 3)), item.parameter.value,
                                     format_value(v, 6), unit, "ok" if ok else "invalid"))
                rows += len(values)
            else:
                out.write(json.dumps({
                    "time": iso_time(item.time), "parameter": item.parameter.value, "rate_hz": item.rate_hz,
                    "unit": unit, "values": [None if math.isnan(v) else float(f"{v:.6g}") for v in values],
                }) + "\n")
                rows += 1
    return rows


def summary(stats: object, items: list[Item]) -> str:
    times = [i.time for i in items if isinstance(i, VitalSample | WaveChunk)]
    parts = [
        f"frames decoded: {getattr(stats, 'frames', 0)}",
        f"checksum errors: {getattr(stats, 'checksum_errors', 0)}",
        f"length errors: {getattr(stats, 'length_errors', 0)}",
        f"resyncs: {getattr(stats, 'resyncs', 0)}",
    ]
    if times:
        t0, t1 = min(times), max(times)
        parts.append(f"time span: {iso_time(t0)} to {iso_time(t1)} ({t1 - t0:.0f} s)")
    else:
        parts.append("time span: none (no values decoded)")
    return ", ".join(parts)


def refusals(items: list[Item]) -> list[str]:
    """Why a capture gave no values: the decoder's notices that it refused the input's format."""
    if any(isinstance(i, VitalSample) for i in items):
        return []
    return list(dict.fromkeys(i.message for i in items if isinstance(i, DeviceNotice) and i.details.get("refused")))


def run(args: argparse.Namespace) -> int:
    items, stats = decode_items(args.capture, args.driver)
    refused = refusals(items)
    if refused:
        raise CommandError(f"{args.capture} is not a {args.driver} capture: " + "; ".join(refused))
    try:
        write_items(items, sys.stdout, args.format, args.waves)
        sys.stdout.flush()
    except BrokenPipeError:  # `| head`: the reader went away, which is fine
        return 0
    print(summary(stats, items), file=sys.stderr)
    return 0
