"""The course view on a real 1280×800 desktop (Xvfb + openbox, the real `kapmonitor run`): a 12-month
course opened from the Session menu with real key presses sits beside the vitals, covering neither
the alarm area, the tiles nor the status bar. KAPMONITOR_DOCS_SCREENSHOTS=docs keeps the screenshot
as docs/course-view.png."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from course_view_fixtures import PSEUDONYM, build_course
from desktop_support import App, Desktop, Rect

DOCS = os.environ.get("KAPMONITOR_DOCS_SCREENSHOTS")


@pytest.fixture(scope="module")
def app(desktop_factory) -> Iterator[App]:  # type: ignore[no-untyped-def]
    desktop: Desktop = desktop_factory(1280, 800)
    build_course(desktop.workdir / "data")  # data/sessions and data/courses.db: what the app reads
    running = App(desktop, "--scenario", "normal", "--speed", "10")
    yield running
    running.close()


def test_the_course_view_fits_beside_the_vitals_at_1280x800(app: App) -> None:
    before = app.windows()
    app.key("alt+s", "c", window=app.nurse)
    view = app.wait_new_window(before, "the course view")
    try:
        app.activate(view)
        app.key("ctrl+a")
        app.desktop.x(["xdotool", "type", "--delay", "40", PSEUDONYM])
        app.key("Return")
        time.sleep(2.0)
        shot = app.desktop.screenshot("course-view")
        if DOCS:
            Path(DOCS).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shot.path, Path(DOCS) / "course-view.png")
        view = next(w for w in app.windows() if w.id == view.id)
        assert view.title == f"Course — {PSEUDONYM}", view.title  # the course was found and shown
        covered = [r for r in app.protected() if view.frame.intersects(r)]
        assert not covered, f"the course view at {view.frame} covers {covered}"
        status = Rect(*app.geometry()["status_bar"])  # type: ignore[misc]
        assert not view.frame.intersects(status) and view.frame.inside(app.desktop.screen), view.frame
    finally:
        app.key("Escape", window=view)


def test_the_phq9_form_is_answered_with_real_keys_beside_the_vitals(app: App) -> None:
    import sqlite3

    before = app.windows()
    app.key("alt+s", "c", window=app.nurse)
    view = app.wait_new_window(before, "the course view")
    app.activate(view)
    app.key("ctrl+a")
    app.desktop.x(["xdotool", "type", "--delay", "40", PSEUDONYM])
    app.key("Return")
    time.sleep(1.5)
    before = app.windows()
    app.key("alt+s")  # Score…
    entry = app.wait_new_window(before, "the score entry")
    app.key("alt+i", "Down", "Return", "alt+e")
    app.desktop.x(["xdotool", "type", "--delay", "40", "AB"])
    before = app.windows()
    app.key("alt+p")  # PHQ-9 on screen for the patient
    form = app.wait_new_window(before, "the PHQ-9 form")
    assert form.title == "PHQ-9 questionnaire" and entry.id not in {w.id for w in app.windows()}
    app.activate(form)
    app.key("2")
    time.sleep(0.5)
    shot = app.desktop.screenshot("phq9-form")
    if DOCS:
        shutil.copyfile(shot.path, Path(DOCS) / "phq9-form.png")
    assert not [r for r in app.protected() if form.frame.intersects(r)], f"the form at {form.frame} covers the vitals"
    app.key("1", "1", "0", "1", "1", "0", "0", "0")
    db = app.desktop.workdir / "data" / "courses.db"

    def saved() -> list[tuple[object, ...]]:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return conn.execute("SELECT total, items, source, who FROM scores WHERE source = 'form'").fetchall()
        finally:
            conn.close()

    app.desktop.wait_for(saved, "the PHQ-9 saved by the ninth answer", timeout=10)
    assert saved() == [(6, "[2, 1, 1, 0, 1, 1, 0, 0, 0]", "form", "AB")]
    app.key("Escape", window=form)
    assert form.id in {w.id for w in app.windows()}  # the patient's screen stays until the clinician takes it
