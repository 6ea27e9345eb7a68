"""One export run: snapshot -> (de-identify) -> CSV / JSON / FHIR / PDF -> manifest -> publish.

`run_export` is what the command line and the GUI dialog call. It reports progress through a
callback (fraction 0..1, message), checks `cancel` between steps, and publishes nothing unless
every file was written (see `staging`). The formats and their writers come from the registry
(`kapmonitor.export.formats`); a writer is imported only when its format is asked for, so the
Qt-drawn PDF never loads Qt for the other formats.

Thread-safety: run it on any one thread (the GUI runs it on a worker); it shares nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kapmonitor import __version__
from kapmonitor.export.data import SessionData, load_session
from kapmonitor.export.deid import deidentify, load_keep_free_text, random_salt
from kapmonitor.export.errors import ExportCancelled, ExportError
from kapmonitor.export.formats import ExportJob, Writer, available_formats, export_format, load_writer
from kapmonitor.export.snapshot import take_snapshot
from kapmonitor.export.staging import Staging

log = logging.getLogger(__name__)

FORMATS = available_formats()  # the formats registered at start-up (the default of ExportOptions)
PAPERS = ("a4", "letter")
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class ExportOptions:
    formats: tuple[str, ...] = FORMATS
    deidentify: bool = False
    waves: bool = False
    paper: str = "a4"
    salt: str | None = None  # de-identification salt; random when None
    # free-text fields kept when de-identifying; None: the clinic's deidentification.toml
    keep_free_text: tuple[str, ...] | None = None


@dataclass
class ExportResult:
    out_dir: Path
    files: list[Path] = field(default_factory=list)
    manifest: Path | None = None
    seconds: float = 0.0
    base: str = ""


def parse_formats(text: str) -> tuple[str, ...]:
    """'csv,pdf' or 'all' -> the formats in canonical order. Raises ExportError."""
    known = available_formats()
    wanted = {x.strip().lower() for x in text.split(",") if x.strip()}
    if "all" in wanted:
        return known
    unknown = wanted - set(known)
    if unknown or not wanted:
        raise ExportError(f"unknown export format {', '.join(sorted(unknown)) or text!r} ({', '.join(known)}, all)")
    return tuple(f for f in known if f in wanted)


def base_name(data: SessionData, db_path: Path) -> str:
    """File name stem of every exported file; never contains an identifier when de-identified."""
    if data.deidentified:
        stem = str(data.fields.get("pseudonym") or "anon")
        n = data.fields.get("course_number")
        return f"{stem}-s{n}" if n is not None else stem
    return re.sub(r"[^A-Za-z0-9._-]+", "_", db_path.stem) or "session"


def default_out_dir(db_path: Path, deidentified: bool = False) -> Path:
    """SESSION-export in the current folder; a fixed name when de-identified (the database's
    file name usually holds the pseudonym and the date)."""
    return Path.cwd() / ("deidentified-export" if deidentified else f"{db_path.stem}-export")


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def run_export(
    db_path: Path,
    out_dir: Path | None,
    options: ExportOptions,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> ExportResult:
    """Export one session database. Raises ExportError (one-line message) or ExportCancelled."""
    started = time.perf_counter()
    db_path = Path(db_path)
    if options.paper not in PAPERS:
        raise ExportError(f"unknown paper size {options.paper!r} (a4, letter)")
    formats = tuple(f for f in available_formats() if f in options.formats)
    if not formats:
        raise ExportError("no export format chosen")

    def step(fraction: float, message: str) -> None:
        if cancel is not None and cancel.is_set():
            raise ExportCancelled("export cancelled; nothing was written")
        if progress is not None:
            progress(fraction, message)

    step(0.0, "reading the session")
    # every writer loaded before anything is read: a format that cannot load fails at once
    writers = {name: load_writer(name) for name in formats}
    conn = take_snapshot(db_path)
    try:
        data = load_session(conn, waves=options.waves)
    except Exception as exc:  # noqa: BLE001 - a damaged table must give a one-line message
        raise ExportError(f"{db_path} cannot be read: {exc}") from None
    finally:
        conn.close()
    if options.deidentify:
        try:
            keep = options.keep_free_text
            data = deidentify(data, options.salt or random_salt(),
                              load_keep_free_text() if keep is None else keep)
        except Exception as exc:  # odd data must give one line, never a traceback
            log.debug("de-identification failed", exc_info=True)
            raise ExportError(f"{db_path.name} cannot be de-identified: {exc}") from None
    base = base_name(data, db_path)
    out = Path(out_dir) if out_dir is not None else default_out_dir(db_path, data.deidentified)
    exported_at = dt.datetime.now().astimezone().isoformat(timespec="seconds")

    try:
        return _write_all(data, db_path, out, base, formats, options, writers, exported_at, step, progress, started)
    except ExportError:
        raise
    except Exception as exc:  # never a traceback for the user; details in the debug log
        log.debug("export failed", exc_info=True)
        raise ExportError(f"export of {db_path.name} failed: {type(exc).__name__}: {exc}") from None


def _write_all(
    data: SessionData,
    db_path: Path,
    out: Path,
    base: str,
    formats: tuple[str, ...],
    options: ExportOptions,
    writers: dict[str, Writer],
    exported_at: str,
    step: Callable[[float, str], None],
    progress: Progress | None,
    started: float,
) -> ExportResult:
    with Staging(out) as staging:
        names: list[str] = []
        job = ExportJob(data, staging, base, waves=options.waves, paper=options.paper, exported_at=exported_at)
        for fmt in sorted((export_format(f) for f in formats), key=lambda f: f.step):  # the slowest last
            step(fmt.step, fmt.message)
            names += writers[fmt.name](job)
        step(0.9, "writing the manifest")
        manifest_name = f"{base}_manifest.json"
        entries = [
            {"file": n, "bytes": os.path.getsize(staging.files[n]), "sha256": sha256_of(staging.files[n])}
            for n in names
        ]
        manifest: dict[str, object] = {
            "generator": {"name": "kapmonitor", "version": __version__},
            "deidentified": data.deidentified,
            "simulated": data.simulated,
            "formats": list(formats),
            "files": entries,
        }
        if not data.deidentified:
            manifest["source"] = db_path.name
            manifest["exported_at"] = exported_at
        staging.write_text(manifest_name, json.dumps(manifest, indent=2) + "\n")
        sums_name = f"{base}_SHA256SUMS"
        staging.write_text(sums_name, "".join(f"{e['sha256']}  {e['file']}\n" for e in entries))
        step(0.95, "publishing")
        published = staging.commit([*names, sums_name, manifest_name])
    result = ExportResult(out, published, out / manifest_name, time.perf_counter() - started, base)
    if progress is not None:
        progress(1.0, f"{len(published)} files written to {out}")
    log.info("exported %s to %s in %.2f s", db_path.name, out, result.seconds)
    return result
