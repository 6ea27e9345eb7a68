"""Live display cost: a running session on the simulated monitor at real speed, shown by the lead's
MainWindow offscreen at 1280x800, with 4 hours of trends already in the store and pleth at 100 Hz.

The trend store is filled first with 4 h of the simulator's data (the hours before "now"), then the
real pipeline (simulated driver on the real clock, engine, recorder, supervisor) runs with the window
for the measured time. CPU is this whole process's CPU time (all threads: GUI, reader, recorder,
supervisor) as a percentage of one core, measured in consecutive windows; the redraw rate counts the
window's fast redraws (`MainWindow.redraws`) per second. In the same run, the CPU of the pipeline
alone (the window hidden and its timers stopped) is measured, so the GUI's share is a ratio. Then the
pleth strip alone is timed at 30 frames a second against the scrolling pyqtgraph curve it replaced.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import Figure, median, min_max, qt_quiet

CPU_TARGET = 5.0
REDRAW_TARGET = 30.0
TREND_HOURS = 4.0


def fill_trends(store: object, start: float, hours: float) -> int:
    """Feed `hours` of simulated data ending at `start` into a TrendStore; returns items fed."""
    from kapmonitor.drivers.simulator import SimulatedPatient, run_patient_for

    patient = SimulatedPatient(start - hours * 3600, "normal", seed=3)
    n = 0
    for _ in range(int(hours * 60)):  # a minute at a time keeps memory flat
        items = run_patient_for(patient, 60)
        store.on_items(items)  # type: ignore[attr-defined]
        n += len(items)
    return n


def _strip_cpu(strip: object, app: object, frames: int, hz: float = 30.0) -> float:
    """CPU ms per frame of a pleth view fed 100 Hz pleth at `hz` frames a second (refresh + paint)."""
    from kapmonitor.model.buffers import WaveBuffer

    rate, t = 100.0, 1_000_000.0
    buf = WaveBuffer(rate, 8.0)
    i = np.arange(int(rate * 8))
    buf.write(t, (np.sin(2 * np.pi * 1.2 * i / rate) ** 4).astype(np.float32))
    per = rate / hz
    done = float(len(i))
    strip.refresh(buf)  # type: ignore[attr-defined]
    app.processEvents()  # type: ignore[attr-defined]
    c0 = time.process_time()
    for _ in range(frames):
        first = int(done)
        done += per
        k = np.arange(first, int(done))
        buf.write(t + first / rate, (np.sin(2 * np.pi * 1.2 * k / rate) ** 4).astype(np.float32))
        strip.refresh(buf)  # type: ignore[attr-defined]
        app.processEvents()  # type: ignore[attr-defined]
    return 1000.0 * (time.process_time() - c0) / frames


class _ScrollingPleth:
    """The strip as it was before the sweep (a pyqtgraph curve of the whole buffer set every frame),
    kept here only as the same-run baseline."""

    def __init__(self) -> None:
        import pyqtgraph as pg

        self.widget = pg.PlotWidget(background="#000000")
        item = self.widget.getPlotItem()
        item.hideAxis("bottom")
        item.hideAxis("left")
        item.setMouseEnabled(x=False, y=False)
        self.curve = item.plot(pen=pg.mkPen("#3fc7ff", width=1), connect="finite")
        self.x: np.ndarray | None = None

    def refresh(self, wave: object) -> None:
        _, values = wave.snapshot()  # type: ignore[attr-defined]
        if self.x is None:
            self.x = np.arange(len(values), dtype=np.float64)
            self.widget.getPlotItem().setXRange(0, len(values), padding=0)
            self.widget.getPlotItem().setYRange(0.0, 1.0, padding=0)
        finite = values[np.isfinite(values)]
        lo, hi = float(np.percentile(finite, 1)), float(np.percentile(finite, 99))
        self.curve.setData(self.x, (values.astype(np.float64) - lo) / max(hi - lo, 1e-9))


def pleth_figures(app: object, quick: bool) -> list[Figure]:
    """The sweep strip against the scrolling plot it replaced, same size, same run."""
    from kapmonitor.ui.vitals.pleth_strip import PlethStrip

    frames = 90 if quick else 600
    sweep_ms: list[float] = []
    scroll_ms: list[float] = []
    for _ in range(3):
        strip = PlethStrip()
        strip.resize(860, 160)
        strip.show()
        sweep_ms.append(_strip_cpu(strip, app, frames))
        strip.close()
        old = _ScrollingPleth()
        old.widget.resize(860, 160)
        old.widget.show()
        scroll_ms.append(_strip_cpu(old, app, frames))
        old.widget.close()
    sweep, scroll = median(sweep_ms), median(scroll_ms)
    return [
        Figure("display.pleth_sweep_cpu_percent", sweep * 30 / 10, "% of one core", spread=min_max(
            [m * 3 for m in sweep_ms]), runs=len(sweep_ms),
            note=f"the pleth strip alone, 860\u00d7160, 100 Hz pleth drawn at 30 Hz, {frames} frames a run: "
                 f"{sweep:.2f} ms a frame (refresh and paint)"),
        Figure("display.pleth_sweep_vs_scrolling_plot", sweep / scroll if scroll else None, "ratio",
               spread=f"the scrolling pyqtgraph curve it replaced: {scroll:.2f} ms a frame "
                      f"({min_max(scroll_ms)})", runs=len(scroll_ms)),
    ]


def run(quick: bool) -> list[Figure]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from kapmonitor.alarms.profile import default_profile
    from kapmonitor.alarms.supervisor import AlarmSupervisor
    from kapmonitor.bedside import WindowFacts
    from kapmonitor.drivers.base import DriverOptions
    from kapmonitor.drivers.registry import create_driver
    from kapmonitor.model.clock import RealClock
    from kapmonitor.pipeline import MonitoringPipeline
    from kapmonitor.ui.main_window import MainWindow

    measure_s = 10.0 if quick else 60.0
    window_s = 2.0 if quick else 10.0
    baseline_s = 4.0 if quick else 10.0
    qt_quiet()
    app = QApplication.instance() or QApplication([])
    clock = RealClock()
    tmp = tempfile.TemporaryDirectory(prefix="kapbench-display-")
    driver = create_driver("simulated", DriverOptions(scenario="normal", seed=5), clock)
    pipeline = MonitoringPipeline(driver, Path(tmp.name) / "session.db", alarm_profile=default_profile())
    assert pipeline.alarms is not None
    now = clock.now()
    t0 = time.perf_counter()
    fed = fill_trends(pipeline.trends, now, TREND_HOURS)
    fill_s = time.perf_counter() - t0
    supervisor = AlarmSupervisor(pipeline.alarms)
    window = MainWindow(WindowFacts(pipeline.trends, pipeline.alarms.profile, session_start=now - TREND_HOURS * 3600,
                        now_fn=clock.now, simulated=True, device="Simulated monitor (benchmark)",
                        engine=pipeline.alarms))
    window.resize(1280, 800)
    window.show()
    pipeline.start()
    supervisor.start()
    window.start()

    cpu: list[float] = []
    rates: list[float] = []
    phase = {"name": "warmup", "t": time.perf_counter(), "cpu": time.process_time(), "redraws": 0}
    baseline: list[float] = []
    schedule: list[tuple[str, float]] = [("warmup", 3.0)]
    schedule += [("gui", window_s)] * round(measure_s / window_s)
    schedule += [("hide", 1.0)] + [("base", baseline_s / 2)] * 2

    def tick() -> None:
        t, c = time.perf_counter(), time.process_time()
        name = str(phase["name"])
        dt = t - float(phase["t"])
        if name == "gui":
            cpu.append(100.0 * (c - float(phase["cpu"])) / dt)
            rates.append((window.redraws - int(phase["redraws"])) / dt)
        elif name == "base":
            baseline.append(100.0 * (c - float(phase["cpu"])) / dt)
        if not schedule:
            app.quit()
            return
        nxt, length = schedule.pop(0)
        if nxt == "hide":
            window.fast_timer.stop()
            window.trend_timer.stop()
            window.hide()
        phase.update(name=nxt, t=time.perf_counter(), cpu=time.process_time(), redraws=window.redraws)
        QTimer.singleShot(int(length * 1000), tick)

    QTimer.singleShot(0, tick)
    app.exec()
    supervisor.stop()
    pipeline.stop()
    window.close()
    tmp.cleanup()

    pleth = pleth_figures(app, quick)
    note = (f"{TREND_HOURS:g} h of trends ({fed} items) filled in {fill_s:.1f} s; "
            f"measured {len(cpu)} windows of {window_s:g} s")
    gui_share = median(cpu) / median(baseline) if baseline and median(baseline) > 0 else None
    return [
        Figure("display.cpu_percent", median(cpu), "% of one core", f"< {CPU_TARGET:g} %",
               median(cpu) < CPU_TARGET, spread=min_max(cpu), runs=len(cpu), note=note),
        Figure("display.redraw_hz", median(rates), "Hz", f"\u2265 {REDRAW_TARGET:g} Hz",
               min(rates) >= REDRAW_TARGET, spread=min_max(rates), runs=len(rates)),
        Figure("display.pipeline_only_cpu_percent", median(baseline), "% of one core",
               spread=min_max(baseline), runs=len(baseline),
               note="same process, window hidden and its timers stopped (acquisition, engine, recorder)"),
        Figure("display.with_window_vs_pipeline_only", gui_share, "ratio",
               spread="CPU with the window / CPU without it, same run"),
        *pleth,
    ]
