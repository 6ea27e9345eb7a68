"""What page 2 of the report shows: the trend chart's series, ranges, limits, bands and markers.

All in session minutes and measured values; the painter (`kapmonitor.report_pdf.chart`) maps them
onto the page. Dense series (HR, SpO2) are reduced to (minute, low, high) buckets here, so a
four-hour record draws as fast as a short one. No Qt. Thread-safe: pure functions, frozen results.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from kapmonitor.alarms.profile import AlarmProfile, Priority
from kapmonitor.audio.timeline import track_bands
from kapmonitor.export.data import SessionData
from kapmonitor.export.report.text import PRIORITY_MARK, ReportClock, Tone, priority_tone
from kapmonitor.model.parameters import Parameter

Array = npt.NDArray[np.float64]
Segment = tuple[tuple[float, float, float], ...]  # (minute, low, high) per bucket
BUCKETS = 900
GAP_MIN = 0.5  # a curve breaks where data is missing for longer than this (minutes)
MAX_GRID_LINES = 12


@dataclass(frozen=True)
class LimitLine:
    value: float
    tone: Tone
    dashed: bool  # medium priority
    text: str  # 'sys 180 ***'


@dataclass(frozen=True)
class PanelContent:
    label: str
    lo: float
    hi: float
    step: float  # grid step of the value axis
    limits: tuple[LimitLine, ...]


@dataclass(frozen=True)
class Series:
    minutes: Array
    values: Array


@dataclass(frozen=True)
class NibpContent:
    # (minute, systolic, diastolic) of each cuff reading from the monitor (model.nibp: one key per reading)
    whiskers: tuple[tuple[float, float, float], ...]
    systolic: Series
    diastolic: Series
    manual_systolic: Series  # hand-entered readings: drawn as hollow diamonds
    manual_diastolic: Series
    mean: Series


@dataclass(frozen=True)
class MusicStrip:
    bands: tuple[tuple[float, float, str, int], ...]  # (start minute, end minute, phase, colour index)
    track_starts: tuple[float, ...]  # minutes


@dataclass(frozen=True)
class ChartContent:
    title: str
    m0: float  # minutes at the left edge
    m1: float
    bp: PanelContent
    hr: PanelContent
    spo2: PanelContent
    infusion: tuple[float, float] | None  # minutes
    pauses: tuple[tuple[float, float], ...]
    nibp: NibpContent
    hr_curve: tuple[Segment, ...]
    spo2_curve: tuple[Segment, ...]
    events: tuple[tuple[float, str], ...]  # (minute, 'E1'), numbered as in the events table
    alarms: tuple[tuple[float, Tone], ...]  # (minute, priority) of each raised alarm
    ticks: tuple[tuple[float, str, str], ...]  # (minute, '+15', '09:30')
    music: MusicStrip | None  # None when no music was recorded


def value_range(data: SessionData, parameters: Sequence[str], lo: float, hi: float, step: float) -> tuple[float, float]:
    """The usual range, widened to whole steps when a value falls outside (never clipped away)."""
    values = [v for p in parameters for v in data.samples.series(p)[1].tolist()]
    if values:
        lo = min(lo, float(np.floor(min(values) / step) * step))
        hi = max(hi, float(np.ceil(max(values) / step) * step))
    return lo, hi


def bucketed(
    t_min: Array, v: Array, m0: float, m1: float, buckets: int = BUCKETS, gap_min: float = GAP_MIN
) -> tuple[Segment, ...]:
    """(minute, low, high) per bucket, split where data is missing for longer than `gap_min`.

    In bulk (numpy's reduceat), not a Python loop per bucket; the minute is the bucket's mean time."""
    if not len(t_min):
        return ()
    edges = np.floor((t_min - m0) / (m1 - m0) * buckets).astype(np.int64)
    bounds = np.nonzero(np.diff(edges))[0] + 1
    starts = np.concatenate(([0], bounds))
    ends = np.concatenate((bounds, [len(t_min)]))
    mean = np.add.reduceat(t_min, starts) / (ends - starts)
    low = np.minimum.reduceat(v, starts)
    high = np.maximum.reduceat(v, starts)
    # a new segment where the gap from the previous bucket's last sample is too long
    breaks = (np.flatnonzero(t_min[starts[1:]] - t_min[ends[:-1] - 1] > gap_min) + 1).tolist()
    rows = list(zip(mean.tolist(), low.tolist(), high.tolist(), strict=True))
    cuts = [0, *breaks, len(rows)]
    return tuple(tuple(rows[a:z]) for a, z in pairwise(cuts) if z > a)


def music_phase_bands(data: SessionData) -> tuple[list[tuple[float, float, str]], list[float]]:
    """(start, end, phase) bands while music sounded, and the track start times.

    Built on `kapmonitor.audio.timeline.track_bands` (the same bands the live trend plot shows);
    consecutive tracks of one phase merge into one band.
    """
    end = data.last_time
    bands = track_bands(data.music, now=end)
    merged: list[tuple[float, float, str]] = []
    for start, stop, title, phase in bands:
        label = phase or title or "music"
        if merged and merged[-1][2] == label and start - merged[-1][1] < 1.0:
            merged[-1] = (merged[-1][0], stop, label)
        else:
            merged.append((start, stop, label))
    return merged, [b[0] for b in bands]


def build_chart(data: SessionData, profile: AlarmProfile, clock: ReportClock) -> ChartContent:
    d = data
    first = d.first_time if d.first_time is not None else d.origin
    last = d.last_time if d.last_time is not None else first + 60
    m0 = float(np.floor(d.minute(first) / 15.0) * 15.0)
    m1 = float(max(np.ceil(d.minute(last) / 15.0) * 15.0, m0 + 15.0))
    infusion = None
    pauses: tuple[tuple[float, float], ...] = ()
    if d.infusion_start is not None:
        end = d.infusion_stop if d.infusion_stop is not None else last
        infusion = (d.minute(d.infusion_start), d.minute(end))
        pauses = tuple((d.minute(p.start), d.minute(p.end if p.end is not None else end)) for p in d.pauses)
    t_hr, v_hr = d.samples.series("hr")
    t_sp, v_sp = d.samples.series("spo2")
    since = "infusion start" if d.infusion_start is not None else "first sample"
    return ChartContent(
        title=f"Trends: minutes from the {since}",
        m0=m0,
        m1=m1,
        **_panels(d, profile),
        infusion=infusion,
        pauses=pauses,
        nibp=_nibp(d),
        hr_curve=bucketed(d.minutes(t_hr), v_hr, m0, m1),
        spo2_curve=bucketed(d.minutes(t_sp), v_sp, m0, m1),
        events=tuple((d.minute(float(e["t"])), f"E{i}") for i, e in enumerate(d.events, start=1)),
        alarms=tuple(
            (d.minute(float(a["t"])), priority_tone(a["priority"]) or "grey")
            for a in d.alarms
            if a["event"] == "raised"
        ),
        ticks=_ticks(d, clock, m0, m1),
        music=_music(d) if d.music else None,
    )


def _limits(profile: AlarmProfile, parameter: Parameter, lo: float, hi: float, prefix: str = "") -> list[LimitLine]:
    """The default profile's limits of `parameter` that fall inside the panel's range."""
    out = []
    for value, priority in profile.limit_lines(parameter):
        if not lo <= value <= hi:
            continue
        tone = priority_tone(priority.label) or "high"
        out.append(LimitLine(value, tone, priority is Priority.MEDIUM, f"{prefix}{value:g} {PRIORITY_MARK[tone]}"))
    return out


def _panels(d: SessionData, profile: AlarmProfile) -> dict[str, PanelContent]:
    # fixed ranges a clinician is used to, widened when a value falls outside (never clipped away)
    bp_lo, bp_hi = value_range(d, ("nibp_sys", "nibp_dia", "nibp_mean"), 40, 220, 20)
    hr_lo, hr_hi = value_range(d, ("hr",), 30, 170, 20)
    sp_lo, sp_hi = value_range(d, ("spo2",), 80, 100, 5)
    sp_hi = min(sp_hi, 100)
    bp_limits = _limits(profile, Parameter.NIBP_SYS, bp_lo, bp_hi, "sys ")
    bp_limits += _limits(profile, Parameter.NIBP_DIA, bp_lo, bp_hi, "dia ")
    return {
        "bp": PanelContent("NIBP mmHg", bp_lo, bp_hi, grid_step(bp_hi - bp_lo, 20.0, 200), tuple(bp_limits)),
        "hr": PanelContent(
            "HR /min",
            hr_lo,
            hr_hi,
            grid_step(hr_hi - hr_lo, 20.0, 160),
            tuple(_limits(profile, Parameter.HR, hr_lo, hr_hi)),
        ),
        "spo2": PanelContent(
            "SpO₂ %",
            sp_lo,
            sp_hi,
            grid_step(sp_hi - sp_lo, 5.0, 25),
            tuple(_limits(profile, Parameter.SPO2, sp_lo, sp_hi)),
        ),
    }


def grid_step(span: float, step: float, usual_span: float) -> float:
    """The value grid's step: `step` over the usual span, twice it beyond, and ten times more until
    at most MAX_GRID_LINES lines remain (one absurd value, say 65535, must not draw a line per step)."""
    step = step if span <= usual_span else 2 * step
    while span / step > MAX_GRID_LINES:
        step *= 10
    return step


def _nibp(d: SessionData) -> NibpContent:
    ts, vs = d.samples.series("nibp_sys", manual=False)
    td, vd = d.samples.series("nibp_dia", manual=False)
    tm, vm = d.samples.series("nibp_mean")
    readings = d.samples.nibp()
    whiskers = tuple(
        (d.minute(m.time), m.systolic, m.diastolic)
        for m in readings
        if m.systolic is not None and m.diastolic is not None and not m.manual
    )
    t_ms, v_ms = d.samples.series("nibp_sys", manual=True)
    t_md, v_md = d.samples.series("nibp_dia", manual=True)
    return NibpContent(
        whiskers=whiskers,
        systolic=Series(d.minutes(ts), vs),
        diastolic=Series(d.minutes(td), vd),
        manual_systolic=Series(d.minutes(t_ms), v_ms),
        manual_diastolic=Series(d.minutes(t_md), v_md),
        mean=Series(d.minutes(tm), vm),
    )


def _ticks(d: SessionData, clock: ReportClock, m0: float, m1: float) -> tuple[tuple[float, str, str], ...]:
    """Time axis every 15, 30, 60, 120 or 240 min, or whole days (at most about 18 ticks)."""
    step = next((s for s in (15.0, 30.0, 60.0, 120.0) if (m1 - m0) / s <= 18), 240.0)
    while (m1 - m0) / step > 18:  # a record spanning days (a monitor clock set wrong): whole days
        step = max(1440.0, step * 2)
    ticks = []
    m = m0
    while m <= m1 + 1e-9:
        ticks.append((m, f"{m:+.0f}" if m else "0", clock.clock(d.origin + m * 60)))
        m += step
    return tuple(ticks)


def _music(d: SessionData) -> MusicStrip:
    bands, track_starts = music_phase_bands(d)
    colours: dict[str, int] = {}
    out = []
    for start, end, label in bands:
        index = colours.setdefault(label, len(colours))
        out.append((d.minute(start), d.minute(end), label, index))
    return MusicStrip(tuple(out), tuple(d.minute(t) for t in track_starts))
