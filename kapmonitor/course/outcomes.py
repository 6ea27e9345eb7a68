"""Response, remission and relapse: the one place they are defined (the course view, the PDF,
`course show` and the exports all use these functions).

Definitions (state them next to every figure):
- Baseline: the latest score of that instrument with time point `baseline` (screening); without
  one, nothing is computed for that instrument.
- Change from baseline (%) = (score − baseline) / baseline × 100 (negative is better); undefined
  when the baseline is 0.
- Response: a reduction of at least 50 % from baseline (change ≤ −50 %). The conventional
  criterion for BDI-II, PHQ-9 and MADRS in depression trials (e.g. Rush et al. 2006, STAR*D,
  Am J Psychiatry 163:1905; McIntyre et al. 2021 ketamine consensus, Am J Psychiatry 178:383).
- Remission: BDI-II ≤ 13 (the manual's "minimal" band; Beck 1996 — some studies use ≤ 12), PHQ-9 < 5
  (Kroenke 2001; Kroenke et al. 2010 Gen Hosp Psychiatry 32:345), MADRS ≤ 10 (Zimmerman et al. 2004;
  some trials ≤ 12).
- Relapse (loss of response): after a response was first reached, a later score of the same
  instrument that is no longer ≥ 50 % below baseline; its date is the first such score. A response
  reached again later makes `current` true again but the relapse stays recorded.
- Remission lost: after remission was first reached, a later score above the remission threshold.

Only scores after the baseline count (dated on or after it, time point other than baseline).
Pure functions of plain scores; thread-safe.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kapmonitor.course.instruments import Instrument, instrument
from kapmonitor.course.timepoints import BASELINE

RESPONSE_REDUCTION_PCT = 50.0
DEFINITIONS: dict[str, str] = {
    "change_from_baseline_pct": "(score − baseline) / baseline × 100; baseline = the latest score at time point "
                                "baseline (screening); none when the baseline is 0",
    "response": "a score at least 50 % below baseline (change ≤ −50 %)",
    "remission": "BDI-II ≤ 13, PHQ-9 < 5 (≤ 4), MADRS ≤ 10",
    "relapse": "after a response was reached, a later score of the same instrument no longer ≥ 50 % below "
               "baseline (loss of response)",
    "remission_lost": "after remission was reached, a later score above the remission threshold",
}


@dataclass(frozen=True, slots=True)
class ScorePoint:
    """One recorded total, as outcomes need it."""

    id: int
    instrument: str
    date: dt.date
    timepoint: str
    total: int


def change_pct(total: int, baseline: int) -> float | None:
    """Change from baseline in %, None when the baseline is 0 (no reduction can be expressed)."""
    if baseline <= 0:
        return None
    return (total - baseline) / baseline * 100.0


def is_response(change: float | None) -> bool:
    return change is not None and change <= -RESPONSE_REDUCTION_PCT


def is_remission(inst: Instrument, total: int) -> bool:
    return total <= inst.remission_max


@dataclass(frozen=True, slots=True)
class Assessment:
    """Response and remission of one instrument over a course."""

    instrument: str
    baseline: ScorePoint | None
    latest: ScorePoint | None  # the latest score after baseline
    latest_change_pct: float | None
    response_reached: dt.date | None  # first date a response was reached
    response_current: bool  # the latest score is a response
    relapse: dt.date | None  # first loss of response after it was reached
    remission_reached: dt.date | None
    remission_current: bool
    remission_lost: dt.date | None


def _sorted(points: Iterable[ScorePoint]) -> list[ScorePoint]:
    return sorted(points, key=lambda p: (p.date, p.id))


def baseline_of(points: Sequence[ScorePoint]) -> ScorePoint | None:
    base = [p for p in _sorted(points) if p.timepoint == BASELINE]
    return base[-1] if base else None


def after_baseline(points: Sequence[ScorePoint], base: ScorePoint) -> list[ScorePoint]:
    return [p for p in _sorted(points) if p.timepoint != BASELINE and p.date >= base.date]


def assess(instrument_key: str, points: Iterable[ScorePoint]) -> Assessment:
    """Response, remission and relapse of one instrument's scores (other instruments are ignored)."""
    inst = instrument(instrument_key)
    mine = [p for p in points if p.instrument == inst.key]
    base = baseline_of(mine)
    if base is None:
        return Assessment(inst.key, None, None, None, None, False, None, None, False, None)
    later = after_baseline(mine, base)
    response = relapse = remission = lost = None
    for p in later:
        c = change_pct(p.total, base.total)
        if is_response(c):
            response = response or p.date
        elif response is not None and relapse is None:
            relapse = p.date
        if is_remission(inst, p.total):
            remission = remission or p.date
        elif remission is not None and lost is None:
            lost = p.date
    latest = later[-1] if later else None
    latest_change = change_pct(latest.total, base.total) if latest else None
    return Assessment(
        inst.key, base, latest, latest_change,
        response, latest is not None and is_response(latest_change), relapse,
        remission, latest is not None and is_remission(inst, latest.total), lost,
    )
