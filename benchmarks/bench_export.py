"""Export: a 4-hour session database in all formats (CSV, JSON, PDF report, FHIR bundle).

The session is written by the real SessionRecorder with the export tests' builder
(tests/export_fixtures.py: 1-s numerics, NIBP every 5 min, infusion, alarms, events, scales,
music, discharge, audit) plus 4 hours of 100 Hz pleth, as a live session records it. The export
runs through `kapmonitor.export.runner.run_export` (what `kapmonitor export` and the dialog call)
into a fresh folder each time. In the same run, exporting with the waveform included is timed too.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import REPO_ROOT, Figure, median, min_max

TARGET_S = 3.0


def run(quick: bool) -> list[Figure]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(REPO_ROOT / "tests"))
    from export_fixtures import build_session

    from kapmonitor.export.runner import FORMATS, ExportOptions, run_export

    hours = 1.0 if quick else 4.0
    runs = 2 if quick else 5
    with tempfile.TemporaryDirectory(prefix="kapbench-export-") as tmp:
        db = Path(tmp) / "session.db"
        t0 = time.perf_counter()
        build_session(db, hours=hours, wave_seconds=int(hours * 3600))
        build_s = time.perf_counter() - t0
        db_mb = db.stat().st_size / 1e6
        plain: list[float] = []
        waves: list[float] = []
        sizes = 0
        run_export(db, Path(tmp) / "warm", ExportOptions(formats=FORMATS))  # first PDF loads fonts: not counted
        for i in range(runs):
            t = time.perf_counter()
            result = run_export(db, Path(tmp) / f"out{i}", ExportOptions(formats=FORMATS))
            plain.append(time.perf_counter() - t)
            sizes = sum(p.stat().st_size for p in result.files)
            if i == 0:  # once: not a target, a comparison
                t = time.perf_counter()
                run_export(db, Path(tmp) / f"wave{i}", ExportOptions(formats=FORMATS, waves=True))
                waves.append(time.perf_counter() - t)
    label = f"{hours:g}h"
    return [
        Figure(f"export.all_formats_{label}", median(plain), "s", f"< {TARGET_S:g} s", median(plain) < TARGET_S,
               spread=min_max(plain), runs=len(plain),
               note=f"{', '.join(FORMATS)}; database {db_mb:.0f} MB (built in {build_s:.0f} s), "
                    f"{sizes / 1e6:.1f} MB written"),
        Figure(f"export.with_waves_vs_without_{label}", median(waves) / median(plain), "ratio",
               spread=f"with the pleth waveform: {median(waves):.2f} s", runs=len(waves)),
    ]
