"""The pleth strip sweeps: each frame draws only the new samples and repaints a narrow band, with an
erase bar ahead of the newest sample; a gap in the signal stays a gap."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication

from kapmonitor.model.buffers import WaveBuffer
from kapmonitor.model.parameters import Parameter
from kapmonitor.ui import theme
from kapmonitor.ui.vitals.pleth_strip import ERASE_SECONDS, PlethStrip, percentiles_1_99

RATE = 100.0
SECONDS = 8.0
N = int(RATE * SECONDS)
T0 = 1_000_000.0


@pytest.fixture()
def strip(qapp: QApplication) -> PlethStrip:
    widget = PlethStrip()
    widget.resize(800, 120)
    widget.show()
    qapp.processEvents()
    return widget


def _wave(first: int, count: int) -> np.ndarray:
    i = np.arange(first, first + count)
    return (np.sin(2 * np.pi * 1.2 * i / RATE) ** 4).astype(np.float32)


def _pleth_columns(image: QImage) -> set[int]:
    """Columns that hold a pixel close to the pleth colour."""
    target = QColor(theme.PARAMETER_COLOURS[Parameter.PLETH])
    out = set()
    for x in range(image.width()):
        for y in range(25, image.height(), 2):  # below the label
            c = image.pixelColor(x, y)
            if abs(c.red() - target.red()) + abs(c.green() - target.green()) + abs(c.blue() - target.blue()) < 120:
                out.add(x)
                break
    return out


def test_a_frame_repaints_only_the_band_of_the_new_samples(strip: PlethStrip, qapp: QApplication) -> None:
    buf = WaveBuffer(RATE, SECONDS)
    buf.write(T0, _wave(0, 400))
    strip.refresh(buf)
    assert strip.full_redraws == 1
    qapp.processEvents()
    for k in range(5):  # 30 frames a second at 100 Hz: 3-4 samples a frame
        buf.write(T0 + (400 + 4 * k) / RATE, _wave(400 + 4 * k, 4))
        strip.refresh(buf)
        band = strip.last_band
        # 4 samples (4 px) and the erase bar (0.3 s = 30 px) plus a few pixels of joins
        assert 0 < band.width() <= 4 + ERASE_SECONDS * RATE + 8, band
        assert band.width() < 0.1 * strip.width()
    assert strip.full_redraws == 1  # no full redraw after the first
    strip.refresh(buf)  # nothing new: nothing repainted
    assert strip.last_band.isEmpty()


def test_sweep_draws_at_the_sample_position_with_an_erase_bar_ahead(strip: PlethStrip, qapp: QApplication) -> None:
    buf = WaveBuffer(RATE, SECONDS)
    first = round(T0 * RATE)  # the absolute index of the first sample: its column is index mod N
    buf.write(T0, _wave(0, N))  # a whole sweep
    strip.refresh(buf)
    for k in range(60):  # then 2.4 s more, frame by frame
        buf.write(T0 + (N + 4 * k) / RATE, _wave(N + 4 * k, 4))
        strip.refresh(buf)
    qapp.processEvents()
    image = strip.grab().toImage()
    columns = _pleth_columns(image)
    newest = (first + N + 240 - 1) % N  # column of the newest sample (1 px per sample at 800 px)
    gap = set(range(newest + 3, newest + int(ERASE_SECONDS * RATE) - 2))
    assert not columns & gap  # the erase bar ahead of the newest sample is empty
    behind = set(range(newest - 200, newest - 2))
    assert len(columns & behind) > 0.9 * len(behind)  # the trace behind it
    after = set(range(newest + int(ERASE_SECONDS * RATE) + 3, newest + 200))
    assert len(columns & after) > 0.9 * len(after)  # the previous sweep beyond the bar


def test_no_signal_is_a_gap_in_the_trace(strip: PlethStrip, qapp: QApplication) -> None:
    buf = WaveBuffer(RATE, SECONDS)
    values = _wave(0, N)
    values[300:400] = np.nan
    buf.write(T0, values)
    strip.refresh(buf)
    qapp.processEvents()
    columns = _pleth_columns(strip.grab().toImage())
    first = round(T0 * RATE)
    missing = {(first + i) % N for i in range(303, 397)}
    assert not columns & missing
    assert len(columns & {(first + i) % N for i in range(100, 290)}) > 170


def test_resize_sweeps_the_buffer_in_again(strip: PlethStrip, qapp: QApplication) -> None:
    buf = WaveBuffer(RATE, SECONDS)
    buf.write(T0, _wave(0, N))
    strip.refresh(buf)
    strip.resize(400, 120)
    qapp.processEvents()
    strip.refresh(buf)
    assert strip.full_redraws == 2 and strip.last_band == strip.rect()


@pytest.mark.parametrize("n", [1, 2, 3, 7, 100, 1001])
def test_scale_percentiles_are_numpys(n: int) -> None:
    values = np.random.default_rng(n).normal(size=n).astype(np.float32)
    lo, hi = percentiles_1_99(values)
    expected = np.percentile(values, (1, 99))
    assert lo == pytest.approx(float(expected[0]), rel=1e-6, abs=1e-7)
    assert hi == pytest.approx(float(expected[1]), rel=1e-6, abs=1e-7)


def test_first_frame_loads_no_masked_array_module() -> None:
    """Start-up: the first frame's scale does not load numpy.ma (~10 ms before the first paint)."""
    code = (
        "import sys, numpy as np\n"
        "from PySide6.QtWidgets import QApplication\n"
        "from kapmonitor.model.buffers import WaveBuffer\n"
        "from kapmonitor.ui.vitals.pleth_strip import PlethStrip\n"
        "app = QApplication([])\n"
        "strip = PlethStrip(); strip.resize(600, 120); buf = WaveBuffer(100.0, 10.0)\n"
        "buf.write(1000.0, np.sin(np.arange(1000) / 10.0).astype(np.float32)); strip.refresh(buf)\n"
        "assert strip.full_redraws == 1\n"
        "print('numpy.ma' in sys.modules)\n"
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
