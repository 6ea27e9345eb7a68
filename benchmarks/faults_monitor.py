"""Monitor-side faults of the fault suite: mutated frames, cable outages, a monitor reboot, and names
planted in a record that must not survive de-identification.

- mutated frames: real GE S/5 frames (the db00 capture) and IntelliVue frames (the emulator's encoder)
  mutated at random (bytes flipped, inserted, dropped, frames cut or joined) and fed to the decoders:
  no exception, and no single feed slower than 1 s;
- cable outages: the GE emulator on a socat PTY pair, the real reader, alarm engine and recorder; the
  cable is pulled for 12 s (past the 10-s link-lost delay) and put back, N times: every outage gives one
  `raised` row of the link-lost alarm, and values return within 5 s of the cable;
- monitor reboot: the emulated monitor stops for 3 s and comes back knowing no subscription: values
  return within 5 s of its return, with the driver's own settings;
- planted names: a recorded session with names in every text column; no name in any de-identified output.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.common import REPO_ROOT, Figure, shared_dir

GE_CAPTURE = "monitor-protocols/captures/ge_s5_carescape_db00.raw"
FEED_LIMIT_S = 1.0
RELINK_TARGET_S = 5.0


def _wait(condition: Callable[[], bool], seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


# -- mutated frames ------------------------------------------------------------------------------
def _mutate(frame: bytes, other: bytes, rng: random.Random) -> bytes:
    data = bytearray(frame)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(6)
        i = rng.randrange(len(data) + 1)
        if op == 0 and data:
            data[min(i, len(data) - 1)] = rng.randrange(256)
        elif op == 1:
            data[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif op == 2 and data:
            del data[i:i + rng.randint(1, 8)]
        elif op == 3:
            data = data[:i]
        elif op == 4:
            data += other[: rng.randint(0, len(other))]
        else:
            data[i:i] = rng.choice((b"\x7e", b"\x7d", b"\xc0", b"\xc1", b"\x7d\xc1"))
    return bytes(data)


def _frames(data: bytes, end: bytes) -> list[bytes]:
    parts = [p + end for p in data.split(end) if p]
    return [p for p in parts if len(p) > 4]


def mutated_frames(per_decoder: int, rng: random.Random) -> list[Figure]:
    from kapmonitor.drivers.intellivue.emulator import record_session
    from kapmonitor.drivers.registry import create_decoder

    figures = []
    capture = shared_dir() / GE_CAPTURE
    sources = {
        "ge-s5": _frames(capture.read_bytes(), b"\x7e") if capture.is_file() else [],
        "philips-intellivue": _frames(record_session(120.0, seed=3), b"\xc1"),
    }
    for driver, frames in sources.items():
        if not frames:
            figures.append(Figure(f"faults.mutated.{driver}.crashes", None, "crashes", "0", None,
                                  note=f"no frames to mutate ({capture} missing)"))
            continue
        decoder = create_decoder(driver)
        crashes = 0
        slowest = 0.0
        first_error = ""
        for n in range(per_decoder):
            chunk = _mutate(rng.choice(frames), rng.choice(frames), rng)
            t0 = time.perf_counter()
            try:
                decoder.feed(chunk, 1_767_225_600.0 + n)
            except Exception as exc:  # noqa: BLE001 - counting exactly these
                crashes += 1
                first_error = first_error or f"{type(exc).__name__}: {exc}"
                decoder = create_decoder(driver)
            slowest = max(slowest, time.perf_counter() - t0)
        figures.append(Figure(f"faults.mutated.{driver}.crashes", float(crashes), "crashes", "0", crashes == 0,
                              f"slowest feed {slowest * 1000:.1f} ms", per_decoder,
                              first_error or f"{per_decoder} mutated frames from {len(frames)} real ones"))
        figures.append(Figure(f"faults.mutated.{driver}.slowest_feed", slowest, "s", f"< {FEED_LIMIT_S:g} (no hang)",
                              slowest < FEED_LIMIT_S, "", per_decoder))
    return figures


# -- cable outages and a monitor reboot over a real PTY ----------------------------------------------
class _Cable:
    """Two pseudo-terminals joined by socat: pulling the cable removes both ends."""

    def __init__(self, folder: Path) -> None:
        if shutil.which("socat") is None:
            raise RuntimeError("socat is not installed (scripts/dev.sh test installs it)")
        self.monitor_end = str(folder / "monitor")
        self.pc_end = str(folder / "pc")
        self._proc: subprocess.Popen[bytes] | None = None
        self.plug()

    def plug(self) -> None:
        self._proc = subprocess.Popen(
            ["socat", f"pty,raw,echo=0,ignoreeof,link={self.monitor_end}",
             f"pty,raw,echo=0,ignoreeof,link={self.pc_end}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait(lambda: Path(self.monitor_end).exists() and Path(self.pc_end).exists(), 5.0)

    def pull(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(5)
            self._proc = None
        _wait(lambda: not Path(self.pc_end).exists(), 5.0)


class _Monitor:
    """The GE S/5 emulator in a thread (a monitor that can be switched off and on)."""

    def __init__(self, port: str, seed: int) -> None:
        from kapmonitor.drivers.ge_s5.emulator import run_emulator

        self.stop = threading.Event()
        self.thread = threading.Thread(target=run_emulator, args=(port, "normal", 1.0, seed, self.stop), daemon=True)
        self.thread.start()

    def off(self) -> None:
        self.stop.set()
        self.thread.join(5)


class _ValueCounter:
    """A dispatcher listener counting valid values (called in the reader thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.values = 0

    def on_items(self, items: object) -> None:
        from kapmonitor.model.samples import VitalSample

        n = sum(1 for i in items if isinstance(i, VitalSample) and i.valid)  # type: ignore[attr-defined]
        with self._lock:
            self.values += n

    def count(self) -> int:
        with self._lock:
            return self.values


class _Bedside:
    """The real acquisition path: GE driver with its own settings, reader, alarm engine, recorder."""

    def __init__(self, port: str, record: Path) -> None:
        from kapmonitor.alarms.profile import default_profile
        from kapmonitor.alarms.supervisor import AlarmSupervisor
        from kapmonitor.drivers.base import DriverOptions
        from kapmonitor.drivers.ge_s5.driver import GeS5Driver
        from kapmonitor.model.clock import RealClock
        from kapmonitor.pipeline import MonitoringPipeline

        self.counter = _ValueCounter()
        driver = GeS5Driver(DriverOptions(port=port), RealClock())
        self.pipeline = MonitoringPipeline(driver, record, extra_listeners=[self.counter],
                                           alarm_profile=default_profile())
        self.pipeline.start()
        assert self.pipeline.alarms is not None
        self.supervisor = AlarmSupervisor(self.pipeline.alarms)
        self.supervisor.start()

    def count(self) -> int:
        return self.counter.count()

    def stop(self) -> None:
        self.supervisor.stop()
        self.pipeline.stop()


def _spread(values: list[float]) -> str:
    return f"min {min(values):.2f} / max {max(values):.2f}" if values else ""


def cable_outages(runs: int, folder: Path) -> list[Figure]:
    cable = _Cable(folder)
    monitor = _Monitor(cable.monitor_end, seed=1)
    record = folder / "outages.db"
    bedside = _Bedside(cable.pc_end, record)
    relinks: list[float] = []
    notes: list[str] = []
    try:
        if not _wait(lambda: bedside.count() > 0, 15.0):
            notes.append("no values before the first outage")
        for _ in range(runs):
            cable.pull()
            time.sleep(12.0)
            before = bedside.count()
            cable.plug()
            back = time.monotonic()
            if _wait(lambda b=before: bedside.count() > b, 20.0):
                relinks.append(time.monotonic() - back)
            else:
                notes.append("values did not return within 20 s")
    finally:
        bedside.stop()
        monitor.off()
        cable.pull()
    with sqlite3.connect(record) as conn:
        raised = conn.execute("SELECT count(*) FROM alarm_log WHERE alarm_id = 'link-lost' AND event = 'raised'"
                              ).fetchone()[0]
    worst = max(relinks) if relinks else None
    return [
        Figure("faults.outage.raised_rows", float(raised), f"of {runs} outages", "one raised row per outage",
               raised == runs, "", runs, "; ".join(notes)),
        Figure("faults.outage.relink", worst, "s", f"\u2264 {RELINK_TARGET_S:g} after the cable returns",
               worst is not None and worst <= RELINK_TARGET_S and len(relinks) == runs, _spread(relinks), runs),
    ]


def monitor_reboot(runs: int, folder: Path) -> list[Figure]:
    cable = _Cable(folder)
    monitor = _Monitor(cable.monitor_end, seed=1)
    bedside = _Bedside(cable.pc_end, folder / "reboot.db")
    relinks: list[float] = []
    try:
        _wait(lambda: bedside.count() > 0, 15.0)
        for run in range(runs):
            count = bedside.count()
            _wait(lambda c=count: bedside.count() > c, 8.0)  # just after a transmission
            monitor.off()
            time.sleep(3.0)
            before = bedside.count()
            monitor = _Monitor(cable.monitor_end, seed=2 + run)
            back = time.monotonic()
            if _wait(lambda b=before: bedside.count() > b, 20.0):
                relinks.append(time.monotonic() - back)
    finally:
        bedside.stop()
        monitor.off()
        cable.pull()
    worst = max(relinks) if relinks else None
    return [Figure("faults.reboot.relink", worst, "s", f"\u2264 {RELINK_TARGET_S:g} after the monitor returns",
                   worst is not None and worst <= RELINK_TARGET_S and len(relinks) == runs, _spread(relinks), runs,
                   "3-s restart of a GE S/5 that forgets its subscriptions; the driver's default settings")]


# -- de-identification ---------------------------------------------------------------------------------
def planted_names(folder: Path) -> list[Figure]:
    import os
    import re

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(REPO_ROOT / "tests"))
    from export_fixtures import PLANTED_NAMES, build_session, output_texts, plant_names

    from kapmonitor.export.runner import ExportOptions, run_export

    built = build_session(folder / "planted.db", hours=1.0, wave_seconds=5)
    planted = plant_names(built.path)
    result = run_export(built.path, folder / "deid", ExportOptions(deidentify=True, waves=True, keep_free_text=()))
    found = sorted({f"{name} in {path.name}" for path in result.out_dir.iterdir() for text in output_texts(path)
                    for name in PLANTED_NAMES if re.search(name, text, re.I)})
    return [Figure("faults.deid.names_found", float(len(found)), "names", "0 in any format (PDF text included)",
                   not found, "", 1,
                   "; ".join(found[:5]) or f"{planted} text cells planted; {len(result.files)} files checked")]
