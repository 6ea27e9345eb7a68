"""Central station: 16 chairs at 1 Hz through a real Mosquitto on loopback into the central window.

A child process runs 16 `MqttPublisher`s (one alarm engine each) publishing 1-Hz vitals; on a line
"raise N" on its stdin it raises a high alarm on chair N and prints the wall time it did. This
process runs the central model and window (offscreen, 1280x800) and notes the first paint of that
chair's tile alarm label showing the alarm. Figures: bedside alarm -> central tile painted (p99),
central CPU (this process, 16 chairs), heartbeat loss (kill -9 of a one-chair child) -> offline
alarm, and the publishing cost per bedside (the child's CPU / 16).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import REPO_ROOT, Figure, percentile, qt_quiet, skipped

CHAIRS = 16
TILE_P99_MS = 250.0
CPU_PCT = 10.0
OFFLINE_S = 5.0
PUBLISH_PCT = 1.0

CHILD = r"""
import sys, time, threading
from kapmonitor.alarms.engine import AlarmEngine
from kapmonitor.alarms.profile import Priority, default_profile
from kapmonitor.model.clock import RealClock
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import Source, Status, VitalSample
from kapmonitor.publish import MqttPublisher, parse_broker_url
url, n, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3]
clock = RealClock()
chairs = []
for i in range(n):
    engine = AlarmEngine(default_profile(), clock)
    pub = MqttPublisher(parse_broker_url(url, environ={}), f"{prefix}-{i:02d}", clock, identity="chair", alarms=engine)
    engine.add_listener(pub.on_alarm)
    pub.start()
    chairs.append((engine, pub))
while not all(p.connected for _, p in chairs):
    time.sleep(0.05)
print("ready", flush=True)
def feed():
    k = 0
    while True:
        t = clock.now()
        for engine, pub in chairs:
            pub.on_items([VitalSample(t, Parameter.HR, 70.0 + k % 5, Status.OK, Source.SIMULATED),
                          VitalSample(t, Parameter.SPO2, 98.0, Status.OK, Source.SIMULATED)])
        k += 1
        time.sleep(1.0)
threading.Thread(target=feed, daemon=True).start()
for line in sys.stdin:
    cmd, _, arg = line.strip().partition(" ")
    if cmd == "raise":
        engine = chairs[int(arg)][0]
        t = time.time()
        engine.report_technical("bench", f"bench alarm {arg}", Priority.HIGH)
        print(f"raised {t!r}", flush=True)
    elif cmd == "clear":
        engine = chairs[int(arg)][0]
        engine.clear_technical("bench")
        engine.acknowledge(alarm_id="bench")
        print("cleared", flush=True)
    elif cmd == "cpu":
        print(f"cpu {time.process_time()!r}", flush=True)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _broker(tmp: Path) -> tuple[subprocess.Popen[bytes], str] | None:
    binary = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else None)
    if binary is None:
        return None
    port = _free_port()
    conf = tmp / "m.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    proc = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, f"mqtt://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    return None


def _child(url: str, n: int, prefix: str = "chair") -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", CHILD, url, str(n), prefix], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO_ROOT,
                            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        raise RuntimeError("the chair process did not start")
    return proc


def _ask(proc: subprocess.Popen[str], line: str) -> str:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(line + "\n")
    proc.stdin.flush()
    return proc.stdout.readline().strip()


def run(quick: bool) -> list[Figure]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    qt_quiet()
    from PySide6.QtCore import QEvent, QEventLoop, QObject, QTimer
    from PySide6.QtWidgets import QApplication, QLabel

    from kapmonitor.central.model import CentralModel, offline_alarm_id
    from kapmonitor.publish import parse_broker_url
    from kapmonitor.ui.central.window import CentralWindow

    names = ("central: bedside alarm -> tile painted", "central CPU, 16 chairs at 1 Hz",
             "heartbeat loss -> offline alarm", "bedside publishing cost")
    with tempfile.TemporaryDirectory(prefix="kapbench-central-") as tmpdir:
        started = _broker(Path(tmpdir))
        if started is None:
            return [skipped(n, "", "", "Mosquitto not installed (apt-get install mosquitto)") for n in names]
        broker, url = started
        app = QApplication.instance() or QApplication([])
        model = CentralModel(parse_broker_url(url, environ={}), client_id="bench-central")
        window = CentralWindow(model, None)
        window.resize(1280, 800)
        painted: dict[str, float] = {}

        class PaintSpy(QObject):
            def eventFilter(self, obj: QObject, ev: QEvent) -> bool:
                if ev.type() == QEvent.Type.Paint and isinstance(obj, QLabel) and "bench alarm" in obj.text():
                    painted.setdefault(obj.text().split("bench alarm ")[1].split()[0], time.time())
                return False

        spy = PaintSpy()
        chairs = _child(url, CHAIRS)
        figures: list[Figure] = []
        try:
            model.start()
            window.start()
            window.show()

            def pump(until: float, cond: object = None) -> bool:
                while time.monotonic() < until:
                    app.processEvents()
                    if cond is not None and cond():  # type: ignore[operator]
                        return True
                    time.sleep(0.002)
                return False

            pump(time.monotonic() + 20, lambda: len(window.order) == CHAIRS)
            for tile in window.tiles:
                tile.alarm.installEventFilter(spy)
            # 1. latency: bedside alarm raised -> the chair's tile alarm painted
            lat: list[float] = []
            rng = random.Random(1)
            for _ in range(10 if quick else 40):
                i = rng.randrange(CHAIRS)
                painted.pop(str(i), None)
                reply = _ask(chairs, f"raise {i}")
                t0 = float(reply.split()[1])
                if pump(time.monotonic() + 3, lambda i=i: str(i) in painted):
                    lat.append((painted[str(i)] - t0) * 1000.0)
                _ask(chairs, f"clear {i}")
                pump(time.monotonic() + 0.3 + rng.random() * 0.3)
            p99 = percentile(lat, 99) if lat else None
            figures.append(Figure(names[0], p99, "ms", f"p99 < {TILE_P99_MS:.0f} ms",
                                  None if p99 is None else p99 < TILE_P99_MS, runs=len(lat),
                                  spread=f"p50 {percentile(lat, 50):.0f}" if lat else "",
                                  note=f"{CHAIRS} chairs; wall clock of one machine"))
            # 2. central CPU and the chairs' publishing cost over the same window
            span = 10.0 if quick else 30.0
            c0, p0, w0 = time.process_time(), float(_ask(chairs, "cpu").split()[1]), time.monotonic()
            loop = QEventLoop()  # the central idles in Qt's own loop, as in `kapmonitor central`
            QTimer.singleShot(int(span * 1000), loop.quit)
            loop.exec()
            c1, p1, w1 = time.process_time(), float(_ask(chairs, "cpu").split()[1]), time.monotonic()
            central_pct = (c1 - c0) / (w1 - w0) * 100.0
            figures.append(Figure(names[1], central_pct, "% of a core", f"< {CPU_PCT:.0f} %", central_pct < CPU_PCT,
                                  note=f"{span:.0f} s, model + window offscreen"))
            per_chair = (p1 - p0) / (w1 - w0) * 100.0 / CHAIRS
            figures.append(Figure(names[3], per_chair, "% of a core per bedside", f"< {PUBLISH_PCT:.0f} %",
                                  per_chair < PUBLISH_PCT, note="publisher threads + paho, 1-Hz vitals"))
            # 3. kill -9 of a one-chair bedside -> offline alarm at the central
            times: list[float] = []
            for k in range(1 if quick else 3):
                one = _child(url, 1, f"lost{k}")
                key = f"clinic/lost{k}-00"
                pump(time.monotonic() + 3)
                t0 = time.monotonic()
                one.send_signal(signal.SIGKILL)
                one.wait(5)
                ok = pump(t0 + 10, lambda key=key: offline_alarm_id(key) in
                          {a.alarm_id for a in model.alarms.active_alarms()})
                if ok:
                    times.append(time.monotonic() - t0)
                model.alarms.acknowledge(who="bench")
            worst = max(times) if times else None
            figures.append(Figure(names[2], worst, "s", f"<= {OFFLINE_S:.0f} s", None if worst is None else
                                  worst <= OFFLINE_S, runs=len(times), note="Last Will after kill -9 (worst)"))
        finally:
            window.stop()
            model.stop()
            chairs.kill()
            chairs.wait(5)
            broker.terminate()
            broker.wait(5)
        return figures
