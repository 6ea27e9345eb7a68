"""The course view on a 12-month course (three simulated sessions, BDI-II and PHQ-9 from screening to
the 12-month follow-up): the chart with infusions, response and remission marked and the thresholds
labelled; every cell of its tables printed in the course PDF (read back with pdftotext); the
session figures identical to the session summary's; score entry from the view reaching the store;
the course PDF written from the view on a worker thread."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from course_view_fixtures import INFUSIONS, LAST, PSEUDONYM, TODAY, TRACKS, build_course
from PySide6.QtCore import Qt

from kapmonitor.course.report import build_course_report
from kapmonitor.course.schedule import add_months
from kapmonitor.report_pdf.course import write_course_pdf
from kapmonitor.session.storage import course_sessions
from kapmonitor.ui.course.view import CourseView, summary_row

pytestmark = pytest.mark.usefixtures("qapp")
ROOT = Path(__file__).resolve().parents[1]


def pdf_text(path: Path) -> str:
    out = subprocess.run(["pdftotext", "-raw", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return " ".join(unicodedata.normalize("NFKC", out).split())  # the "fi" ligature read back as "fi"


def loose(text: str) -> str:
    """Text with its separators (line breaks, commas, semicolons, middle dots) as single spaces."""
    return " ".join(re.sub(r"[,;·]", " ", text.replace("\u00a0", " ").replace("\u2060", "")).split())


def words(text: str) -> str:
    return " ".join(text.replace("\u00a0", " ").replace("\u2060", "").split())


@pytest.fixture
def course(tmp_path: Path):  # type: ignore[no-untyped-def]
    return build_course(tmp_path)


def test_the_chart_marks_infusions_response_remission_and_thresholds(qtbot, course) -> None:  # type: ignore[no-untyped-def]
    view = CourseView(PSEUDONYM, course.sessions, store_path=course.db)
    qtbot.addWidget(view)
    labels = view.chart.labels
    assert [f"infusion {n} {d.isoformat()}" for n, d in enumerate(INFUSIONS, 1)] == [x for x in labels
                                                                                   if x.startswith("infusion")]
    assert "BDI-II remission ≤ 13" in labels and "BDI-II response ≤ 18 (−50 % of baseline)" in labels
    assert "PHQ-9 remission ≤ 4" in labels and "PHQ-9 response ≤ 10 (−50 % of baseline)" in labels
    bdi_response = INFUSIONS[1] + dt.timedelta(days=1)  # 36 → 18 24 h after infusion 2
    assert f"◆ BDI-II response {bdi_response.isoformat()}" in labels
    assert f"◆ BDI-II remission {(LAST + dt.timedelta(days=1)).isoformat()}" in labels  # 12 after infusion 3
    assert f"◆ BDI-II relapse {add_months(LAST, 6).isoformat()}" in labels
    _xs, ys = view.chart.curves["phq-9"].getData()
    assert len(ys) == 14 and ys[0] == 20 and ys[-1] == 3  # every PHQ-9 score, baseline to month 12
    assert "response: a score at least 50 % below baseline" in view.definitions.text()
    assert "remission: BDI-II ≤ 13, PHQ-9 < 5" in view.definitions.text()
    assert "response first" in view.outcome.text() and not view.safety_label.isVisible()
    assert view.tabs.tabText(4) == "Follow-ups (0 open)"  # every follow-up of the 12 months done


def test_the_course_view_equals_the_course_pdf(qtbot, course, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    view = CourseView(PSEUDONYM, course.sessions, store_path=course.db)
    qtbot.addWidget(view)
    pdf = tmp_path / "course.pdf"
    write_course_pdf(build_course_report(course.summary()), pdf)
    text = pdf_text(pdf)
    flat = loose(text)
    for table in (view.table, view.scores_table, view.follow_table):
        assert table.rowCount() > 0
        for r in range(table.rowCount()):
            for c in range(table.columnCount()):
                # the view is narrow: one figure a line where the PDF separates them with ", ", "; " or " · "
                if table is view.table and c == 8:  # the playlist: one row per track on paper
                    assert all(loose(t) in flat for t in table.item(r, c).text().split("\n")), (r, c)
                    continue
                cell = loose(table.item(r, c).text())
                assert cell in flat, (r, c, cell)
    marks = [x for x in view.chart.labels if x.startswith("◆") or "≤" in x]  # response, remission, thresholds
    assert len(marks) == 10 and all(loose(x) in flat for x in marks), marks
    for line in view.outcome.text().split("\n\n"):
        assert words(line) in text
    assert view.table.rowCount() == 3 and "ondansetron 4 mg IV" in view.table.item(1, 7).text()
    assert view.table.item(0, 8).text().split("\n") == TRACKS  # the take-home playlist of the session
    assert view.scores_table.rowCount() == 2 * 14
    # the session figures are the session summary's (session/figures.py), as in the session PDF
    sessions = course_sessions(PSEUDONYM, course.sessions)
    assert [words(view.table.item(i, 3).text()) for i in range(3)] == [summary_row(s)[3] for s in sessions]
    assert [words(view.table.item(i, 4).text()) for i in range(3)] == ["154/92", "158/92", "162/92"]
    assert [view.table.item(i, 5).text() for i in range(3)] == [summary_row(s)[5] for s in sessions] == ["0/1/0"] * 3
    assert summary_row(sessions[0])[3] == "40 min"


def test_scores_entered_in_the_view_reach_the_course_and_the_chart(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from course_view_fixtures import SCORES

    course = build_course(tmp_path, [s for s in SCORES if s[3] != "month-12"])
    view = CourseView(PSEUDONYM, course.sessions, store_path=course.db)
    qtbot.addWidget(view)
    assert view.tabs.tabText(4) == "Follow-ups (2 open)"
    entry = view.enter_score()
    assert entry is not None
    qtbot.addWidget(entry)
    assert entry.timepoint.currentData() == "month-12"  # the open follow-up offered first
    entry.instrument.setCurrentIndex(entry.instrument.findData("phq-9"))
    qtbot.keyClicks(entry.total_edit, "2")
    qtbot.keyClicks(entry.item9_edit, "0")
    qtbot.keyClicks(entry.who_edit, "AB")
    qtbot.mouseClick(entry.save_button, Qt.MouseButton.LeftButton)
    assert view.tabs.tabText(4) == "Follow-ups (1 open)"
    _, ys = view.chart.curves["phq-9"].getData()
    assert ys[-1] == 2


def test_an_outstanding_item_9_prompt_shows_until_acknowledged(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from course_view_fixtures import SCORES

    course = build_course(tmp_path, SCORES)
    from kapmonitor.course.store import CourseStore, check_new_score

    with CourseStore.open(course.db) as store:
        store.add_scores([check_new_score(PSEUDONYM, "phq-9", 9, 1, None, TODAY, "unscheduled", "AB", None, TODAY)])
    view = CourseView(PSEUDONYM, course.sessions, store_path=course.db)
    qtbot.addWidget(view)
    assert not view.safety_label.isHidden() and "item 9" in view.safety_label.text()
    dialog = view.acknowledge_next()
    assert dialog is not None
    qtbot.addWidget(dialog)
    qtbot.keyClicks(dialog.panel.who_edit, "DrM")
    qtbot.mouseClick(dialog.panel.ack_button, Qt.MouseButton.LeftButton)
    assert view.safety_label.isHidden()
    with CourseStore.open_read_only(course.db) as store:
        assert [p.acknowledged_by for p in store.prompts(PSEUDONYM)] == ["DrM"]


def test_the_view_writes_the_course_pdf_off_the_gui_thread(qtbot, course, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    view = CourseView(PSEUDONYM, course.sessions, store_path=course.db)
    qtbot.addWidget(view)
    pdf = tmp_path / "out.pdf"
    view.export_pdf(pdf)
    assert view.pdf_thread is not None
    qtbot.waitUntil(lambda: view.pdf_button.text() == "&PDF…", timeout=20000)
    assert "Course PDF written" in view.pdf_button.toolTip()
    assert "Course report" in pdf_text(pdf) and PSEUDONYM in pdf_text(pdf)


def test_course_export_pdf_from_the_command_line(course, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(course.db, data / "courses.db")
    shutil.copytree(course.sessions, data / "sessions")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", KAPMONITOR_DATA_DIR=str(data),
               KAPMONITOR_CONFIG_DIR=str(tmp_path / "config"))
    out = tmp_path / "export"
    run = subprocess.run([sys.executable, "-m", "kapmonitor", "course", "export", PSEUDONYM, "--format", "pdf",
                          "-o", str(out)], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stderr
    pdf = out / f"course-{PSEUDONYM}.pdf"
    assert run.stdout.split() == [str(pdf)] and (pdf.stat().st_mode & 0o777) == 0o600
    text = pdf_text(pdf)
    assert "Scores over the course" in text and "response first" in text and "SIMULATED" in text
    due = subprocess.run([sys.executable, "-m", "kapmonitor", "course", "due", "--format", "json"],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert json.loads(due.stdout)["follow_up"] == []  # the whole 12 months done: nothing due


def test_course_due_lists_exactly_the_follow_ups_due(tmp_path: Path) -> None:
    """The 12-month course without its month-12 scores (due a week ago) and without the PHQ-9 of month 9:
    `course due` lists the two month-12 scores, overdue; the month-9 PHQ-9 can no longer be caught up."""
    from course_view_fixtures import SCORES

    data = tmp_path / "data"
    build_course(data, [s for s in SCORES if s[3] != "month-12" and (s[3], s[0]) != ("month-9", "phq-9")])
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", KAPMONITOR_DATA_DIR=str(data),
               KAPMONITOR_CONFIG_DIR=str(tmp_path / "config"))
    due = subprocess.run([sys.executable, "-m", "kapmonitor", "course", "due", "--format", "json"],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert due.returncode == 0, due.stderr
    rows = json.loads(due.stdout)["follow_up"]
    month12 = add_months(LAST, 12).isoformat()
    assert [(r["pseudonym"], r["instrument"], r["timepoint"], r["due"], r["status"]) for r in rows] == [
        (PSEUDONYM, "bdi-ii", "month-12", month12, "overdue"), (PSEUDONYM, "phq-9", "month-12", month12, "overdue")]


def test_the_phq9_form_outlives_the_course_view(qtbot, course) -> None:  # type: ignore[no-untyped-def]
    """The patient mid-questionnaire is not cut off when the nurse closes the course view."""
    from PySide6.QtCore import QCoreApplication, QEvent
    from PySide6.QtWidgets import QWidget

    nurse = QWidget()
    qtbot.addWidget(nurse)
    view = CourseView(PSEUDONYM, course.sessions, nurse, store_path=course.db)
    entry = view.enter_score()
    assert entry is not None
    entry.instrument.setCurrentIndex(entry.instrument.findData("phq-9"))
    qtbot.keyClicks(entry.who_edit, "AB")
    qtbot.mouseClick(entry.phq9_button, Qt.MouseButton.LeftButton)
    form = entry.form
    assert form is not None and form.isVisible() and form.parentWidget() is nurse
    qtbot.keyClick(form, Qt.Key.Key_1)
    view.close()
    view.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert form.isVisible() and form.answers[0] == 1
    for _ in range(8):
        qtbot.keyClick(form, Qt.Key.Key_0)
    assert form.score_id is not None  # saved although the view that started it is gone


def test_a_course_opened_from_the_view_for_a_pseudonym_with_sessions(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from course_view_fixtures import record_session

    from kapmonitor.course.store import CourseStore

    sessions, db = tmp_path / "sessions", tmp_path / "courses.db"
    record_session(sessions / "a.db", INFUSIONS[0], 1, 3)
    view = CourseView(PSEUDONYM, sessions, store_path=db)
    qtbot.addWidget(view)
    assert view.table.rowCount() == 1 and not view.score_button.isEnabled() and not db.exists()  # nothing written
    assert "No course opened" in view.outcome.text() and not view.open_course_button.isHidden()
    view._ask_initials = lambda: "AB"  # type: ignore[method-assign]  # the initials typed into the question
    view.open_course()
    with CourseStore.open_read_only(db) as store:
        course = store.course(PSEUDONYM)
        linked = [link.session_id for link in store.sessions(PSEUDONYM)]
    assert linked == ["a.db"] and course is not None and course.opened_by == "AB"
    assert course.opened == INFUSIONS[0]  # the day of its first session here
    assert view.summary is not None and [s.link.session_id for s in view.summary.sessions] == ["a.db"]
    assert view.score_button.isEnabled() and view.open_course_button.isHidden() and view.table.rowCount() == 1
