"""The clinical record tells the truth (issue 11 defects 4, 9, 17): the dose actually given, the
infusion overrun alarm, discharge before the minimum observation time, and the course view equal to
the PDF on the same real record (real recorder, real alarm engine, PDF read back with pdftotext)."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from kapmonitor.alarms.engine import AlarmEngine
from kapmonitor.alarms.log import AlarmLogWriter
from kapmonitor.alarms.profile import default_profile
from kapmonitor.alarms.session_link import INFUSION_OVERRUN, OVERRUN_GRACE_S, SessionAlarmLink
from kapmonitor.alarms.supervisor import AlarmSupervisor
from kapmonitor.export import ExportOptions, run_export
from kapmonitor.model.clock import ManualClock
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import VitalSample
from kapmonitor.recording.recorder import SessionRecorder
from kapmonitor.session import NurseSession, demo_setup, figures
from kapmonitor.session.entries import DischargeError
from kapmonitor.session.model import ValidationError
from kapmonitor.session.storage import course_sessions, new_session_path

pytestmark = pytest.mark.usefixtures("qapp")

T0 = 1_700_000_000.0
PSEUDONYM = "KAP-TRUTH"
TICKED = {
    "min_observation": True,
    "vitals_baseline": True,
    "moaas_5": True,
    "walking": True,
    "no_nausea_dizziness": True,
    "escort": True,
}


def pdf_page1(folder: Path, db: Path) -> str:
    result = run_export(db, folder, ExportOptions(formats=("pdf",), paper="a4"))
    pdf = next(p for p in result.files if p.suffix == ".pdf")
    text = subprocess.run(
        ["pdftotext", "-layout", "-f", "1", "-l", "1", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    return flatten(text)


def flatten(text: str) -> str:
    """One line, the PDF's typographic ligatures spelt out."""
    for lig, plain in (("ﬁ", "fi"), ("ﬀ", "ff"), ("ﬂ", "fl"), ("ﬃ", "ffi"), ("ﬄ", "ffl")):
        text = text.replace(lig, plain)
    return re.sub(r"\s+", " ", text)


def pdf_all(folder: Path, db: Path) -> str:
    result = run_export(db, folder, ExportOptions(formats=("pdf",), paper="a4"))
    pdf = next(p for p in result.files if p.suffix == ".pdf")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return flatten(text)


class Bedside:
    """A session on a real recorder with a real alarm engine writing the alarm log."""

    def __init__(self, folder: Path, number: int = 2) -> None:
        self.clock = ManualClock(T0)
        self.path = new_session_path(PSEUDONYM, T0, folder)
        self.recorder = SessionRecorder(self.path).start()
        setup = demo_setup().with_changes(pseudonym=PSEUDONYM, course_number=number, course_total=3, simulated=False)
        self.session = NurseSession(self.recorder, setup, self.clock, path=self.path)
        self.engine = AlarmEngine(default_profile(), self.clock)
        self.engine.add_listener(AlarmLogWriter(self.recorder))

    def feed(self, *items: VitalSample) -> None:
        self.recorder.on_items(items)
        self.engine.on_items(items)
        self.session.on_items(items)

    def nibp(self, sys_: float, dia: float) -> None:
        t = self.clock.now()
        mid = f"m{t}"
        self.feed(
            VitalSample(t, Parameter.NIBP_SYS, sys_, measurement_id=mid),
            VitalSample(t, Parameter.NIBP_DIA, dia, measurement_id=mid),
            VitalSample(t, Parameter.NIBP_MEAN, round((sys_ + 2 * dia) / 3), measurement_id=mid),
        )

    def run(self, seconds: int, step: int = 30) -> None:
        for _ in range(seconds // step):
            self.clock.advance(step)
            t = self.clock.now()
            self.feed(VitalSample(t, Parameter.HR, 80.0), VitalSample(t, Parameter.SPO2, 98.0))

    def close(self) -> None:
        self.recorder.stop()


def test_course_view_equals_the_pdf_for_a_session_closed_mid_infusion(tmp_path: Path) -> None:
    """Defect 17: "Infusion 0:00" and "H 0" in the course view where the PDF said 65 min and High 1."""
    from kapmonitor.ui.course.view import summary_row

    bed = Bedside(tmp_path)
    bed.nibp(124, 78)
    bed.run(60)
    bed.session.start_infusion()
    bed.run(600)
    bed.nibp(166, 92)  # medium (>= 160) ...
    bed.run(300)
    bed.nibp(186, 96)  # ... the same alarm becomes high (>= 180)
    bed.run(65 * 60 - 900)  # the program ends 65 min after the start, the pump never stopped
    bed.close()

    (summary,) = course_sessions(PSEUDONYM, tmp_path)
    columns = ["date", "course", "dose", "infusion", "peak", "alarms", "status"]
    row = dict(zip(columns, summary_row(summary), strict=True))
    flat = pdf_page1(tmp_path / "out", bed.path)

    assert row["infusion"] == "65 min (not stopped)"
    assert "Time infusing 65 min (not stopped)" in flat
    high, medium, low = (int(x) for x in row["alarms"].split("/"))
    assert high >= 1  # the escalated medium alarm counts as high in both
    assert f"*** High: {high}" in flat and f"** Medium: {medium}" in flat and f"* Low: {low}" in flat
    assert row["course"] == "2 of 3" and "session 2 of 3" in flat
    assert row["peak"] == "186/96" and "186 mmHg" in flat and "96 mmHg" in flat
    assert "Infusion stop not stopped" in flat


def test_dose_given_is_the_confirmed_pump_volume_everywhere(tmp_path: Path) -> None:
    """Defect 9: 53:27 infused, 4.68 mL against 3.50 mL planned (0.67 mg/kg): Stop confirms the pump's
    volume; record, course view and PDF show it and flag the deviation."""
    from kapmonitor.ui.course.view import CourseView, summary_row
    from kapmonitor.ui.session.common import ERROR

    bed = Bedside(tmp_path)
    bed.nibp(124, 78)
    bed.session.start_infusion()
    bed.run(53 * 60 + 27, step=1)
    s = bed.session
    assert s.computed_volume_ml() == pytest.approx(5.25 * (53 * 60 + 27) / 3600)  # 4.68 mL
    with pytest.raises(ValidationError, match="decimal point"):
        s.stop_infusion(volume_ml=46.8)
    with pytest.raises(ValidationError, match="negative"):
        s.stop_infusion(volume_ml=-1.0)
    assert s.infusion.stopped_at is None  # a refused volume records nothing
    s.stop_infusion(volume_ml=4.68, who="JQ")
    assert s.volume_infused_ml() == 4.68
    bed.run(3600)
    s.discharge("JQ", TICKED)
    bed.close()

    conn = sqlite3.connect(bed.path)
    info = dict(conn.execute("SELECT key, value FROM session_info").fetchall())
    audit = conn.execute("SELECT who, action, before, after FROM audit WHERE action = 'confirm_volume'").fetchall()
    conn.close()
    assert float(info["volume_infused_ml"]) == 4.68 and info["volume_infused_confirmed"] == "1"
    assert audit and audit[0][0] == "JQ" and '"volume_infused_ml": 4.68' in audit[0][3]

    (summary,) = course_sessions(PSEUDONYM, tmp_path)
    assert summary_row(summary)[2] == "0.67 mg/kg, 4.68 mL, 134 % of plan"
    view = CourseView(PSEUDONYM, tmp_path)
    cell = view.table.item(0, 2)
    dose = cell.toolTip()
    shown = cell.text().replace("\u00a0", " ").replace("\u2060", "").replace("\n", ", ")
    assert shown == summary_row(summary)[2] and cell.foreground().color().name() == ERROR
    assert dose == "0.67 mg/kg = 46.8 mg (4.68 mL, pump read-back) — 134 % of plan"
    flat = pdf_page1(tmp_path / "out", bed.path)
    assert f"Dose given: {dose}" in flat
    assert "(planned 0.5 mg/kg, 3.5 mL)" in flat
    assert "Volume infused 4.68 mL (pump read-back)" in flat
    result = run_export(bed.path, tmp_path / "json", ExportOptions(formats=("json",)))
    doc = json.loads(next(p for p in result.files if p.suffix == ".json" and "manifest" not in p.name).read_text())
    given = doc["session"]["dose_given"]
    assert given["volume_ml"] == 4.68 and given["confirmed"] is True and given["flagged"] is True
    assert given["mg_per_kg"] == pytest.approx(4.68 * 10 / 70, abs=1e-4)


def test_overrun_raises_an_alarm_until_the_pump_is_stopped(tmp_path: Path) -> None:
    """Defect 9: running past the planned 40 minutes is alarmed (medium, technical)."""
    bed = Bedside(tmp_path)
    link = SessionAlarmLink(bed.engine, bed.session)
    bed.session.start_infusion()
    bed.run(40 * 60)
    link.tick()
    assert INFUSION_OVERRUN not in {a.alarm_id for a in bed.engine.active_alarms()}
    bed.clock.advance(OVERRUN_GRACE_S + 1)
    link.tick()
    (alarm,) = [a for a in bed.engine.active_alarms() if a.alarm_id == INFUSION_OVERRUN]
    assert alarm.priority.label == "medium" and "stop the pump" in alarm.message
    bed.session.pause_infusion("line check")  # paused: the pump is not running past the plan
    assert INFUSION_OVERRUN not in {a.alarm_id for a in bed.engine.active_alarms()}
    bed.session.resume_infusion()
    assert INFUSION_OVERRUN in {a.alarm_id for a in bed.engine.active_alarms()}
    bed.session.stop_infusion(volume_ml=3.6)
    assert INFUSION_OVERRUN not in {a.alarm_id for a in bed.engine.active_alarms()}
    link.close()
    # a session set aside while overrunning (another monitor, a new record) does not leave its alarm behind
    other = Bedside(tmp_path / "other")
    other_link = SessionAlarmLink(other.engine, other.session)
    other.session.start_infusion()
    other.clock.advance(40 * 60 + OVERRUN_GRACE_S + 1)
    other_link.tick()
    assert INFUSION_OVERRUN in {a.alarm_id for a in other.engine.active_alarms()}
    other_link.close()
    assert INFUSION_OVERRUN not in {a.alarm_id for a in other.engine.active_alarms()}
    other.close()
    bed.close()
    conn = sqlite3.connect(bed.path)
    events = conn.execute("SELECT event FROM alarm_log WHERE alarm_id = ? ORDER BY id", (INFUSION_OVERRUN,)).fetchall()
    conn.close()
    assert [e for (e,) in events].count("raised") == 2  # logged, never silently lost


def test_the_supervisor_times_the_overrun_alarm_without_any_session_change(tmp_path: Path) -> None:
    bed = Bedside(tmp_path)
    supervisor = AlarmSupervisor(bed.engine, period=0.02)
    link = SessionAlarmLink(bed.engine, bed.session, supervisor)
    bed.session.start_infusion()
    with supervisor:
        bed.clock.advance(40 * 60 + OVERRUN_GRACE_S + 5)  # no data, no session change: only time passes
        deadline = time.monotonic() + 5
        while INFUSION_OVERRUN not in {a.alarm_id for a in bed.engine.active_alarms()}:
            assert time.monotonic() < deadline, "the overrun alarm was not raised on time"
            time.sleep(0.02)
    link.close()
    bed.close()


def test_early_discharge_needs_a_reason_and_the_pdf_says_so(tmp_path: Path) -> None:
    """Defect 4: signed at 30 of 60 min with every box ticked and no reason; the PDF printed
    "✓ Minimum observation time elapsed"."""
    bed = Bedside(tmp_path)
    s = bed.session
    bed.nibp(124, 78)
    s.start_infusion()
    bed.run(2400)
    s.stop_infusion(volume_ml=3.5)
    bed.run(1800)
    with pytest.raises(DischargeError, match="minimum observation time has not elapsed"):
        s.discharge("JQ", TICKED)
    assert not s.closed
    s.discharge("JQ", TICKED, override_reason="taxi waiting; Dr W agreed")
    s.add_addendum("phoned at 18:00: well", who="JQ")
    bed.close()

    flat = pdf_all(tmp_path / "out", bed.path)
    assert "✓ Minimum observation time elapsed" not in flat
    assert "✗ Minimum observation time elapsed: NOT elapsed" in flat
    assert "EARLY DISCHARGE: Observed 30 min after the infusion (minimum 60 min)" in flat
    assert "Discharged against the checklist — reason: taxi waiting; Dr W agreed" in flat
    assert "Program's assessment" in flat and "30:00 of 60 min to go" in flat
    # the edit history: the confirmed volume, the discharge with its reason, the addendum
    assert "Edit history (audit trail" in flat
    assert "confirm volume" in flat and "source computed → pump read-back" in flat
    assert "taxi waiting; Dr W agreed" in flat.split("Edit history")[1]
    assert "phoned at 18:00: well" in flat.split("Edit history")[1]


def test_discharge_on_time_prints_the_tick(tmp_path: Path) -> None:
    bed = Bedside(tmp_path)
    s = bed.session
    s.start_infusion()
    bed.run(2400)
    s.stop_infusion(volume_ml=3.5)
    bed.run(3600)
    s.discharge("JQ", TICKED)
    bed.close()
    flat = pdf_page1(tmp_path / "out", bed.path)
    assert "✓ Minimum observation time elapsed" in flat
    assert "EARLY" not in flat and "against the checklist" not in flat
    assert "Dose given: 0.50 mg/kg = 35.0 mg (3.50 mL, pump read-back)" in flat
    assert "% of plan" not in flat


def test_pdf_draws_the_nibp_mean_in_the_screen_colour(tmp_path: Path) -> None:
    """Defect 22: the PDF coloured the NIBP mean purple, the screen orange."""
    from PySide6.QtGui import QColor, QImage

    from kapmonitor.ui import theme

    bed = Bedside(tmp_path)
    bed.session.start_infusion()
    for k in range(12):
        bed.nibp(130 + 3 * k, 80)
        bed.run(300)
    bed.close()
    result = run_export(bed.path, tmp_path / "out", ExportOptions(formats=("pdf",), paper="a4"))
    pdf = next(p for p in result.files if p.suffix == ".pdf")
    prefix = tmp_path / "chart"
    subprocess.run(
        ["pdftoppm", "-r", "100", "-f", "2", "-l", "2", "-png", "-singlefile", str(pdf), str(prefix)], check=True
    )
    img = QImage(str(prefix) + ".png")
    screen = QColor(theme.PARAMETER_COLOURS[Parameter.NIBP_MEAN])

    def near_hue(c: QColor) -> bool:
        # the screen's hue and saturation (the medium-alarm yellow is more saturated, another hue)
        return abs(c.hue() - screen.hue()) <= 3 and abs(c.saturation() - screen.saturation()) <= 30

    hits = sum(1 for y in range(0, img.height(), 2) for x in range(0, img.width(), 2) if near_hue(img.pixelColor(x, y)))
    assert hits > 40, hits  # the mean's dots and dotted line, in the screen's orange


def test_course_view_pdf_and_exports_share_one_definition_of_baseline_peaks_and_alarms(tmp_path: Path) -> None:
    """One definition each (session/figures.py): a BP higher before the infusion than during it is the
    baseline, not the peak, in the course view, the PDF and the JSON export alike."""
    from kapmonitor.export.data import load_session
    from kapmonitor.export.snapshot import take_snapshot
    from kapmonitor.ui.course.view import summary_row

    bed = Bedside(tmp_path)
    bed.nibp(172, 99)  # anxious before the start: the baseline, and a medium alarm
    bed.run(300)
    bed.session.start_infusion()
    bed.run(600)
    bed.nibp(151, 88)  # the peak from the start on
    bed.run(600)
    bed.nibp(140, 85)
    bed.run(600)
    bed.close()

    conn = take_snapshot(bed.path)
    data = load_session(conn)
    conn.close()
    peaks, base = data.peaks(), data.baseline()
    assert (peaks["nibp_sys"].value, peaks["nibp_dia"].value) == (151.0, 88.0)
    assert (base["nibp_sys"].value, base["nibp_dia"].value) == (172.0, 99.0)
    assert base["hr"].value == 80.0 and peaks["spo2"].value == 98.0
    series = data.samples.series
    assert peaks == figures.peaks(series, data.infusion_start) and base == figures.baseline(series, data.infusion_start)

    (summary,) = course_sessions(PSEUDONYM, tmp_path)
    row = summary_row(summary)
    assert row[4] == "151/88" and (summary.peak_sys, summary.peak_dia) == (151.0, 88.0)
    assert summary.alarms_by_priority == data.alarm_counts() and data.alarm_counts()["medium"] >= 1
    flat = pdf_page1(tmp_path / "out", bed.path)
    assert "151 mmHg" in flat and "172 mmHg" in flat
    result = run_export(bed.path, tmp_path / "json", ExportOptions(formats=("json",)))
    doc = json.loads(next(p for p in result.files if p.suffix == ".json" and "manifest" not in p.name).read_text())
    assert doc["session"]["alarms_by_priority"] == summary.alarms_by_priority
