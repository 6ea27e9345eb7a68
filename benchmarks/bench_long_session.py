"""Long session: 12 simulated hours through the full pipeline at maximum speed.

The real `MonitoringPipeline` (simulated driver, reader thread, dispatcher, alarm engine with the
default profile and its log writer, trend store, session recorder) runs on a `ManualClock` that this
loop moves on one simulated minute at a time, as soon as the reader has delivered the previous one;
every 10 simulated minutes the recorder is flushed (its queue empty) and the process's resident set
size and the database size are sampled. After a warm-up hour the growth of RSS is reported, with
its slope over the steady state (least squares, MB per simulated hour).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benchmarks.common import Figure, rss_mb

GROWTH_TARGET_MB = 50.0
SLOPE_TARGET_MB_H = 1.0  # "flat": under 1 MB per hour (12 MB over a 12-hour day)
DB_TARGET_MB_H = 1.5  # the session record, every sample kept (issue 17, target 4)


def _slope(xs: list[float], ys: list[float]) -> float:
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx if sxx else 0.0


def _db_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))  # with -wal and -shm


def _pleth_counts(db: Path, minutes: int) -> tuple[int, int]:
    """(pleth samples read back from the record, pleth samples of the simulated time): none dropped
    (the simulator's first chunk starts at the start, so the record holds one chunk more)."""
    from kapmonitor.recording.reader import RecordReader

    with RecordReader.open(db) as reader:
        stored = sum(len(r["data"]) // 4 for r in reader.rows("waves", "t0"))
    rate = 100.0  # the simulator's pleth rate
    return stored, round(minutes * 60 * rate)


def run(quick: bool) -> list[Figure]:
    from kapmonitor.alarms.profile import default_profile
    from kapmonitor.drivers.base import DriverOptions
    from kapmonitor.drivers.registry import create_driver
    from kapmonitor.model.clock import ManualClock
    from kapmonitor.pipeline import MonitoringPipeline

    hours = 1.5 if quick else 12.0
    warmup_h = 0.5 if quick else 1.0
    tmp = tempfile.TemporaryDirectory(prefix="kapbench-long-")
    db = Path(tmp.name) / "session.db"
    start = 1_767_258_000.0  # 2026-01-01 09:00 UTC
    clock = ManualClock(start)
    driver = create_driver("simulated", DriverOptions(scenario="normal", seed=11), clock)
    pipeline = MonitoringPipeline(driver, db, alarm_profile=default_profile())
    rss0 = rss_mb()
    pipeline.start()
    samples: list[tuple[float, float, int]] = []  # (simulated hours, RSS MB, db bytes)
    t0 = time.perf_counter()
    minutes = int(hours * 60)
    stalled = False
    for minute in range(1, minutes + 1):
        target = start + minute * 60.0
        clock.advance_to(target)
        deadline = time.monotonic() + 30.0
        while pipeline.trends.last_time < target - 1.0:
            if time.monotonic() > deadline:
                stalled = True
                break
            time.sleep(0.0005)
        if stalled:
            break
        if minute % 10 == 0:
            pipeline.recorder.flush(30.0)
            samples.append((minute / 60.0, rss_mb(), _db_bytes(db)))
    wall = time.perf_counter() - t0
    pipeline.stop()
    final_db = _db_bytes(db)
    failure = pipeline.recorder.failure
    wave_samples, fed_samples = _pleth_counts(db, minutes)
    tmp.cleanup()

    done_h = samples[-1][0] if samples else 0.0
    db_h = final_db / 1e6 / done_h if done_h else None
    steady = [(h, r) for h, r, _ in samples if h >= warmup_h]
    after_warmup = steady[0][1] if steady else float("nan")
    growth = samples[-1][1] - after_warmup if steady else float("nan")
    slope = _slope([h for h, _ in steady], [r for _, r in steady]) if len(steady) >= 3 else float("nan")
    peak = max(r for _, r, _ in samples) if samples else float("nan")
    note = (f"{done_h:g} simulated h in {wall:.0f} s ({done_h * 3600 / wall:.0f}\u00d7 real time); RSS "
            f"{rss0:.0f} MB before start, {after_warmup:.0f} MB after {warmup_h:g} h warm-up, "
            f"{samples[-1][1]:.0f} MB at the end, peak {peak:.0f} MB" if samples else "no samples")
    if stalled:
        note += "; the pipeline stalled (reader did not keep up within 30 s)"
    if failure:
        note += f"; recorder failure: {failure}"
    ok = not stalled and failure is None and wave_samples >= fed_samples
    if wave_samples < fed_samples:
        note += f"; pleth samples lost: {fed_samples - wave_samples}"
    rss_series = [round(r, 1) for _, r, _ in samples]
    return [
        Figure("long_session.rss_growth_after_warmup", growth, "MB", f"< {GROWTH_TARGET_MB:g} MB",
               ok and growth < GROWTH_TARGET_MB,
               spread=f"{samples[-1][0] - warmup_h:g} h steady state" if samples else "",
               runs=len(steady), note=note, extra={"rss_mb_every_10_min": rss_series}),
        Figure("long_session.rss_slope", slope, "MB/h", f"< {SLOPE_TARGET_MB_H:g} MB/h (flat)",
               ok and abs(slope) < SLOPE_TARGET_MB_H, spread="least squares over the steady state",
               runs=len(steady)),
        Figure("long_session.db_mb_per_hour", db_h, "MB/h", f"\u2264 {DB_TARGET_MB_H:g} MB/h",
               ok and db_h is not None and db_h <= DB_TARGET_MB_H,
               spread=f"{final_db / 1e6:.1f} MB for {done_h:g} h (samples, 100 Hz pleth, alarm log; "
                      f"{wave_samples} pleth samples read back for {fed_samples} simulated)", runs=1),
        Figure("long_session.x_realtime", done_h * 3600 / wall if wall else None, "\u00d7 real time",
               spread="whole pipeline at maximum speed, recorder included", runs=1),
    ]
