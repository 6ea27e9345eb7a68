"""Fault suite: what a session record and the link to the monitor survive, as repeatable figures.

    .venv/bin/python -m benchmarks.faults            # full variant (about 8 minutes)
    .venv/bin/python -m benchmarks.faults --short    # CI variant (about 2 minutes)
    .venv/bin/python -m benchmarks.faults --out faults.json

Scenarios, each against real files and real processes:
- kill -9: a process recording 100 values/s is killed at a random moment, N times; every record
  must pass integrity_check, have no hole, and lose at most 1 s;
- disk full, then freed: a small tmpfs (root) is filled while recording and freed again; recording
  must resume by itself within 2 s with nothing lost (without root the full disk is injected as
  SQLite's SQLITE_FULL at the recorder's writes, and the note says so);
- record deleted mid-session (database, -wal and -shm): the storage alarm within 2 s and every
  value in the recovery file;
- two writers: a second recorder process and a second `kapmonitor run` on a record being
  written are refused (exit 2) and the record is unchanged;
- mutated frames, cable outages, a monitor reboot and names planted for de-identification: see
  benchmarks/faults_monitor.py.

Prints one line per figure; exit status 0 when every target is met, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks import faults_monitor
from benchmarks.common import REPO_ROOT, Figure, machine_info
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import VitalSample
from kapmonitor.recording.database import open_read_only
from kapmonitor.recording.recorder import SessionRecorder

ENV = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "QT_QPA_PLATFORM": "offscreen"}

WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from kapmonitor.model.parameters import Parameter
    from kapmonitor.model.samples import VitalSample
    from kapmonitor.recording.recorder import SessionRecorder

    rec = SessionRecorder(Path(sys.argv[1])).start()
    print("writing", flush=True)
    i = 0
    while True:  # one value per 10 ms: value = index, t = wall time of submission
        rec.on_items([VitalSample(time.time(), Parameter.HR, float(i))])
        i += 1
        time.sleep(0.01)
    """
)

SECOND = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from kapmonitor.recording.database import SessionDatabaseError
    from kapmonitor.recording.recorder import SessionRecorder

    try:
        SessionRecorder(Path(sys.argv[1]), meta={"driver": "second"}).start().stop()
    except SessionDatabaseError as exc:
        print(exc, file=sys.stderr)
        sys.exit(2)
    """
)


def _values(path: Path) -> list[tuple[float, float]]:
    conn = open_read_only(path)
    try:
        return [(float(t), float(v)) for t, v in conn.execute("SELECT t, value FROM samples ORDER BY value")]
    finally:
        conn.close()


def _integrity(path: Path) -> str:
    conn = open_read_only(path)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


class _Feeder:
    """Submits one HR value every `period` s (value = its index) in a thread."""

    def __init__(self, rec: SessionRecorder, period: float = 0.01) -> None:
        self.rec, self.period, self.count = rec, period, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.rec.on_items([VitalSample(time.time(), Parameter.HR, float(self.count))])
            self.count += 1
            time.sleep(self.period)

    def __enter__(self) -> _Feeder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def _wait(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


# -- kill -9 ---------------------------------------------------------------------------------------------


def kill9(runs: int, folder: Path, rng: random.Random) -> list[Figure]:
    losses: list[float] = []
    problems: list[str] = []
    for n in range(runs):
        path = folder / f"kill{n}.db"
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True,
                                env=ENV)
        try:
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != "writing":
                problems.append(f"run {n}: the writer did not start")
                continue
            time.sleep(rng.uniform(1.0, 3.0))
            killed_at = time.time()
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
        check = _integrity(path)
        rows = _values(path)
        if check != "ok":
            problems.append(f"run {n}: integrity_check says {check}")
        if [v for _, v in rows] != [float(i) for i in range(len(rows))]:
            problems.append(f"run {n}: values missing in between")
        losses.append(killed_at - rows[-1][0] if rows else float("inf"))
    worst = max(losses) if losses else None
    ok = worst is not None and worst <= 1.0 and not problems
    return [Figure("faults.kill9.max_loss", worst, "s", "<= 1 s, integrity ok, no hole", ok,
                   f"min {min(losses):.2f} / max {max(losses):.2f}" if losses else "", runs,
                   "; ".join(problems) or f"{runs} kills, every record intact",
                   {"losses_s": [round(x, 3) for x in losses]})]


# -- disk full, then freed ----------------------------------------------------------------------------------


class _InjectedFullDisk(SessionRecorder):
    """Used only without root: the recorder's writes fail exactly as SQLite fails on a full disk."""

    full = False

    def _write_items(self, conn: sqlite3.Connection, items: list) -> None:  # type: ignore[type-arg]
        if self.full:
            raise sqlite3.OperationalError("database or disk is full")
        super()._write_items(conn, items)


def _mount(where: Path, size: str) -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    where.mkdir(exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)],
                          capture_output=True).returncode == 0


def disk_full(runs: int, folder: Path) -> list[Figure]:
    resumes: list[float] = []
    lost: list[int] = []
    notes: list[str] = []
    mnt = folder / "small"
    real = _mount(mnt, "3m")
    try:
        for n in range(runs):
            base = mnt if real else folder
            path = base / f"full{n}.db"
            rec = (SessionRecorder if real else _InjectedFullDisk)(path, retry_interval=0.2)
            rec.start()
            filler = base / "filler"
            with _Feeder(rec, period=0.002) as feeder:
                time.sleep(0.3)
                if real:
                    with open(filler, "wb") as fh:
                        try:
                            while True:
                                fh.write(b"\0" * 65536)
                                fh.flush()
                        except OSError:
                            pass
                else:
                    rec.full = True  # type: ignore[attr-defined]
                if not _wait(lambda r=rec: r.failure is not None, 10):  # type: ignore[misc]
                    notes.append(f"run {n}: the full disk was not noticed")
                time.sleep(1.0)
                freed = time.monotonic()
                if real:
                    filler.unlink()
                else:
                    rec.full = False  # type: ignore[attr-defined]
                back = _wait(lambda r=rec: r.failure is None, 10)  # type: ignore[misc]
                resumes.append(time.monotonic() - freed if back else float("inf"))
                time.sleep(0.3)
            rec.stop()
            values = [v for _, v in _values(path)]
            lost.append(feeder.count - len(values))
            if values != [float(i) for i in range(len(values))] or _integrity(path) != "ok":
                notes.append(f"run {n}: record damaged or out of order")
            path.unlink()
            for suffix in ("-wal", "-shm"):
                path.with_name(path.name + suffix).unlink(missing_ok=True)
    finally:
        if real:
            subprocess.run(["umount", "-l", str(mnt)], check=False)
    how = "a real 3 MB tmpfs filled and freed" if real else "SQLITE_FULL injected at the writes (not root: no tmpfs)"
    worst = max(resumes) if resumes else None
    return [
        Figure("faults.disk_full.resume_after_free", worst, "s", "<= 2 s", worst is not None and worst <= 2.0,
               f"min {min(resumes):.2f} / max {max(resumes):.2f}" if resumes else "", runs,
               "; ".join([how, *notes])),
        Figure("faults.disk_full.values_lost", float(max(lost)) if lost else None, "values", "0 (held in memory)",
               bool(lost) and max(lost) == 0 and not notes, "", runs, how),
    ]


# -- the record deleted mid-session ----------------------------------------------------------------------------


def deleted(runs: int, folder: Path) -> list[Figure]:
    delays: list[float] = []
    lost: list[int] = []
    notes: list[str] = []
    for n in range(runs):
        path = folder / f"del{n}" / "s.db"
        alarms: list[float] = []
        rec = SessionRecorder(path, on_failure=lambda _m, a=alarms: a.append(time.monotonic())).start()  # type: ignore[misc]
        with _Feeder(rec) as feeder:
            time.sleep(1.0)
            gone = time.monotonic()
            for suffix in ("", "-wal", "-shm"):
                path.with_name(path.name + suffix).unlink(missing_ok=True)
            _wait(lambda a=alarms: bool(a), 5)  # type: ignore[misc]
            time.sleep(1.0)
        rec.stop()
        delays.append(alarms[0] - gone if alarms else float("inf"))
        recovered = sorted(path.parent.glob("s.recovered-*.db"))
        if len(recovered) != 1:
            notes.append(f"run {n}: {len(recovered)} recovery files")
            lost.append(feeder.count)
            continue
        values = [v for _, v in _values(recovered[0])]
        lost.append(feeder.count - len(values))
        if values != [float(i) for i in range(len(values))]:
            notes.append(f"run {n}: values missing in between")
    worst = max(delays) if delays else None
    return [
        Figure("faults.deleted.alarm_delay", worst, "s", "<= 2 s", worst is not None and worst <= 2.0,
               f"min {min(delays):.2f} / max {max(delays):.2f}" if delays else "", runs, "; ".join(notes)),
        Figure("faults.deleted.values_lost", float(max(lost)) if lost else None, "values",
               "0 (all in the recovery file)", bool(lost) and max(lost) == 0 and not notes, "", runs, ""),
    ]


# -- two writers ---------------------------------------------------------------------------------------------------

HOLDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from kapmonitor.model.parameters import Parameter
    from kapmonitor.model.samples import VitalSample
    from kapmonitor.recording.recorder import SessionRecorder

    rec = SessionRecorder(Path(sys.argv[1]), meta={"driver": "first"}).start()
    rec.on_items([VitalSample(float(i), Parameter.HR, 60.0) for i in range(100)])
    rec.flush()
    print("ready", flush=True)
    sys.stdin.readline()
    rec.stop()
    """
)


def two_writers(folder: Path) -> list[Figure]:
    path = folder / "shared.db"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env=ENV)
    results: dict[str, int] = {}
    notes: list[str] = []
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        before = {p.name: p.read_bytes() for p in folder.iterdir() if p.name.startswith("shared.db")
                  and not p.name.endswith("-shm")}
        second = subprocess.run([sys.executable, "-c", SECOND, str(path)], capture_output=True, text=True,
                                env=ENV, timeout=60)
        results["recorder process"] = second.returncode
        app = subprocess.run([sys.executable, "-m", "kapmonitor", "run", "--session", str(path), "--screenshot",
                              str(folder / "x.png"), "--screenshot-after", "1"],
                             capture_output=True, text=True, env={**ENV, "KAPMONITOR_DATA_DIR": str(folder / "d")},
                             timeout=120)
        results["kapmonitor run"] = app.returncode
        if "another kapmonitor" not in app.stderr:
            notes.append(f"kapmonitor run said: {app.stderr.strip()[:200]}")
        after = {p.name: p.read_bytes() for p in folder.iterdir() if p.name.startswith("shared.db")
                 and not p.name.endswith("-shm")}
        if after != before:
            notes.append("the record changed")
    finally:
        if holder.stdin is not None:
            holder.stdin.write("\n")
            holder.stdin.flush()
        holder.wait(10)
    refused = sum(1 for code in results.values() if code == 2)
    ok = refused == len(results) and not notes
    return [Figure("faults.two_writers.refused", float(refused), f"of {len(results)}",
                   "every second writer refused (exit 2), record unchanged", ok, "", 1,
                   "; ".join(notes) or ", ".join(f"{k}: exit {v}" for k, v in results.items()))]


def run_suite(short: bool, seed: int = 1) -> list[Figure]:
    rng = random.Random(seed)
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="kapfaults-") as tmp:
        folder = Path(tmp)
        for sub in ("kill", "full", "deleted", "two", "outage", "reboot", "deid"):
            (folder / sub).mkdir()
        for name, step in (
            ("kill -9", lambda: kill9(3 if short else 30, folder / "kill", rng)),
            ("disk full", lambda: disk_full(1 if short else 5, folder / "full")),
            ("record deleted", lambda: deleted(2 if short else 10, folder / "deleted")),
            ("two writers", lambda: two_writers(folder / "two")),
            ("mutated frames", lambda: faults_monitor.mutated_frames(20_000 if short else 1_000_000, rng)),
            ("cable outages", lambda: faults_monitor.cable_outages(2 if short else 5, folder / "outage")),
            ("monitor reboot", lambda: faults_monitor.monitor_reboot(1 if short else 5, folder / "reboot")),
            ("planted names", lambda: faults_monitor.planted_names(folder / "deid")),
        ):
            print(f"running {name} ...", file=sys.stderr, flush=True)
            figures += step()
    return figures


def _line(f: Figure) -> str:
    value = "n/a" if f.value is None else f"{f.value:.3g}"
    verdict = {True: "PASS", False: "FAIL", None: "-"}[f.passed]
    return f"{f.figure:38} {value:>8} {f.unit:10} {verdict:5} target {f.target}; {f.spread} {f.note}".rstrip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.faults", description=__doc__.split("\n")[0])
    parser.add_argument("--short", action="store_true", help="the CI variant (fewer repetitions)")
    parser.add_argument("--out", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the kill moments")
    args = parser.parse_args(argv)
    figures = run_suite(args.short, args.seed)
    for f in figures:
        print(_line(f))
    if args.out is not None:
        doc = {"short": args.short, "date": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": machine_info(),
               "results": [f.as_json() for f in figures]}
        args.out.write_text(json.dumps(doc, indent=1) + "\n")
    return 0 if all(f.passed for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
