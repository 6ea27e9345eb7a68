"""Decode speed of the Philips IntelliVue decoder on one hour of emulated monitor output.

Generates the bytes a monitor sends in a polled session (numerics each second, pleth every
256 ms; `record_session`, no waiting), then decodes them in one pass and in 4 KiB chunks as a
serial port would deliver them. Run: `.venv/bin/python benchmarks/intellivue_decode.py [seconds]`.
"""

from __future__ import annotations

import sys
import time

from kapmonitor.drivers.intellivue.decoder import IntelliVueDecoder
from kapmonitor.drivers.intellivue.emulator import record_session
from kapmonitor.model.samples import VitalSample, WaveChunk


def main() -> int:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3600.0
    t0 = time.perf_counter()
    data = record_session(seconds, seed=1)
    gen = time.perf_counter() - t0
    print(f"generated {seconds:.0f} s of monitor output: {len(data) / 1e6:.2f} MB in {gen:.1f} s")
    for label, chunk in (("one pass", len(data)), ("4 KiB chunks", 4096)):
        best = float("inf")
        for _ in range(3):
            dec = IntelliVueDecoder()
            t0 = time.perf_counter()
            items = []
            for i in range(0, len(data), chunk):
                items += dec.feed(data[i : i + chunk], 0.0)
            best = min(best, time.perf_counter() - t0)
        vitals = sum(isinstance(i, VitalSample) for i in items)
        waves = sum(isinstance(i, WaveChunk) for i in items)
        print(
            f"{label}: {dec.stats.frames} frames, {vitals} values, {waves} wave chunks in {best:.3f} s "
            f"({len(data) / best / 1e6:.1f} MB/s, {seconds / best:.0f}x real time)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
