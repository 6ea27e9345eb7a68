"""The course database on a real SQLite file: owner-only, WAL, schema version, refusing files it
does not recognise without touching them, all-or-nothing writes, the item-9 safety prompt and the
audit trail (kapmonitor.course.store)."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from kapmonitor.course.store import (
    APPLICATION_ID,
    SCHEMA_VERSION,
    CourseInputError,
    CourseStore,
    CourseStoreError,
    check_new_score,
)

TODAY = dt.date(2026, 6, 30)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _score(pseudonym: str = "KAP-7", total: int = 30, item9: int | None = None, instrument: str = "bdi-ii",
           date: str = "2026-06-01", timepoint: str = "baseline"):  # type: ignore[no-untyped-def]
    return check_new_score(pseudonym, instrument, total, item9, None, date, timepoint, "AB", "seen at clinic", TODAY)


def test_a_new_database_is_private_wal_and_versioned(tmp_path: Path) -> None:
    path = tmp_path / "data" / "courses.db"
    with CourseStore.open(path) as store:
        store.add_course("KAP-7", "AB", dt.date(2026, 6, 1))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT action, who FROM audit").fetchall() == [("open course", "AB")]
    finally:
        conn.close()


@pytest.mark.parametrize("kind", ["text", "foreign", "newer", "damaged"])
def test_files_it_does_not_recognise_are_refused_and_left_untouched(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "courses.db"
    if kind == "text":
        path.write_text("pseudonym,total\nKAP-7,30\n", encoding="utf-8")
        words = "not an SQLite database"
    elif kind == "foreign":
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE patients (name TEXT)")
        conn.commit()
        conn.close()
        words = "another program's database"
    elif kind == "newer":
        conn = sqlite3.connect(path)
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute("PRAGMA user_version = 99")
        conn.execute("CREATE TABLE courses (pseudonym TEXT)")
        conn.commit()
        conn.close()
        words = "schema version 99"
    else:
        with CourseStore.open(path) as store:
            store.add_course("KAP-7", "AB", dt.date(2026, 6, 1))
            store.add_scores([_score(total=t % 60, date="2026-06-01") for t in range(400)])
        data = bytearray(path.read_bytes())
        page = 4096
        assert len(data) > 4 * page
        data[2 * page:3 * page] = b"\xa5" * page  # a page of the scores table overwritten
        path.write_bytes(bytes(data))
        words = "damaged|integrity"
    before = _digest(path)
    with pytest.raises(CourseStoreError, match=words):
        CourseStore.open(path)
    with pytest.raises(CourseStoreError, match=words):
        CourseStore.open_read_only(path)
    assert _digest(path) == before
    assert not Path(f"{path}-wal").exists() or kind == "damaged"


def test_a_symbolic_link_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real.db"
    with CourseStore.open(real) as store:
        store.add_course("KAP-7", "AB", dt.date(2026, 6, 1))
    link = tmp_path / "courses.db"
    link.symlink_to(real)
    with pytest.raises(CourseStoreError, match="symbolic link"):
        CourseStore.open(link)


def test_an_empty_database_of_version_0_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "courses.db"
    sqlite3.connect(path).close()  # an empty SQLite file (version 0)
    os.chmod(path, 0o644)
    with CourseStore.open(path) as store:
        assert store.courses() == []
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    conn = sqlite3.connect(path)
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    conn.close()
    assert names == {"courses", "scores", "safety_prompts", "sessions", "audit"}


def test_scores_are_stored_all_or_none(tmp_path: Path) -> None:
    with CourseStore.open(tmp_path / "courses.db") as store:
        store.add_course("KAP-7", "AB", dt.date(2026, 6, 1))
        with pytest.raises(CourseInputError, match="no course for pseudonym 'KAP-8'"):
            store.add_scores([_score(), _score(pseudonym="KAP-8")])
        assert store.scores("KAP-7") == []
        assert [a["action"] for a in store.audit("KAP-7")] == ["open course"]
        with pytest.raises(CourseInputError, match="already has a course"):
            store.add_course("KAP-7", "AB", dt.date(2026, 6, 1))


def test_item9_raises_a_prompt_that_a_clinician_acknowledges_with_who_and_when(tmp_path: Path) -> None:
    path = tmp_path / "courses.db"
    with CourseStore.open(path) as store:
        store.add_course("KAP-7", "AB", dt.date(2026, 6, 1))
        [(_, none)] = store.add_scores([_score(item9=0)])
        [(score_id, prompt_id)] = store.add_scores([_score(total=12, item9=1, instrument="phq-9", date="2026-06-20",
                                                           timepoint="month-1")])
        assert none is None and prompt_id is not None
        [prompt] = store.prompts("KAP-7")
        assert prompt.score_id == score_id and not prompt.acknowledged
        done = store.acknowledge("KAP-7", prompt_id, "DrQ", "risk assessed, plan agreed")
        assert done.acknowledged_by == "DrQ" and done.acknowledged_t is not None
        with pytest.raises(CourseInputError, match="already acknowledged by DrQ"):
            store.acknowledge("KAP-7", prompt_id, "XY")
        with pytest.raises(CourseInputError, match="no safety prompt 99"):
            store.acknowledge("KAP-7", 99, "XY")
    with CourseStore.open_read_only(path) as store:
        [prompt] = store.prompts("KAP-7")
        assert (prompt.acknowledged_by, prompt.action) == ("DrQ", "risk assessed, plan agreed")
        trail = [(a["action"], a["who"]) for a in store.audit("KAP-7")]
        assert trail == [("open course", "AB"), ("record score", "AB"), ("record score", "AB"),
                         ("safety prompt raised", "AB"), ("safety prompt acknowledged", "DrQ")]
        with pytest.raises(CourseStoreError, match="read-only"):
            store.add_course("KAP-9", "XY", dt.date(2026, 6, 1))


def test_input_checks_name_the_problem() -> None:
    for args, words in [
        (dict(total=64), "out of range 0–63"),
        (dict(instrument="hamd"), "unknown instrument"),
        (dict(date="2026-07-01"), "in the future"),
        (dict(date="01.06.2026"), "not a date"),
        (dict(timepoint="month-x"), "unknown time point"),
        (dict(pseudonym="  "), "pseudonym"),
    ]:
        with pytest.raises(CourseInputError, match=words):
            _score(**args)


def test_a_later_schema_migration_keeps_the_courses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kapmonitor.course import store as store_module

    path = tmp_path / "courses.db"
    with CourseStore.open(path) as store:
        store.add_course("KAP-7", "AB", dt.date(2026, 6, 1))
        store.add_scores([_score()])
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", 2)
    monkeypatch.setitem(store_module.MIGRATIONS, 1, "ALTER TABLE scores ADD COLUMN language TEXT;")
    with CourseStore.open(path) as store:
        assert [s.total for s in store.scores("KAP-7")] == [30]
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == 2
        assert "language" in [r[1] for r in store.conn.execute("PRAGMA table_info(scores)")]
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", 1)  # an older kapmonitor refuses the newer file
    before = _digest(path)
    with pytest.raises(CourseStoreError, match="schema version 2"):
        CourseStore.open(path)
    assert _digest(path) == before


def test_a_finished_session_joins_its_patients_course(tmp_path: Path) -> None:
    from test_course_cli import record_session

    from kapmonitor.course.sessions import join_course

    db = tmp_path / "courses.db"
    session = tmp_path / "sessions" / "20260610-0900.db"
    record_session(session, dt.date(2026, 6, 10), 1, 3, pseudonym="KAP-7")
    assert join_course(session, db) is False and not db.exists()  # no course database: none is created
    with CourseStore.open(db) as store:
        store.add_course("KAP-8", "AB", dt.date(2026, 6, 1))
    assert join_course(session, db) is False  # another patient's course only
    with CourseStore.open(db) as store:
        store.add_course("KAP-7", "AB", dt.date(2026, 6, 1))
    assert join_course(session, db) is True
    assert join_course(session, db) is False  # once
    with CourseStore.open_read_only(db) as store:
        [link] = store.sessions("KAP-7")
        assert (link.session_id, link.infusion_date, link.course_number, link.course_total) == (
            "20260610-0900.db", dt.date(2026, 6, 10), 1, 3)
        assert [a["action"] for a in store.audit("KAP-7")] == ["open course", "link session"]


def test_a_wrong_score_is_corrected_with_the_old_one_and_the_reason_in_the_audit(tmp_path: Path) -> None:
    with CourseStore.open(tmp_path / "courses.db") as store:
        store.add_course("KAP-7", "AB", dt.date(2026, 6, 1))
        [(sid, _)] = store.add_scores([_score(total=3, item9=0)])
        fixed, prompt = store.correct_score("KAP-7", sid, "CD", "typed 3 for 33", TODAY, total=33, item9=2)
        assert (fixed.total, fixed.item9, fixed.who) == (33, 2, "AB")  # who entered it stays
        assert prompt is not None and [p.id for p in store.prompts("KAP-7")] == [prompt]
        entry = store.audit("KAP-7")[-2]
        assert (entry["action"], entry["who"], entry["reason"]) == ("correct score", "CD", "typed 3 for 33")
        assert '"total": 3' in entry["before"] and '"total": 33' in entry["after"]
        for kwargs, words in [(dict(total=64), "out of range"), (dict(total=33), "already reads so"),
                              (dict(date="2026-06-05", timepoint="baseline"), "after the first infusion")]:
            with pytest.raises(CourseInputError, match=words):
                store.correct_score("KAP-7", sid, "CD", "why", TODAY, first_infusion=dt.date(2026, 6, 3), **kwargs)
        with pytest.raises(CourseInputError, match="reason"):
            store.correct_score("KAP-7", sid, "CD", " ", TODAY, total=30)
        [(phq, _)] = store.add_scores([check_new_score("KAP-7", "phq-9", 9, None, (1,) * 9, "2026-06-01", "baseline",
                                                       "AB", None, TODAY)])
        with pytest.raises(CourseInputError, match="item by item"):
            store.correct_score("KAP-7", phq, "CD", "why", TODAY, total=10)
        assert [s.total for s in store.scores("KAP-7")] == [33, 9]
