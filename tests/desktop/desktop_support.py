"""Support of the real-desktop test layer: the real `kapmonitor run` under Xvfb with the openbox window manager,
driven by real key events (xdotool), seen through root-window screenshots (ImageMagick `import`) and
the window manager's geometry (xwininfo, _NET_FRAME_EXTENTS).

Each `Desktop` starts its own X server with `-displayfd`, so parallel runs never share a display. The
app writes its alarm area and tile rectangles to a JSON file (KAPMONITOR_GEOMETRY_JSON, see
kapmonitor/ui/placement.py); everything else is measured from outside the app. Missing tools fail
with the command that installs them (scripts/dev.sh test does), never a skip.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLS = {"Xvfb": "xvfb", "openbox": "openbox", "xdotool": "xdotool", "import": "imagemagick",
         "convert": "imagemagick", "xwininfo": "x11-utils", "xprop": "x11-utils"}


def require_tools() -> None:
    missing = sorted({pkg for tool, pkg in TOOLS.items() if shutil.which(tool) is None})
    if missing:
        pytest.fail(f"the real-desktop tests need {' '.join(missing)} "
                    f"(scripts/dev.sh test installs them; or: apt-get install {' '.join(missing)})")


@dataclass(frozen=True)
class Rect:
    x: int
    y: int
    w: int
    h: int

    @property
    def right(self) -> int:
        return self.x + self.w

    @property
    def bottom(self) -> int:
        return self.y + self.h

    def intersects(self, other: Rect) -> bool:
        return self.x < other.right and other.x < self.right and self.y < other.bottom and other.y < self.bottom

    def inside(self, other: Rect) -> bool:
        return other.x <= self.x and other.y <= self.y and self.right <= other.right and self.bottom <= other.bottom


class Image:
    """A screenshot as RGB rows (read through ImageMagick's PPM output; no imaging library needed)."""

    def __init__(self, png: Path) -> None:
        data = subprocess.run(["convert", str(png), "ppm:-"], check=True, capture_output=True).stdout
        parts = data.split(maxsplit=4)  # P6 width height maxval pixels
        self.width, self.height = int(parts[1]), int(parts[2])
        self.pixels = parts[4][: self.width * self.height * 3]
        self.path = png

    def pixel(self, x: int, y: int) -> tuple[int, int, int]:
        i = (y * self.width + x) * 3
        p = self.pixels
        return p[i], p[i + 1], p[i + 2]

    def region(self, r: Rect) -> Iterator[tuple[int, int, int]]:
        for y in range(max(0, r.y), min(self.height, r.bottom)):
            for x in range(max(0, r.x), min(self.width, r.right)):
                yield self.pixel(x, y)

    def count(self, r: Rect, test: Callable[[tuple[int, int, int]], bool]) -> int:
        return sum(1 for p in self.region(r) if test(p))


def alarm_red(p: tuple[int, int, int]) -> bool:
    """The high-priority alarm red (#ff2020, background or text), not orange or yellow."""
    r, g, b = p
    return r >= 200 and g <= 90 and b <= 90


def luminance(p: tuple[int, int, int]) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in p)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_lines_contrast(image: Image, r: Rect, min_pixels: int = 6) -> list[tuple[int, float]]:
    """Per line of text in `r` (rows whose pixels differ from the background, grouped): the contrast
    of its text against the background. The background is the commonest colour of each line band, the
    text colour the one of at least `min_pixels` pixels that differs most from it (anti-aliased edges
    are softer; the glyph cores carry the text colour)."""
    rows: list[tuple[int, dict[tuple[int, int, int], int]]] = []
    for y in range(max(0, r.y), min(image.height, r.bottom)):
        counts: dict[tuple[int, int, int], int] = {}
        for x in range(max(0, r.x + 3), min(image.width, r.right - 3)):  # skip the popup's border
            p = image.pixel(x, y)
            counts[p] = counts.get(p, 0) + 1
        rows.append((y, counts))
    lines: list[tuple[int, float]] = []
    band: list[dict[tuple[int, int, int], int]] = []
    band_y = 0

    def close_band() -> None:
        if len(band) < 5:  # a border or separator line, not text
            return
        total: dict[tuple[int, int, int], int] = {}
        for counts in band:
            for p, n in counts.items():
                total[p] = total.get(p, 0) + n
        background = max(total, key=lambda p: total[p])
        text = [p for p, n in total.items() if n >= min_pixels and p != background]
        if text:
            lines.append((band_y, max(contrast(background, p) for p in text)))

    for y, counts in rows:
        background = max(counts, key=lambda p: counts[p]) if counts else None
        busy = background is not None and sum(n for p, n in counts.items() if contrast(p, background) > 1.3) >= 2
        if busy:
            if not band:
                band_y = y
            band.append(counts)
        else:
            close_band()
            band = []
    close_band()
    return lines


class Desktop:
    """An X server of its own with openbox, at `width`×`height`."""

    def __init__(self, width: int, height: int, workdir: Path) -> None:
        require_tools()
        self.width, self.height = width, height
        self.workdir = workdir
        self.procs: list[subprocess.Popen[bytes]] = []
        read, write = os.pipe()
        xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", f"{width}x{height}x24",
                                 "-nolisten", "tcp"], pass_fds=(write,), stderr=subprocess.DEVNULL)
        os.close(write)
        self.procs.append(xvfb)
        with os.fdopen(read) as f:
            number = f.readline().strip()
        if not number:
            self.close()
            pytest.fail("Xvfb did not start")
        self.display = f":{number}"
        self.env = {**os.environ, "DISPLAY": self.display}
        self.env.pop("QT_QPA_PLATFORM", None)  # the real xcb platform, not the tests' offscreen one
        self.env.pop("WAYLAND_DISPLAY", None)
        self.procs.append(subprocess.Popen(["openbox"], env=self.env, stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL))
        self.wait_for(lambda: "_NET_SUPPORTING_WM_CHECK(WINDOW)" in self.x(["xprop", "-root"]), "openbox")

    def x(self, args: list[str], check: bool = False) -> str:
        done = subprocess.run(args, env=self.env, capture_output=True, text=True, check=check, timeout=30)
        return done.stdout

    def wait_for(self, condition: Callable[[], object], what: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.2)
        shot = self.workdir / f"timeout-{len(list(self.workdir.glob('timeout-*')))}.png"
        self.x(["import", "-window", "root", str(shot)])
        pytest.fail(f"timed out waiting for {what} (screen: {shot})")

    def screenshot(self, name: str) -> Image:
        png = self.workdir / f"{name}.png"
        self.x(["import", "-window", "root", str(png)], check=True)
        return Image(png)

    @property
    def screen(self) -> Rect:
        return Rect(0, 0, self.width, self.height)

    def close(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()


@dataclass(frozen=True)
class Window:
    id: str
    title: str
    frame: Rect  # with the window manager's title bar and borders
    client: Rect


class App:
    """The real `kapmonitor run` on a `Desktop`, with a private data and settings folder."""

    def __init__(self, desktop: Desktop, *args: str) -> None:
        self.desktop = desktop
        work = desktop.workdir
        self.session = work / "s.db"
        self.geometry_file = work / "geometry.json"
        env = {**desktop.env, "KAPMONITOR_DATA_DIR": str(work / "data"), "XDG_CONFIG_HOME": str(work / "config"),
               "KAPMONITOR_GEOMETRY_JSON": str(self.geometry_file)}
        self.log = open(work / "app.log", "wb")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen([sys.executable, "-m", "kapmonitor", "run", "--session", str(self.session),
                                      *args], env=env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        desktop.wait_for(lambda: self.main_window() is not None and self.geometry_file.exists(),
                         "the kapmonitor window", timeout=40)
        self.nurse = self.main_window()
        assert self.nurse is not None

    # -- windows, from the window manager -------------------------------------------------------------
    def windows(self) -> list[Window]:
        """Every visible, managed (framed) window of the app."""
        found = []
        ids = self.desktop.x(["xdotool", "search", "--onlyvisible", "--pid", str(self.proc.pid)]).split()
        for wid in ids:
            info = self.desktop.x(["xwininfo", "-id", wid])
            values = {}
            for line in info.splitlines():
                key, _, value = line.strip().partition(":")
                values[key] = value.strip()
            if values.get("Map State") != "IsViewable" or "Absolute upper-left X" not in values:
                continue
            title = info.split('"', 2)[1] if info.count('"') >= 2 else ""
            client = Rect(int(values["Absolute upper-left X"]), int(values["Absolute upper-left Y"]),
                          int(values["Width"]), int(values["Height"]))
            extents = self.desktop.x(["xprop", "-id", wid, "_NET_FRAME_EXTENTS"])
            if "=" not in extents:
                continue  # not managed by the window manager: a popup or tooltip
            left, right, top, bottom = (int(v) for v in extents.split("=")[1].split(","))
            frame = Rect(client.x - left, client.y - top, client.w + left + right, client.h + top + bottom)
            found.append(Window(wid, title, frame, client))
        return found

    def main_window(self) -> Window | None:
        return next((w for w in self.windows() if w.title.startswith("kapmonitor ")), None)

    def others(self) -> list[Window]:
        return [w for w in self.windows() if w.id != self.nurse.id]

    def popups(self) -> list[Rect]:
        """Visible unmanaged windows of the app (menus, drop-down lists) as screen rectangles."""
        rects = []
        for wid in self.desktop.x(["xdotool", "search", "--onlyvisible", "--pid", str(self.proc.pid)]).split():
            if "=" in self.desktop.x(["xprop", "-id", wid, "_NET_FRAME_EXTENTS"]):
                continue
            shell = dict(line.split("=", 1) for line in
                         self.desktop.x(["xdotool", "getwindowgeometry", "--shell", wid]).split())
            info = self.desktop.x(["xwininfo", "-id", wid])
            x = int(info.split("Absolute upper-left X:")[1].split()[0])
            y = int(info.split("Absolute upper-left Y:")[1].split()[0])
            rects.append(Rect(x, y, int(shell["WIDTH"]), int(shell["HEIGHT"])))
        return rects

    def wait_new_window(self, before: list[Window], what: str, timeout: float = 10.0) -> Window:
        known = {w.id for w in before}
        found: list[Window] = []

        def appeared() -> bool:
            found[:] = [w for w in self.windows() if w.id not in known]
            return bool(found)

        self.desktop.wait_for(appeared, what, timeout)
        time.sleep(0.6)  # the placer's second look after the window manager framed it
        return next(w for w in self.windows() if w.id == found[0].id)

    # -- what the app reports about itself ---------------------------------------------------------------
    def geometry(self) -> dict[str, object]:
        return json.loads(self.geometry_file.read_text())  # type: ignore[no-any-return]

    def protected(self) -> list[Rect]:
        return [Rect(*r) for r in self.geometry()["protected"]]  # type: ignore[union-attr]

    def alarm_labels(self) -> list[dict[str, object]]:
        return list(self.geometry()["alarm_labels"])  # type: ignore[call-overload]

    def alarm_log(self, *events: str) -> list[tuple[object, ...]]:
        conn = sqlite3.connect(f"file:{self.session}?mode=ro", uri=True, timeout=5)
        try:
            marks = ",".join("?" * len(events))
            return conn.execute(f"SELECT id, event, alarm_id, who FROM alarm_log WHERE event IN ({marks})",
                                events).fetchall()
        finally:
            conn.close()

    # -- input ----------------------------------------------------------------------------------------------
    def activate(self, window: Window) -> None:
        """Give `window` the keyboard, and wait until the window manager says it has it (on a loaded machine
        a key typed too early goes to the window that had the focus before)."""
        deadline = time.monotonic() + 5.0
        while True:
            self.desktop.x(["xdotool", "windowactivate", "--sync", window.id])
            time.sleep(0.3)
            active = self.desktop.x(["xdotool", "getactivewindow"]).strip()
            if active == str(window.id) or time.monotonic() > deadline:
                return

    def key(self, *keys: str, window: Window | None = None) -> None:
        """Real key presses into the focused window (after activating `window`)."""
        if window is not None:
            self.activate(window)
        for k in keys:
            self.desktop.x(["xdotool", "key", "--delay", "80", k])
            time.sleep(0.25)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()
