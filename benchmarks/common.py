"""Shared parts of the benchmarks: figures, statistics, machine facts, locations.

Every benchmark is a function `run(quick: bool) -> list[Figure]` in its own module; the runner
(`python -m benchmarks`) executes each one in a fresh interpreter so that memory, CPU time and Qt
state of one never leak into another.
"""

from __future__ import annotations

import math
import os
import platform
import statistics
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Figure:
    """One measured figure. `passed` is None when there is no target or nothing could be measured."""

    figure: str
    value: float | None
    unit: str
    target: str = ""
    passed: bool | None = None
    spread: str = ""  # "min 1.2 / max 1.5" or "IQR 1.2-1.4" or "p99 ..."
    runs: int = 1
    note: str = ""
    extra: dict[str, object] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        d = asdict(self)
        d["pass"] = d.pop("passed")
        return d


def skipped(figure: str, unit: str, target: str, why: str) -> Figure:
    """A figure that could not be measured here (no capture, no sound device): not a pass."""
    return Figure(figure, None, unit, target, None, note=why)


def shared_dir() -> Path:
    """The shared/ folder beside the repository (CI), overridable with KAPMONITOR_SHARED."""
    env = os.environ.get("KAPMONITOR_SHARED")
    return Path(env) if env else REPO_ROOT.parent / "shared"


def median(xs: Sequence[float]) -> float:
    return float(statistics.median(xs))


def percentile(xs: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile, q in 0..100."""
    s = sorted(xs)
    if not s:
        return math.nan
    k = (len(s) - 1) * q / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return float(s[lo] + (s[hi] - s[lo]) * (k - lo))


def min_max(xs: Sequence[float], fmt: str = "{:.3g}") -> str:
    return f"min {fmt.format(min(xs))} / max {fmt.format(max(xs))}"


def iqr(xs: Sequence[float], fmt: str = "{:.3g}") -> str:
    return f"IQR {fmt.format(percentile(xs, 25))}\u2013{fmt.format(percentile(xs, 75))}"


def machine_info() -> dict[str, object]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    except OSError:
        pass
    info: dict[str, object] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory_gb": mem_gb,
    }
    try:
        import PySide6

        info["pyside6"] = PySide6.__version__
    except ImportError:
        pass
    try:
        import numpy

        info["numpy"] = numpy.__version__
    except ImportError:
        pass
    return info


def rss_mb() -> float:
    """Resident set size of this process now, in MiB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return math.nan


def qt_quiet() -> None:
    """Silence the offscreen platform's harmless warnings so the benchmark output stays readable."""
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler

    def handler(kind: QtMsgType, context: object, message: str) -> None:
        if "propagateSizeHints" in message or "This plugin does not support" in message:
            return
        print(message, file=sys.stderr)

    qInstallMessageHandler(handler)
