"""Start-up: from process start to the first painted main window.

A new interpreter is started per run with the time of its launch (time.time() in the parent,
just before the fork) on its command line. It does what `kapmonitor run` does on the simulated
monitor (offscreen): import kapmonitor's GUI, build `MonitorApplication` (profile, session
database, pipeline, alarm sounder) and start it; an event filter on the main window notes the
first paint event. The child reports the time to "imports done" and to "first paint".
In the same run, alternating with it, a bare PySide6 + pyqtgraph window (a QMainWindow holding one
PlotWidget, 1280x800, the same first-paint filter) is timed the same way: the start-up target is the
ratio of the two medians, so a loaded or slow machine moves both. A bare interpreter
(`python -c pass`) is timed too, for the share Python itself takes.

Both children read compiled bytecode, as an installed program does: the uncounted warm-up run
writes it into a temporary PYTHONPYCACHEPREFIX, even where PYTHONDONTWRITEBYTECODE is set (a
development shell); otherwise kapmonitor would be compiled from source on every run (~0.2 s) while
PySide6 and pyqtgraph come with their bytecode.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

from benchmarks.common import REPO_ROOT, Figure, median, min_max

TARGET_S = 1.5
TARGET_RATIO = 1.6  # kapmonitor's first paint / a bare PySide6 + pyqtgraph window's, same run

BARE_CHILD = r"""
import sys, time
t_launch = float(sys.argv[1])
import os
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication(sys.argv[:1])
result = {}

class FirstPaint(QObject):
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint and "paint" not in result:
            result["paint"] = time.time()
            result["cpu"] = time.process_time()
            QTimer.singleShot(0, app.quit)
        return False

watcher = FirstPaint()
app.installEventFilter(watcher)
window = QMainWindow()
window.setCentralWidget(pg.PlotWidget())
window.resize(1280, 800)
window.show()
QTimer.singleShot(20000, app.quit)
app.exec()
print("RESULT " + __import__("json").dumps({"paint": result.get("paint", float("nan")) - t_launch,
      "cpu": result.get("cpu", float("nan"))}))
"""

CHILD = r"""
import sys, time
t_launch = float(sys.argv[1])
import os
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from pathlib import Path
from kapmonitor.ui.app import MonitorApplication
from kapmonitor.drivers.base import DriverOptions
from kapmonitor.drivers.registry import create_driver
from kapmonitor.model.clock import RealClock
from PySide6.QtCore import QEvent, QObject, QTimer
t_imports = time.time()
clock = RealClock()
driver = create_driver("simulated", DriverOptions(scenario="normal", seed=1), clock)
app = MonitorApplication(driver, clock, Path(sys.argv[2]), None)
result = {}

class FirstPaint(QObject):
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint and "paint" not in result:
            result["paint"] = time.time()
            result["cpu"] = time.process_time()
            QTimer.singleShot(0, app.qt_app.quit)
        return False

watcher = FirstPaint()
app.qt_app.installEventFilter(watcher)  # the first paint of any widget of the main window
app.start(sound=True)
QTimer.singleShot(20000, app.qt_app.quit)
app.exec()
print("RESULT " + __import__("json").dumps({"imports": t_imports - t_launch,
      "paint": result.get("paint", float("nan")) - t_launch, "cpu": result.get("cpu", float("nan"))}))
"""


def run(quick: bool) -> list[Figure]:
    runs = 2 if quick else 7
    imports: list[float] = []
    paints: list[float] = []
    bare: list[float] = []
    bare_window: list[float] = []
    cpu: list[float] = []  # process CPU time (all threads) at the first paint: less moved by a loaded machine
    bare_cpu: list[float] = []
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="kapbench-start-") as tmp:
        for i in range(runs + 1):  # the first run warms the file cache and is not counted
            db = os.path.join(tmp, f"s{i}.db")
            env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(REPO_ROOT),
                       PYTHONPYCACHEPREFIX=os.path.join(tmp, "pycache"))
            env.pop("PYTHONDONTWRITEBYTECODE", None)  # the bytecode written in the warm-up run is read after
            launch = time.time()
            proc = subprocess.run([sys.executable, "-c", CHILD, repr(launch), db], cwd=REPO_ROOT, env=env,
                                  capture_output=True, text=True, timeout=60)
            line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
            t = time.time()
            subprocess.run([sys.executable, "-c", "pass"], check=False)
            bare_s = time.time() - t
            launch = time.time()
            bare_proc = subprocess.run([sys.executable, "-c", BARE_CHILD, repr(launch)], cwd=REPO_ROOT, env=env,
                                       capture_output=True, text=True, timeout=60)
            bare_line = next((ln for ln in bare_proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
            if i == 0:
                continue
            bare.append(bare_s)
            if bare_line is not None:
                bare_r = json.loads(bare_line[len("RESULT "):])
                if bare_r["paint"] == bare_r["paint"]:
                    bare_window.append(bare_r["paint"])
                    bare_cpu.append(bare_r["cpu"])
            if line is None:
                problems.append(f"run {i}: exit {proc.returncode}: {proc.stderr.strip().splitlines()[-1:]}")
                continue
            r = json.loads(line[len("RESULT "):])
            if r["paint"] != r["paint"]:
                problems.append(f"run {i}: no paint event")
                continue
            imports.append(r["imports"])
            paints.append(r["paint"])
            cpu.append(r["cpu"])
    note = f"{len(paints)} of {runs} runs after one warm-up run" + (f"; {problems[0]}" if problems else "")
    if not paints:
        return [Figure("startup.first_paint", None, "s", f"< {TARGET_S:g} s", False, note=note)]
    ratio = median(paints) / median(bare_window) if bare_window else None
    return [
        Figure("startup.vs_bare_qt_window", ratio, "ratio", f"\u2264 {TARGET_RATIO:g}",
               ratio is not None and ratio <= TARGET_RATIO and not problems,
               spread=(f"kapmonitor {median(paints):.2f} s / bare window {median(bare_window):.2f} s "
                       f"(min {min(bare_window):.2f} / max {max(bare_window):.2f})" if bare_window else ""),
               runs=len(paints), note="first paint of the nurse's window / of a bare PySide6 + pyqtgraph window, "
                                      "alternating in the same run"),
        Figure("startup.cpu_vs_bare", median(cpu) / median(bare_cpu) if bare_cpu else None, "ratio",
               spread=(f"kapmonitor {median(cpu):.2f} s / bare window {median(bare_cpu):.2f} s CPU"
                       if bare_cpu else ""), runs=len(cpu),
               note="process CPU time (every thread) up to the first paint, same runs: less moved by other load"),
        Figure("startup.first_paint", median(paints), "s", f"< {TARGET_S:g} s",
               median(paints) < TARGET_S and not problems, spread=min_max(paints), runs=len(paints), note=note),
        Figure("startup.bare_qt_window", median(bare_window) if bare_window else None, "s",
               spread=min_max(bare_window) if bare_window else "", runs=len(bare_window),
               note="PySide6 + pyqtgraph imported, a QMainWindow with one PlotWidget painted"),
        Figure("startup.imports_done", median(imports), "s", spread=min_max(imports), runs=len(imports),
               note="interpreter start, kapmonitor.ui.app imported (with the bedside core and the window modules)"),
        Figure("startup.bare_python", median(bare), "s", spread=min_max(bare), runs=len(bare),
               note="`python -c pass` in the same run, for scale"),
    ]
