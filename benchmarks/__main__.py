"""Run kapmonitor's benchmarks, print a table and write benchmarks/results.json.

    .venv/bin/python -m benchmarks              # everything (about 9 minutes; audio alone plays 5)
    .venv/bin/python -m benchmarks --quick      # short smoke variant (well under a minute each)
    .venv/bin/python -m benchmarks --only decode,startup --out /tmp/r.json
    .venv/bin/python -m benchmarks --check      # exit 1 when a target is missed

Each benchmark runs in a fresh interpreter (offscreen Qt), so memory, CPU time and Qt state of one
never touch another. Exit status: 0 done, 1 a target missed (only with --check), 2 a benchmark
crashed or timed out.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import REPO_ROOT, Figure, machine_info

# name -> (module, time limit in seconds for the full run)
BENCHMARKS: dict[str, tuple[str, float]] = {
    "decode": ("benchmarks.bench_decode", 300),
    "alarm_latency": ("benchmarks.bench_alarm_latency", 300),
    "display": ("benchmarks.bench_display", 300),
    "long_session": ("benchmarks.bench_long_session", 600),
    "startup": ("benchmarks.bench_startup", 200),
    "export": ("benchmarks.bench_export", 300),
    "replay": ("benchmarks.bench_replay", 300),
    "audio": ("benchmarks.bench_audio", 500),
    "central": ("benchmarks.bench_central", 300),
}
DEFAULT_OUT = REPO_ROOT / "benchmarks" / "results.json"


def _child(name: str, quick: bool, out: Path) -> int:
    module = importlib.import_module(BENCHMARKS[name][0])
    figures: list[Figure] = module.run(quick)
    out.write_text(json.dumps([f.as_json() for f in figures], indent=1))
    return 0


def _run_one(name: str, quick: bool) -> list[dict[str, object]]:
    limit = BENCHMARKS[name][1] if not quick else 120
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    with tempfile.TemporaryDirectory(prefix="kapbench-") as tmp:
        out = Path(tmp) / "figures.json"
        cmd = [sys.executable, "-m", "benchmarks", "--child", name, "--child-out", str(out)]
        if quick:
            cmd.append("--quick")
        started = time.monotonic()
        try:
            proc = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=limit)
        except subprocess.TimeoutExpired:
            return [Figure(f"{name}.error", None, "", "", False, note=f"timed out after {limit:.0f} s").as_json()]
        if proc.returncode != 0 or not out.exists():
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            return [Figure(f"{name}.error", None, "", "", False,
                           note=f"exit {proc.returncode}: {' | '.join(tail)}").as_json()]
        figures: list[dict[str, object]] = json.loads(out.read_text())
        for f in figures:
            f["benchmark"] = name
            f["benchmark_seconds"] = round(time.monotonic() - started, 1)
        return figures


def _fmt(value: object) -> str:
    if value is None:
        return "\u2014"
    if isinstance(value, float):
        if value != value:  # nan
            return "nan"
        return f"{value:.4g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def _table(figures: list[dict[str, object]]) -> str:
    rows = [("figure", "value", "unit", "spread", "target", "pass")]
    for f in figures:
        verdict = {True: "PASS", False: "MISS", None: ""}[f["pass"]]  # type: ignore[index]
        if f["value"] is None and f["note"]:
            verdict = verdict or "n/a"
        rows.append((str(f["figure"]), _fmt(f["value"]), str(f["unit"]), str(f["spread"]), str(f["target"]), verdict))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    notes = [f"  {f['figure']}: {f['note']}" for f in figures if f["note"]]
    return "\n".join(lines + (["", "notes:", *notes] if notes else []))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short smoke variant of every benchmark")
    parser.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(BENCHMARKS)}")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the JSON results")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(args.child, args.quick, args.child_out)
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)} (known: {', '.join(BENCHMARKS)})")
    started = dt.datetime.now(dt.UTC)
    load = os.getloadavg()
    figures: list[dict[str, object]] = []
    for name in names:
        print(f"running {name}{' (quick)' if args.quick else ''} ...", file=sys.stderr, flush=True)
        figures += _run_one(name, args.quick)
    info = machine_info()
    info["loadavg_at_start"] = [round(x, 2) for x in load]
    info["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    doc = {
        "date": started.isoformat(timespec="seconds"),
        "duration_s": round((dt.datetime.now(dt.UTC) - started).total_seconds(), 1),
        "quick": args.quick,
        "benchmarks": names,
        "machine": info,
        "results": figures,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    print(_table(figures))
    print(f"\nwritten to {args.out}", file=sys.stderr)
    if any(str(f["figure"]).endswith(".error") for f in figures):
        return 2
    if args.check and any(f["pass"] is False for f in figures):
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
