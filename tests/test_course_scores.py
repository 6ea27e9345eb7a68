"""Outcome instruments: ranges, bands, item 9, PHQ-9 items, and response/remission/relapse on
constructed courses (kapmonitor.course.instruments and .outcomes)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kapmonitor.course import outcomes
from kapmonitor.course.instruments import (
    BDI_II,
    INSTRUMENTS,
    MADRS,
    PHQ9_ITEMS,
    PHQ_9,
    InstrumentError,
    check_score,
    instrument,
    needs_safety_prompt,
)
from kapmonitor.course.outcomes import ScorePoint, assess, change_pct

BANDS = {
    "bdi-ii": [(0, 13, "minimal"), (14, 19, "mild"), (20, 28, "moderate"), (29, 63, "severe")],
    "phq-9": [(0, 4, "minimal"), (5, 9, "mild"), (10, 14, "moderate"), (15, 19, "moderately severe"),
              (20, 27, "severe")],
    "madrs": [(0, 6, "normal"), (7, 19, "mild"), (20, 34, "moderate"), (35, 60, "severe")],
}


@given(st.sampled_from(sorted(INSTRUMENTS)), st.integers(min_value=-5, max_value=70))
def test_severity_band_is_the_published_one_and_out_of_range_is_refused(key: str, total: int) -> None:
    inst = INSTRUMENTS[key]
    expected = [label for lo, hi, label in BANDS[key] if lo <= total <= hi]
    if 0 <= total <= inst.max_total:
        assert inst.severity(total) == expected[0]
        assert check_score(inst, total, None, None) == total
    else:
        with pytest.raises(InstrumentError, match="out of range"):
            inst.severity(total)
        with pytest.raises(InstrumentError, match="out of range"):
            check_score(inst, total, None, None)


@given(st.lists(st.integers(min_value=0, max_value=3), min_size=9, max_size=9))
def test_phq9_total_is_the_sum_of_its_items_and_item9_is_the_ninth(items: list[int]) -> None:
    assert check_score(PHQ_9, sum(items), None, tuple(items)) == sum(items)
    assert check_score(PHQ_9, sum(items), items[8], tuple(items)) == sum(items)
    with pytest.raises(InstrumentError, match="not the sum"):
        check_score(PHQ_9, sum(items) + 1, None, tuple(items))
    assert needs_safety_prompt(PHQ_9, items[8]) == (items[8] > 0)


@given(st.integers(min_value=1, max_value=63), st.integers(min_value=0, max_value=63))
def test_change_from_baseline_and_response(baseline: int, total: int) -> None:
    c = change_pct(total, baseline)
    assert c == pytest.approx((total - baseline) / baseline * 100)
    assert outcomes.is_response(c) == (2 * total <= baseline)  # ≥ 50 % reduction, exactly


def test_bad_scores_are_refused_with_a_reason() -> None:
    with pytest.raises(InstrumentError, match="unknown instrument"):
        instrument("hamd")
    assert instrument("PHQ9") is PHQ_9 and instrument("bdi2") is BDI_II
    with pytest.raises(InstrumentError, match="item 9 4 is out of range 0–3"):
        check_score(BDI_II, 20, 4, None)
    with pytest.raises(InstrumentError, match="only the total"):
        check_score(BDI_II, 9, None, (1,) * 9)  # the BDI-II's items are never recorded
    with pytest.raises(InstrumentError, match="no item 9"):
        check_score(MADRS, 20, 1, None)
    with pytest.raises(InstrumentError, match="cannot exceed"):
        check_score(PHQ_9, 1, 2, None)
    with pytest.raises(InstrumentError, match="9 item answers"):
        check_score(PHQ_9, 4, None, (1, 1, 1, 1))
    assert not needs_safety_prompt(BDI_II, 0) and needs_safety_prompt(BDI_II, 1)
    assert len(PHQ9_ITEMS) == 9 and PHQ9_ITEMS[8][0] == "44260-8"


def _course(instrument_key: str, dated: list[tuple[int, str, int]]) -> list[ScorePoint]:
    start = dt.date(2026, 1, 5)
    return [ScorePoint(i, instrument_key, start + dt.timedelta(days=d), tp, total)
            for i, (d, tp, total) in enumerate(dated, start=1)]


def test_response_then_relapse_then_response_again() -> None:
    pts = _course("bdi-ii", [(0, "baseline", 36), (7, "after-infusion-1", 20), (14, "after-infusion-3", 18),
                             (45, "month-1", 12), (75, "month-2", 19), (105, "month-3", 10)])
    a = assess("bdi-ii", pts)
    assert a.baseline is not None and a.baseline.total == 36
    assert a.response_reached == dt.date(2026, 1, 19)  # 18 = exactly 50 % below 36
    assert a.relapse == dt.date(2026, 3, 21)  # 19 is no longer ≥ 50 % below 36
    assert a.response_current  # 10 at month 3: responding again, the relapse stays recorded
    assert a.remission_reached == dt.date(2026, 2, 19)  # 12 ≤ 13
    assert a.remission_lost == dt.date(2026, 3, 21) and a.remission_current
    assert a.latest_change_pct == pytest.approx((10 - 36) / 36 * 100)


def test_remission_thresholds_are_the_documented_ones() -> None:
    phq = assess("phq-9", _course("phq-9", [(0, "baseline", 18), (30, "month-1", 5)]))
    assert phq.remission_reached is None and not phq.remission_current  # PHQ-9 < 5, so 5 is not
    phq = assess("phq-9", _course("phq-9", [(0, "baseline", 18), (30, "month-1", 4)]))
    assert phq.remission_reached == dt.date(2026, 2, 4)
    madrs = assess("madrs", _course("madrs", [(0, "baseline", 30), (30, "month-1", 10)]))
    assert madrs.remission_current and madrs.response_current
    madrs = assess("madrs", _course("madrs", [(0, "baseline", 30), (30, "month-1", 11)]))
    assert not madrs.remission_current
    bdi = assess("bdi-ii", _course("bdi-ii", [(0, "baseline", 30), (30, "month-1", 14)]))
    assert bdi.remission_reached is None and bdi.response_current  # 14 > 13 is no remission; −53 % a response
    assert bdi.response_reached == dt.date(2026, 2, 4)


def test_no_baseline_no_response_and_a_zero_baseline_has_no_percentage() -> None:
    a = assess("bdi-ii", _course("bdi-ii", [(10, "month-1", 5)]))
    assert a.baseline is None and a.response_reached is None and a.remission_reached is None
    a = assess("phq-9", _course("phq-9", [(0, "baseline", 0), (30, "month-1", 0)]))
    assert a.latest_change_pct is None and a.response_reached is None
    # the later of two baselines counts; other instruments are ignored
    pts = _course("bdi-ii", [(0, "baseline", 40), (5, "baseline", 30), (30, "month-1", 16)])
    pts.append(ScorePoint(99, "phq-9", dt.date(2026, 2, 1), "month-1", 1))
    a = assess("bdi-ii", pts)
    assert a.baseline is not None and a.baseline.total == 30 and a.response_current is False
