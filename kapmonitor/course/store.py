"""The clinic's course database: one SQLite file (courses.db in the user data folder) keyed by the
patient pseudonym, holding the courses, their scores, the item-9 safety prompts, the sessions
linked to each course and an audit trail of every change.

Safety of the file, as for session records: WAL, owner-only (0600 file, 0700 folder), the schema
version in PRAGMA user_version with migrations (MIGRATIONS[n] brings version n to n + 1), a file
this program does not recognise (not SQLite, another program's database, a newer schema, failing
its integrity check, a symbolic link) is refused with a one-line message and never written into.
Every check runs before anything is written. Input is validated before a transaction starts and
each change (with its audit row) is one transaction: a refused change leaves nothing behind.

Thread-safety: a CourseStore wraps one connection and belongs to the thread that opened it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sqlite3
import stat
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from kapmonitor.course.instruments import InstrumentError, check_score, instrument, needs_safety_prompt
from kapmonitor.course.timepoints import BASELINE, TimepointError, parse

log = logging.getLogger(__name__)

DB_NAME = "courses.db"
SCHEMA_VERSION = 1
APPLICATION_ID = 0x4B415043  # "KAPC": marks the file as kapmonitor's course database
SQLITE_MAGIC = b"SQLite format 3\x00"
MAX_NAME = 64

_V1 = """
CREATE TABLE courses (
    pseudonym         TEXT PRIMARY KEY,
    opened            TEXT NOT NULL,            -- ISO date of screening
    opened_by         TEXT NOT NULL,
    planned_infusions INTEGER,                  -- NULL: the clinic's number (course.toml)
    created_t         REAL NOT NULL,
    note              TEXT
);
CREATE TABLE scores (
    id         INTEGER PRIMARY KEY,
    pseudonym  TEXT NOT NULL REFERENCES courses (pseudonym),
    instrument TEXT NOT NULL,
    total      INTEGER NOT NULL,
    item9      INTEGER,
    items      TEXT,                            -- JSON list of the PHQ-9 answers when entered item by item
    date       TEXT NOT NULL,
    timepoint  TEXT NOT NULL,
    who        TEXT NOT NULL,
    note       TEXT,
    source     TEXT NOT NULL DEFAULT 'entered', -- entered, import, form
    entered_t  REAL NOT NULL
);
CREATE INDEX scores_by_patient ON scores (pseudonym, date);
CREATE TABLE safety_prompts (
    id              INTEGER PRIMARY KEY,
    score_id        INTEGER NOT NULL UNIQUE REFERENCES scores (id),
    pseudonym       TEXT NOT NULL REFERENCES courses (pseudonym),
    raised_t        REAL NOT NULL,
    acknowledged_by TEXT,
    acknowledged_t  REAL,
    action          TEXT
);
CREATE TABLE sessions (
    id            INTEGER PRIMARY KEY,
    pseudonym     TEXT NOT NULL REFERENCES courses (pseudonym),
    session_id    TEXT NOT NULL,                -- the session file's name
    path          TEXT NOT NULL,
    session_date  TEXT,
    infusion_date TEXT,                         -- NULL: the infusion never started
    course_number INTEGER,
    course_total  INTEGER,
    linked_t      REAL NOT NULL,
    UNIQUE (pseudonym, session_id)
);
CREATE TABLE audit (
    id         INTEGER PRIMARY KEY,
    t          REAL NOT NULL,
    pseudonym  TEXT NOT NULL,
    who        TEXT,
    action     TEXT NOT NULL,
    table_name TEXT NOT NULL,
    row_id     INTEGER,
    before     TEXT,
    after      TEXT,
    reason     TEXT
);
CREATE INDEX audit_by_patient ON audit (pseudonym, t);
"""
MIGRATIONS: dict[int, str] = {0: _V1}


class CourseStoreError(Exception):
    """The course database cannot be used, or an entry is refused; the message is one line."""


class CourseInputError(CourseStoreError):
    """Bad input (out of range, unknown name, future date, no such course): nothing was written."""


def default_path() -> Path:
    from kapmonitor.config import data_dir

    return data_dir() / DB_NAME


@dataclass(frozen=True, slots=True)
class Course:
    pseudonym: str
    opened: dt.date
    opened_by: str
    planned_infusions: int | None
    note: str | None


@dataclass(frozen=True, slots=True)
class Score:
    id: int
    pseudonym: str
    instrument: str
    total: int
    item9: int | None
    items: tuple[int, ...] | None
    date: dt.date
    timepoint: str
    who: str
    note: str | None
    source: str


@dataclass(frozen=True, slots=True)
class SafetyPrompt:
    id: int
    score_id: int
    pseudonym: str
    raised_t: float
    acknowledged_by: str | None
    acknowledged_t: float | None
    action: str | None

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_by is not None


@dataclass(frozen=True, slots=True)
class SessionLink:
    session_id: str
    path: str
    session_date: dt.date | None
    infusion_date: dt.date | None
    course_number: int | None
    course_total: int | None


@dataclass(frozen=True, slots=True)
class NewScore:
    """A score checked and ready to store (see `check_new_score`)."""

    pseudonym: str
    instrument: str
    total: int
    item9: int | None
    items: tuple[int, ...] | None
    date: dt.date
    timepoint: str
    who: str
    note: str | None
    source: str = "entered"


# -- input checks (before any write) ------------------------------------------------------------------


def clean_pseudonym(text: str) -> str:
    p = text.strip()
    if not p or len(p) > MAX_NAME or any(not ch.isprintable() for ch in p):
        raise CourseInputError(f"pseudonym {text!r} must be 1–{MAX_NAME} printable characters")
    return p


def clean_who(text: str) -> str:
    w = text.strip()
    if not w or len(w) > 40 or any(not ch.isprintable() for ch in w):
        raise CourseInputError(f"--by {text!r}: give the initials of who entered it (1–40 printable characters)")
    return w


def parse_date(text: str, today: dt.date) -> dt.date:
    """YYYY-MM-DD, not in the future. Raises CourseInputError."""
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError:
        raise CourseInputError(f"date {text!r} is not a date (YYYY-MM-DD)") from None
    if day > today:
        raise CourseInputError(f"date {day.isoformat()} is in the future (today is {today.isoformat()})")
    if day.year < 2000:
        raise CourseInputError(f"date {day.isoformat()} is before 2000: check the year")
    return day


def check_new_score(
    pseudonym: str, instrument_name: str, total: int, item9: int | None, items: Sequence[int] | None,
    date: str | dt.date, timepoint: str | None, who: str, note: str | None, today: dt.date, source: str = "entered",
) -> NewScore:
    """Every check of one score as entered; raises CourseInputError naming the first problem."""
    p = clean_pseudonym(pseudonym)
    try:
        inst = instrument(instrument_name)
        answers = tuple(items) if items is not None else None
        checked = check_score(inst, total, item9, answers)
        if answers is not None and item9 is None:
            item9 = answers[8]
        tp = parse(timepoint) if timepoint else None
    except (InstrumentError, TimepointError) as exc:
        raise CourseInputError(str(exc)) from None
    day = date if isinstance(date, dt.date) else parse_date(date, today)
    if day > today:
        raise CourseInputError(f"date {day.isoformat()} is in the future (today is {today.isoformat()})")
    text = note.strip() if note else None
    if text is not None and (len(text) > 2000 or "\x00" in text):
        raise CourseInputError("the note is too long (2000 characters at most)")
    return NewScore(p, inst.key, checked, item9, answers, day, tp or "", clean_who(who), text or None, source)


def check_baseline(score: NewScore, first_infusion: dt.date | None) -> None:
    """A baseline comes before any infusion (the same day is allowed: screening that morning)."""
    if score.timepoint == BASELINE and first_infusion is not None and score.date > first_infusion:
        raise CourseInputError(f"a baseline dated {score.date} is after the first infusion ({first_infusion}); "
                               "give its time point (e.g. --timepoint month-1 or unscheduled)")


# -- the file -------------------------------------------------------------------------------------------


def _refuse_unusable_file(path: Path) -> bool:
    """Checks an existing file before it is opened; True when it exists (and looks like SQLite or is empty)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise CourseStoreError(f"cannot read the course database {path}: {exc.strerror or exc}") from None
    if stat.S_ISLNK(st.st_mode):
        raise CourseStoreError(f"{path} is a symbolic link; give the course database itself (left untouched)")
    if not stat.S_ISREG(st.st_mode):
        raise CourseStoreError(f"{path} is not a file (left untouched)")
    if st.st_size:
        try:
            with open(path, "rb") as fh:
                head = fh.read(len(SQLITE_MAGIC))
        except OSError as exc:
            raise CourseStoreError(f"cannot read the course database {path}: {exc.strerror or exc}") from None
        if head != SQLITE_MAGIC:
            raise CourseStoreError(f"{path} is not an SQLite database: the course database is damaged or was "
                                   "replaced (left untouched; restore it from a backup)")
    return True


def _check_identity(conn: sqlite3.Connection, path: Path) -> int:
    """The schema version of a database that is ours (or empty). Raises CourseStoreError otherwise."""
    try:
        app_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    except sqlite3.DatabaseError as exc:
        raise CourseStoreError(f"{path} cannot be read as a database ({exc}); left untouched") from None
    if app_id != APPLICATION_ID and (tables or version):
        raise CourseStoreError(f"{path} is another program's database, not kapmonitor's courses (left untouched)")
    if version > SCHEMA_VERSION:
        raise CourseStoreError(f"{path} has schema version {version}; this kapmonitor knows up to {SCHEMA_VERSION} "
                               "(left untouched: use a newer kapmonitor)")
    if tables:
        try:
            check = [str(r[0]) for r in conn.execute("PRAGMA quick_check").fetchall()]
        except sqlite3.DatabaseError as exc:
            raise CourseStoreError(f"{path} is damaged ({exc}); left untouched, restore it from a backup") from None
        if check != ["ok"]:
            raise CourseStoreError(f"{path} fails its integrity check ({check[0]}); left untouched, "
                                   "restore it from a backup")
    return version


def _migrate(conn: sqlite3.Connection, version: int) -> None:
    while version < SCHEMA_VERSION:
        conn.executescript(
            f"BEGIN;\n{MIGRATIONS[version]}\nPRAGMA application_id = {APPLICATION_ID};\n"
            f"PRAGMA user_version = {version + 1};\nCOMMIT;"
        )
        version += 1
        log.info("course database brought to schema version %d", version)


def _date(text: object) -> dt.date | None:
    return None if text is None else dt.date.fromisoformat(str(text))


class CourseStore:
    """The course database. Open with `open()` (writing) or `open_read_only()`."""

    def __init__(self, conn: sqlite3.Connection, path: Path, writable: bool) -> None:
        self.conn = conn
        self.path = path
        self.writable = writable

    # -- opening ------------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: Path | None = None) -> CourseStore:
        """Open (creating it owner-only if missing) for writing. Raises CourseStoreError."""
        path = Path(path or default_path())
        exists = _refuse_unusable_file(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not exists:
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600))
            conn = sqlite3.connect(path, isolation_level=None, timeout=10.0)
        except (OSError, sqlite3.Error) as exc:
            raise CourseStoreError(f"cannot open the course database {path}: {exc}") from None
        try:
            version = _check_identity(conn, path)
            os.chmod(path, 0o600)
            os.chmod(path.parent, 0o700)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA foreign_keys = ON")
            _migrate(conn, version)
        except CourseStoreError:
            conn.close()
            raise
        except (OSError, sqlite3.Error) as exc:
            conn.close()
            raise CourseStoreError(f"cannot prepare the course database {path}: {exc}") from None
        return cls(conn, path, writable=True)

    @classmethod
    def open_read_only(cls, path: Path | None = None) -> CourseStore:
        """Open an existing database for reading. Raises CourseStoreError (a missing file included)."""
        path = Path(path or default_path())
        if not _refuse_unusable_file(path):
            raise CourseStoreError(f"no course database at {path} (open a course with `kapmonitor course add`)")
        try:
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None, timeout=10.0)
            version = _check_identity(conn, path)
        except sqlite3.Error as exc:
            raise CourseStoreError(f"cannot read the course database {path}: {exc}") from None
        if version < SCHEMA_VERSION:
            conn.close()
            raise CourseStoreError(f"{path} is empty or of an older schema; open it for writing once "
                                   "(e.g. `kapmonitor course add`) to bring it up to date")
        return cls(conn, path, writable=False)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> CourseStore:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        if not self.writable:
            raise CourseStoreError(f"{self.path} is open read-only")
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def _audit(self, conn: sqlite3.Connection, pseudonym: str, who: str | None, action: str, table: str,
               row_id: int | None, before: object = None, after: object = None, reason: str | None = None) -> None:
        def js(x: object) -> str | None:
            return None if x is None else json.dumps(x, default=str, sort_keys=True)

        conn.execute(
            "INSERT INTO audit (t, pseudonym, who, action, table_name, row_id, before, after, reason) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (time.time(), pseudonym, who, action, table, row_id, js(before), js(after), reason),
        )

    # -- courses ------------------------------------------------------------------------------------
    def course(self, pseudonym: str) -> Course | None:
        row = self.conn.execute(
            "SELECT pseudonym, opened, opened_by, planned_infusions, note FROM courses WHERE pseudonym = ?",
            (pseudonym.strip(),),
        ).fetchone()
        if row is None:
            return None
        return Course(str(row[0]), dt.date.fromisoformat(row[1]), str(row[2]), row[3], row[4])

    def require(self, pseudonym: str) -> Course:
        course = self.course(pseudonym)
        if course is None:
            raise CourseInputError(f"no course for pseudonym {pseudonym.strip()!r} (open one with "
                                   "`kapmonitor course add`)")
        return course

    def courses(self) -> list[Course]:
        names = [str(r[0]) for r in self.conn.execute("SELECT pseudonym FROM courses ORDER BY pseudonym")]
        return [c for c in (self.course(n) for n in names) if c is not None]

    def add_course(self, pseudonym: str, who: str, opened: dt.date, planned_infusions: int | None = None,
                   note: str | None = None) -> Course:
        p, w = clean_pseudonym(pseudonym), clean_who(who)
        if planned_infusions is not None and not 1 <= planned_infusions <= 20:
            raise CourseInputError("--infusions must be 1–20")
        if self.course(p) is not None:
            raise CourseInputError(f"pseudonym {p!r} already has a course")
        row = {"pseudonym": p, "opened": opened.isoformat(), "opened_by": w, "planned_infusions": planned_infusions,
               "note": note}
        with self._transaction() as conn:
            conn.execute("INSERT INTO courses (pseudonym, opened, opened_by, planned_infusions, created_t, note) "
                         "VALUES (?, ?, ?, ?, ?, ?)", (p, opened.isoformat(), w, planned_infusions, time.time(), note))
            self._audit(conn, p, w, "open course", "courses", None, after=row)
        return Course(p, opened, w, planned_infusions, note)

    # -- scores -------------------------------------------------------------------------------------
    def add_scores(self, scores: Sequence[NewScore]) -> list[tuple[int, int | None]]:
        """Store checked scores in one transaction, all or none; returns (score id, safety prompt id)."""
        for s in scores:
            self.require(s.pseudonym)
            if not s.timepoint:
                raise CourseInputError("a score needs its time point")
        out: list[tuple[int, int | None]] = []
        with self._transaction() as conn:
            for s in scores:
                row = asdict(s)
                row["date"] = s.date.isoformat()
                row["items"] = None if s.items is None else json.dumps(list(s.items))
                cur = conn.execute(
                    "INSERT INTO scores (pseudonym, instrument, total, item9, items, date, timepoint, who, note, "
                    "source, entered_t) VALUES (:pseudonym, :instrument, :total, :item9, :items, :date, :timepoint, "
                    ":who, :note, :source, :t)", {**row, "t": time.time()},
                )
                score_id = int(cur.lastrowid or 0)
                self._audit(conn, s.pseudonym, s.who, "record score", "scores", score_id, after=row)
                prompt_id = None
                if needs_safety_prompt(instrument(s.instrument), s.item9):
                    cur = conn.execute("INSERT INTO safety_prompts (score_id, pseudonym, raised_t) VALUES (?, ?, ?)",
                                       (score_id, s.pseudonym, time.time()))
                    prompt_id = int(cur.lastrowid or 0)
                    self._audit(conn, s.pseudonym, s.who, "safety prompt raised", "safety_prompts", prompt_id,
                                after={"score_id": score_id, "instrument": s.instrument, "item9": s.item9})
                out.append((score_id, prompt_id))
        return out

    def scores(self, pseudonym: str) -> list[Score]:
        rows = self.conn.execute(
            "SELECT id, pseudonym, instrument, total, item9, items, date, timepoint, who, note, source FROM scores "
            "WHERE pseudonym = ? ORDER BY date, id", (pseudonym.strip(),),
        ).fetchall()
        return [Score(int(r[0]), str(r[1]), str(r[2]), int(r[3]), r[4],
                      None if r[5] is None else tuple(int(x) for x in json.loads(r[5])),
                      dt.date.fromisoformat(r[6]), str(r[7]), str(r[8]), r[9], str(r[10])) for r in rows]

    def correct_score(self, pseudonym: str, score_id: int, who: str, reason: str, today: dt.date,
                      total: int | None = None, item9: int | None = None, date: str | None = None,
                      timepoint: str | None = None, note: str | None = None,
                      first_infusion: dt.date | None = None) -> tuple[Score, int | None]:
        """Correct a score entered wrongly; the audit keeps it as it was, who corrected it and why.

        Every check of a new score applies to the corrected one (a PHQ-9 entered item by item keeps
        its items, so only its time point, date and note can change). An item 9 corrected above 0
        raises a safety prompt when the score had none. Returns the score and a new prompt's id.
        """
        course = self.require(pseudonym)
        w = clean_who(who)
        why = reason.strip()
        if not why:
            raise CourseInputError("a correction needs its reason (--reason)")
        old = next((s for s in self.scores(course.pseudonym) if s.id == score_id), None)
        if old is None:
            raise CourseInputError(f"no score {score_id} in the course of {course.pseudonym!r}")
        if old.items is not None and (total is not None or item9 is not None):
            raise CourseInputError(f"score {score_id} was answered item by item; record it again instead")
        new = check_new_score(course.pseudonym, old.instrument, old.total if total is None else total,
                              old.item9 if item9 is None else item9, old.items, date or old.date,
                              timepoint or old.timepoint, w, old.note if note is None else note, today, old.source)
        check_baseline(new, first_infusion)
        before = {"total": old.total, "item9": old.item9, "date": old.date.isoformat(), "timepoint": old.timepoint,
                  "note": old.note}
        after = {"total": new.total, "item9": new.item9, "date": new.date.isoformat(), "timepoint": new.timepoint,
                 "note": new.note}
        if before == after:
            raise CourseInputError(f"score {score_id} already reads so; nothing to correct")
        has_prompt = any(p.score_id == score_id for p in self.prompts(course.pseudonym))
        prompt_id = None
        with self._transaction() as conn:
            conn.execute("UPDATE scores SET total = :total, item9 = :item9, date = :date, timepoint = :timepoint, "
                         "note = :note WHERE id = :id", {**after, "id": score_id})
            self._audit(conn, course.pseudonym, w, "correct score", "scores", score_id, before, after, why)
            if not has_prompt and needs_safety_prompt(instrument(new.instrument), new.item9):
                cur = conn.execute("INSERT INTO safety_prompts (score_id, pseudonym, raised_t) VALUES (?, ?, ?)",
                                   (score_id, course.pseudonym, time.time()))
                prompt_id = int(cur.lastrowid or 0)
                self._audit(conn, course.pseudonym, w, "safety prompt raised", "safety_prompts", prompt_id,
                            after={"score_id": score_id, "instrument": new.instrument, "item9": new.item9})
        fixed = next(s for s in self.scores(course.pseudonym) if s.id == score_id)
        return fixed, prompt_id

    # -- safety prompts -----------------------------------------------------------------------------
    def prompts(self, pseudonym: str | None = None) -> list[SafetyPrompt]:
        sql = "SELECT id, score_id, pseudonym, raised_t, acknowledged_by, acknowledged_t, action FROM safety_prompts"
        params: tuple[Any, ...] = ()
        if pseudonym is not None:
            sql += " WHERE pseudonym = ?"
            params = (pseudonym.strip(),)
        return [SafetyPrompt(int(r[0]), int(r[1]), str(r[2]), float(r[3]), r[4], r[5], r[6])
                for r in self.conn.execute(sql + " ORDER BY id", params)]

    def acknowledge(self, pseudonym: str, prompt_id: int, who: str, action: str | None = None) -> SafetyPrompt:
        """A clinician acknowledges an item-9 prompt (who and when are recorded). Raises CourseInputError."""
        w = clean_who(who)
        course = self.require(pseudonym)
        mine = {p.id: p for p in self.prompts(course.pseudonym)}
        prompt = mine.get(prompt_id)
        if prompt is None:
            raise CourseInputError(f"no safety prompt {prompt_id} in the course of {course.pseudonym!r}")
        if prompt.acknowledged:
            raise CourseInputError(f"safety prompt {prompt_id} was already acknowledged by {prompt.acknowledged_by}")
        text = action.strip() if action else None
        now = time.time()
        with self._transaction() as conn:
            conn.execute("UPDATE safety_prompts SET acknowledged_by = ?, acknowledged_t = ?, action = ? WHERE id = ?",
                         (w, now, text, prompt_id))
            self._audit(conn, course.pseudonym, w, "safety prompt acknowledged", "safety_prompts", prompt_id,
                        before={"acknowledged_by": None}, after={"acknowledged_by": w, "acknowledged_t": now,
                                                                 "action": text})
        return SafetyPrompt(prompt.id, prompt.score_id, prompt.pseudonym, prompt.raised_t, w, now, text)

    # -- sessions -----------------------------------------------------------------------------------
    def link_session(self, pseudonym: str, link: SessionLink, who: str | None = None) -> bool:
        """Join a session to the course (once); True when it was new."""
        course = self.require(pseudonym)
        row = asdict(link)
        for k in ("session_date", "infusion_date"):
            row[k] = None if row[k] is None else row[k].isoformat()
        with self._transaction() as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO sessions (pseudonym, session_id, path, session_date, infusion_date, "
                "course_number, course_total, linked_t) VALUES (:p, :session_id, :path, :session_date, "
                ":infusion_date, :course_number, :course_total, :t)", {**row, "p": course.pseudonym, "t": time.time()},
            )
            if cur.rowcount:
                self._audit(conn, course.pseudonym, who, "link session", "sessions", int(cur.lastrowid or 0), after=row)
        return bool(cur.rowcount)

    def sessions(self, pseudonym: str) -> list[SessionLink]:
        rows = self.conn.execute(
            "SELECT session_id, path, session_date, infusion_date, course_number, course_total FROM sessions "
            "WHERE pseudonym = ? ORDER BY coalesce(infusion_date, session_date), id", (pseudonym.strip(),),
        ).fetchall()
        return [SessionLink(str(r[0]), str(r[1]), _date(r[2]), _date(r[3]), r[4], r[5]) for r in rows]

    def audit(self, pseudonym: str) -> list[dict[str, Any]]:
        cur = self.conn.execute("SELECT * FROM audit WHERE pseudonym = ? ORDER BY id", (pseudonym.strip(),))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
