"""Decode speed of the GE S/5 decoder on the real 30-minute CARESCAPE capture (db00).

Decodes the capture in one pass and in 4 KiB chunks as a serial port would deliver them, best
of five. Run: `.venv/bin/python benchmarks/ge_s5_decode.py [CAPTURE]`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from kapmonitor.drivers.ge_s5.decoder import GeS5Decoder
from kapmonitor.model.samples import Item, VitalSample, WaveChunk

DB00 = Path("/work/shared/monitor-protocols/captures/ge_s5_carescape_db00.raw")


def main() -> int:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DB00
    data = path.read_bytes()
    for label, chunk in (("one pass", len(data)), ("4 KiB chunks", 4096)):
        best = float("inf")
        items: list[Item] = []
        dec = GeS5Decoder()
        for _ in range(5):
            dec = GeS5Decoder()
            t0 = time.perf_counter()
            items = []
            for i in range(0, len(data), chunk):
                items += dec.feed(data[i : i + chunk], 0.0)
            items += dec.finish()
            best = min(best, time.perf_counter() - t0)
        vitals = sum(isinstance(i, VitalSample) for i in items)
        waves = sum(isinstance(i, WaveChunk) for i in items)
        span = (dec.last_time or 0.0) - (dec.first_time or 0.0)
        print(
            f"{label}: {dec.stats.frames} frames, {vitals} values, {waves} wave chunks in {best * 1000:.0f} ms "
            f"({len(data) / best / 1e6:.1f} MB/s, {span / best:.0f}x real time)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
