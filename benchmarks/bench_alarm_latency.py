"""Alarm latency: from a GE S/5 frame carrying SBP 190 written into a pseudo-terminal to the alarm
raised by the engine, and to the alarm bar painted on screen.

The whole live path runs as in `kapmonitor run`: the real `ge-s5` driver reads the slave end of a
pty through the reader thread, dispatcher and alarm engine (with the supervisor), and the lead's
MainWindow offscreen at 1280x800, which redraws the alarm bar on the engine's event (queued into the GUI
thread) besides its fast redraw timer. The window carries its normal display load, as in
bench_display: 4 h of trends in the store before the run and the pleth wave at 100 Hz from the
"monitor", so the trend redraw costs what it costs at the end of a long session. The "monitor" side
writes frames made by the GE emulator's record builder into the pty master: a normal frame twice a
second, a pleth wave frame (25 samples) four times a second, and per trial one frame whose NIBP is
190/95 at a random phase against the redraw timers. Engine time: the engine's listener call (reader
thread). Screen time: the end of the first paint pass of the window (its UpdateRequest, at whose end
the window is flushed to the screen) that painted an alarm-bar row showing the high-priority (`***`)
text. Then a normal reading ends it and it is acknowledged.

The GUI thread's blocking slices: every event the GUI thread's event loop delivers (a timer's slot,
a repaint, a queued alarm event) is timed from the outside (`QApplication.notify`), in wall time and
in the GUI thread's own CPU time. An alarm that arrives during a slice waits for its end, so the
longest slice bounds the screen latency on a quiet machine; the CPU figure does not move with the
load of other processes on the machine. `KAPBENCH_PROFILE=file` writes a cProfile of the GUI thread
(in its CPU time) for finding what a long slice is made of.
"""

from __future__ import annotations

import cProfile
import math
import os
import random
import tempfile
import threading
import time
import tty
from collections.abc import Callable
from pathlib import Path

from benchmarks.common import Figure, percentile, qt_quiet

ENGINE_TARGET_MS = 5.0
SCREEN_TARGET_MS = 25.0
TREND_HOURS = 4.0
WAVE_CHUNK = 25  # pleth samples per wave frame: 4 frames a second at 100 Hz


class SliceClock:
    """Times each outermost event delivery in one thread: (kind, wall ms, thread CPU ms).

    `kind` names the slice by its receiver where that is known (the window's fast and trend redraw
    timers), else by the event type. Only the thread that created it is timed (others pass through)."""

    def __init__(self) -> None:
        self.thread = threading.get_ident()
        self.depth = 0
        self.names: dict[int, str] = {}
        self.slices: list[tuple[str, float, float]] = []
        self.on = False

    def timed(self, deliver: Callable[[], bool], receiver: object, event: object) -> bool:
        if self.depth or threading.get_ident() != self.thread:
            return deliver()
        self.depth = 1
        w0, c0 = time.perf_counter(), time.thread_time()
        try:
            return deliver()
        finally:
            w1, c1 = time.perf_counter(), time.thread_time()
            self.depth = 0
            if self.on:
                kind = (self.names.get(id(receiver))
                        or f"{event.type().name} to {type(receiver).__name__}")  # type: ignore[attr-defined]
                self.slices.append((kind, (w1 - w0) * 1000, (c1 - c0) * 1000))

    def figures(self) -> list[Figure]:
        out: list[Figure] = []
        if not self.slices:
            return out
        walls = [w for _, w, _ in self.slices]
        cpus = [c for _, _, c in self.slices]
        by_kind: dict[str, list[float]] = {}
        for kind, _, c in self.slices:
            by_kind.setdefault(kind, []).append(c)
        top = sorted(by_kind.items(), key=lambda kv: -max(kv[1]))[:5]
        detail = "; ".join(f"{k} max {max(v):.1f} / p99 {percentile(v, 99):.1f} ms ({len(v)})" for k, v in top)
        out.append(Figure("alarm_latency.gui_slice_cpu_max", max(cpus), "ms",
                          spread=f"p99 {percentile(cpus, 99):.2f} / p50 {percentile(cpus, 50):.2f} ms",
                          runs=len(cpus), note="longest GUI-thread event delivery, in the GUI thread's own CPU "
                                               f"time (load-independent); by kind (CPU): {detail}"))
        out.append(Figure("alarm_latency.gui_slice_wall_max", max(walls), "ms",
                          spread=f"p99 {percentile(walls, 99):.2f} / p50 {percentile(walls, 50):.2f} ms",
                          runs=len(walls),
                          note="the same slices in wall time (includes waiting for a core and for the GIL)"))
        return out


def pty_wakeup_ms(samples: int) -> list[float]:
    """The same-run baseline: a byte written into a pty until a thread blocked reading its other end
    has it, i.e. what the machine's scheduler alone costs (on a loaded machine this dominates p99)."""
    master, slave = os.openpty()
    tty.setraw(master)
    tty.setraw(slave)
    got: list[float] = []
    ready = threading.Event()

    def reader() -> None:
        for _ in range(samples):
            ready.set()
            os.read(slave, 1)
            got.append(time.perf_counter())

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    sent: list[float] = []
    rng = random.Random(3)
    for _ in range(samples):
        ready.wait(1.0)
        ready.clear()
        time.sleep(0.005 + rng.random() * 0.01)
        sent.append(time.perf_counter())
        os.write(master, b"x")
    thread.join(5)
    os.close(master)
    os.close(slave)
    return [(g - t) * 1000 for t, g in zip(sent, got, strict=False)]


def run(quick: bool) -> list[Figure]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication, QLabel

    from benchmarks.bench_display import fill_trends
    from kapmonitor.alarms.model import AlarmEvent, AlarmEventType
    from kapmonitor.alarms.profile import Priority, default_profile
    from kapmonitor.alarms.supervisor import AlarmSupervisor
    from kapmonitor.bedside import WindowFacts
    from kapmonitor.drivers.base import DriverOptions
    from kapmonitor.drivers.ge_s5 import protocol as p
    from kapmonitor.drivers.ge_s5.emulator import GeS5MonitorState
    from kapmonitor.drivers.registry import create_driver
    from kapmonitor.drivers.simulator import SimulatedPatient
    from kapmonitor.model.clock import RealClock
    from kapmonitor.pipeline import MonitoringPipeline
    from kapmonitor.ui.main_window import MainWindow

    trials = 25 if quick else 200
    qt_quiet()
    slices = SliceClock()

    after_paint: list[Callable[[], None]] = []

    class TimedApplication(QApplication):
        def notify(self, receiver: QObject, event: QEvent) -> bool:  # type: ignore[override]
            paint_pass = event.type() == QEvent.Type.UpdateRequest
            done = slices.timed(lambda: QApplication.notify(self, receiver, event), receiver, event)
            if paint_pass:
                for hook in after_paint:
                    hook()
            return done

    app = QApplication.instance() or TimedApplication([])
    master, slave = os.openpty()
    tty.setraw(master)
    slave_path = os.ttyname(slave)
    clock = RealClock()
    tmp = tempfile.TemporaryDirectory(prefix="kapbench-alarm-")
    driver = create_driver("ge-s5", DriverOptions(port=slave_path), clock)
    pipeline = MonitoringPipeline(driver, Path(tmp.name) / "session.db", alarm_profile=default_profile())
    engine = pipeline.alarms
    assert engine is not None
    supervisor = AlarmSupervisor(engine)
    start = clock.now()
    fill_trends(pipeline.trends, start, TREND_HOURS)  # the normal display load: a long session's trend
    window = MainWindow(WindowFacts(pipeline.trends, engine.profile, session_start=start - TREND_HOURS * 3600,
                                    now_fn=clock.now,
                        simulated=False, device="GE S/5 (benchmark pty)", engine=engine))
    window.resize(1280, 800)
    window.show()
    bar = window.alarm_bar
    assert bar is not None
    slices.names.update({id(window.fast_timer): "fast redraw (timer)", id(window.trend_timer): "trend redraw (timer)"})

    lock = threading.Lock()
    trial: dict[str, float | bool | None] = {"sent": None, "engine": None, "screen": None}  # sent: armed
    engine_ms: list[float] = []
    screen_ms: list[float] = []

    def on_alarm(ev: AlarmEvent) -> None:  # reader thread
        if ev.alarm_id == "nibp_sys.upper" and ev.event is AlarmEventType.RAISED and ev.priority is Priority.HIGH:
            now = time.perf_counter()
            with lock:
                if trial["sent"] is not None and trial["engine"] is None:
                    trial["engine"] = now

    engine.add_listener(on_alarm)

    painted = {"alarm": False}

    class PaintWatch(QObject):
        """Notes the paint of a `***` row; it is on screen when that paint pass has ended."""

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint and isinstance(watched, QLabel) and watched.text().startswith("***"):
                painted["alarm"] = True
            return False

    def on_screen() -> None:  # GUI thread, after each paint pass of the window
        if painted["alarm"]:
            painted["alarm"] = False
            now = time.perf_counter()
            with lock:
                if trial["sent"] is not None and trial["screen"] is None:
                    trial["screen"] = now

    after_paint.append(on_screen)

    watch = PaintWatch()
    for label in bar.findChildren(QLabel):
        label.installEventFilter(watch)

    state = GeS5MonitorState(SimulatedPatient(clock.now()))
    state.hr, state.spo2, state.pr = 72, 9800, 72
    pleth = [round(3000 * math.sin(math.pi * 1.2 * i / 100) ** 4) for i in range(100)]  # one beat a 0.83 s
    write_lock = threading.Lock()
    stop = threading.Event()
    done = threading.Event()
    failures: list[str] = []

    def send(nibp: tuple[int, int, int] | None = None) -> float:
        t = int(clock.now())
        with write_lock:
            if nibp is not None:
                state.nibp = (nibp[0] * 100, nibp[1] * 100, nibp[2] * 100, 72)
                state.nibp_time = t
            data = p.frame(state.displayed_record(t))
            sent = time.perf_counter()
            os.write(master, data)
        return sent

    def send_wave(k: int) -> None:
        t = int(clock.now())
        with write_lock:
            state.waves = [p.WF_PLETH]
            state.pleth = [pleth[(k * WAVE_CHUNK + i) % len(pleth)] for i in range(WAVE_CHUNK)]
            record = state.wave_record(t)
            assert record is not None
            os.write(master, p.frame(record))

    def drain_and_keepalive() -> None:  # the monitor's steady stream, and reading the PC's requests
        k = 0
        while not stop.is_set():
            try:
                os.set_blocking(master, False)
                while os.read(master, 4096):
                    pass
            except (BlockingIOError, OSError):
                pass
            if k % 2 == 0:
                send()
            send_wave(k)
            k += 1
            stop.wait(0.25)

    def wait_until(cond: object, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if cond():  # type: ignore[operator]
                return True
            time.sleep(0.001)
        return False

    def trials_thread() -> None:
        rng = random.Random(8)
        try:
            send((120, 80, 93))
            if not wait_until(lambda: pipeline.trends.last_nibp() is not None, 10.0):
                failures.append("no NIBP reached the trend store (driver not reading the pty?)")
                return
            time.sleep(0.3)
            slices.on = True
            for i in range(trials):
                time.sleep(0.05 + rng.random() * 0.04)  # random phase against the redraw timer
                with lock:  # armed before the write: the engine may answer before send() returns
                    trial.update(sent=True, engine=None, screen=None)
                sent = send((186 + i % 9, 95, 125))
                ok = wait_until(lambda: trial["screen"] is not None and trial["engine"] is not None, 2.0)
                with lock:
                    if ok:
                        engine_ms.append((float(trial["engine"]) - sent) * 1000)  # type: ignore[arg-type]
                        screen_ms.append((float(trial["screen"]) - sent) * 1000)  # type: ignore[arg-type]
                    else:
                        got = f"engine={trial['engine'] is not None} screen={trial['screen'] is not None}"
                        failures.append(f"trial {i}: {got}")
                    trial["sent"] = None
                send((118 + i % 9, 78, 92))
                wait_until(lambda: not any(a.alarm_id == "nibp_sys.upper" and a.condition_present
                                           for a in engine.active_alarms()), 2.0)
                engine.acknowledge("benchmark")
                wait_until(lambda: not engine.active_alarms(), 1.0)
                time.sleep(0.15)  # at least three redraws: the bar shows no high alarm before the next trial
        finally:
            slices.on = False
            done.set()

    keep = threading.Thread(target=drain_and_keepalive, daemon=True)
    runner = threading.Thread(target=trials_thread, daemon=True)
    quitter = QTimer()
    quitter.setInterval(50)
    quitter.timeout.connect(lambda: app.quit() if done.is_set() else None)

    def begin() -> None:
        pipeline.start()
        supervisor.start()
        window.start()
        keep.start()
        runner.start()

    QTimer.singleShot(0, begin)
    quitter.start()
    profile_to = os.environ.get("KAPBENCH_PROFILE")  # cProfile of the GUI thread, for finding its costs
    profiler = cProfile.Profile(time.thread_time) if profile_to else None  # CPU time: load-independent
    if profiler is not None:
        profiler.enable()
    app.exec()
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(str(profile_to))
    stop.set()
    runner.join(5)
    keep.join(2)
    window.fast_timer.stop()
    window.trend_timer.stop()
    supervisor.stop()
    pipeline.stop()
    window.close()
    os.close(master)
    os.close(slave)
    tmp.cleanup()

    wake_before = pty_wakeup_ms(50 if quick else 200)
    note = f"{len(screen_ms)} of {trials} trials"
    if failures:
        note += f"; missed: {failures[0]}" + (f" (+{len(failures) - 1} more)" if len(failures) > 1 else "")
    complete = len(screen_ms) == trials
    figs: list[Figure] = []
    for name, xs, target in (("engine", engine_ms, ENGINE_TARGET_MS), ("screen", screen_ms, SCREEN_TARGET_MS)):
        p99 = percentile(xs, 99) if xs else math.nan
        spread = (f"p50 {percentile(xs, 50):.1f} / p95 {percentile(xs, 95):.1f} / max {max(xs):.1f} ms"
                  if xs else "")
        figs.append(Figure(f"alarm_latency.{name}_p99", p99, "ms", f"< {target:g} ms",
                           bool(xs) and complete and p99 < target, spread=spread, runs=len(xs), note=note,
                           extra={"median_ms": percentile(xs, 50) if xs else None}))
    figs += slices.figures()
    wake = wake_before
    wake_spread = (f"p50 {percentile(wake, 50):.2f} / p95 {percentile(wake, 95):.2f} / max {max(wake):.1f} ms"
                   if wake else "")
    figs.append(Figure("alarm_latency.pty_wakeup_p99", percentile(wake, 99), "ms", spread=wake_spread, runs=len(wake),
                       note="same-run baseline: a byte through a pty to a blocked reader thread, no kapmonitor"))
    return figs
