"""Ring buffers: wrap-around, snapshots, and gaps that stay gaps."""

from __future__ import annotations

import numpy as np

from kapmonitor.model.buffers import TrendBuffer, WaveBuffer


def test_trend_buffer_keeps_the_newest_in_order() -> None:
    buf = TrendBuffer(5)
    for i in range(8):
        buf.append(float(i), float(i * 10))
    t, v = buf.snapshot()
    assert t.tolist() == [3.0, 4.0, 5.0, 6.0, 7.0]
    assert v.tolist() == [30.0, 40.0, 50.0, 60.0, 70.0]
    assert buf.last() == (7.0, 70.0)


def test_trend_buffer_extend_across_the_wrap_and_none_is_nan() -> None:
    buf = TrendBuffer(6)
    buf.extend(np.arange(4.0), np.arange(4.0))
    buf.extend(np.arange(4.0, 9.0), np.arange(4.0, 9.0))
    t, _ = buf.snapshot()
    assert t.tolist() == [3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    buf.append(9.0, None)
    assert np.isnan(buf.snapshot()[1][-1])


def test_wave_buffer_places_samples_by_time_and_leaves_gaps() -> None:
    wave = WaveBuffer(rate_hz=10.0, seconds=3.0)
    wave.write(0.0, np.ones(10, dtype=np.float32))
    wave.write(2.0, np.full(10, 2.0, dtype=np.float32))  # one second missing
    end, values = wave.snapshot()
    assert end == 3.0
    assert values[:10].tolist() == [1.0] * 10
    assert np.isnan(values[10:20]).all()
    assert values[20:].tolist() == [2.0] * 10
    wave.mark_gap_until(4.0)
    end, values = wave.snapshot()
    assert end == 4.0 and np.isnan(values[-10:]).all()
