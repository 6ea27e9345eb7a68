"""`kapmonitor course` run as a real subprocess against real files: a course of three recorded
sessions with BDI-II and PHQ-9 follow-ups, the due list, every bad input (exit 2, one line,
nothing written), the all-or-nothing CSV import, and the JSON / FHIR / de-identified exports."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from kapmonitor.course.schedule import add_months
from kapmonitor.export.deid import pseudonym_hash
from kapmonitor.recording.recorder import SessionRecorder

ROOT = Path(__file__).resolve().parents[1]
PSEUDONYM = "KAP-0815-QX"
TODAY = dt.date.today()
INFUSIONS = [TODAY - dt.timedelta(days=d) for d in (130, 123, 116)]
OPENED = TODAY - dt.timedelta(days=140)


class Env:
    def __init__(self, tmp: Path) -> None:
        self.data = tmp / "data"
        self.config = tmp / "config"
        self.tmp = tmp
        self.env = dict(os.environ, QT_QPA_PLATFORM="offscreen", KAPMONITOR_DATA_DIR=str(self.data),
                        KAPMONITOR_CONFIG_DIR=str(self.config), KAPMONITOR_DEID_SALT="")

    @property
    def db(self) -> Path:
        return self.data / "courses.db"

    def run(self, *args: str | Path, ok: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([sys.executable, "-m", "kapmonitor", "course", *map(str, args)], capture_output=True,
                              text=True, env=self.env, cwd=ROOT, timeout=120)
        if ok:
            assert proc.returncode == 0, proc.stderr
        return proc

    def dump(self) -> list[str]:
        """Every row of the course database (what 'nothing written' compares)."""
        if not self.db.exists():
            return []
        conn = sqlite3.connect(f"{self.db.as_uri()}?mode=ro", uri=True)
        try:
            return list(conn.iterdump())
        finally:
            conn.close()


def _noon(day: dt.date) -> float:
    return dt.datetime(day.year, day.month, day.day, 12, 0, tzinfo=dt.UTC).timestamp()


def record_session(path: Path, day: dt.date, number: int, total: int, pseudonym: str = PSEUDONYM) -> None:
    """A session record as the bedside program writes it: set-up facts and a 40-min infusion."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rec = SessionRecorder(path, {"app_version": "0.1.0", "driver": "simulated", "simulated": "true",
                                 "utc_offset_minutes": 0}).start()
    try:
        t = _noon(day)
        for k, v in {"pseudonym": pseudonym, "course_number": str(number), "course_total": str(total),
                     "nurse_initials": "JQN", "created_at": repr(t - 1800)}.items():
            rec.insert("session_info", {"key": k, "value": v})
        rec.insert("infusion_events", {"t": t, "action": "start", "reason": None, "who": "JQN"})
        rec.insert("infusion_events", {"t": t + 2400, "action": "stop", "reason": None, "who": "JQN"})
    finally:
        rec.stop()


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return Env(tmp_path)


@pytest.fixture(scope="module")
def course_template(tmp_path_factory: pytest.TempPathFactory) -> Env:
    """Three recorded sessions, the course opened, a baseline and some follow-ups recorded (once)."""
    env = Env(tmp_path_factory.mktemp("course"))
    sessions = env.data / "sessions"
    for n, day in enumerate(INFUSIONS, start=1):
        record_session(sessions / f"{day:%Y%m%d}-1000-sim.db", day, n, 3)
    record_session(sessions / "other.db", INFUSIONS[0], 1, 3, pseudonym="KAP-OTHER")
    out = env.run("add", PSEUDONYM, "--date", OPENED, "--by", "AB", "--note", "referred by Dr Bartholomew")
    assert "3 session(s) joined" in out.stdout
    last = INFUSIONS[-1]
    for args in [
        ("bdi-ii", 36, OPENED, "baseline"), ("phq-9", 20, OPENED, "baseline"),
        ("bdi-ii", 30, INFUSIONS[0], "before-infusion-1"), ("phq-9", 17, INFUSIONS[0], "before-infusion-1"),
        ("bdi-ii", 17, last + dt.timedelta(days=7), "week-1"), ("phq-9", 8, last + dt.timedelta(days=7), "week-1"),
        ("bdi-ii", 12, add_months(last, 1), "month-1"), ("phq-9", 4, add_months(last, 1), "month-1"),
        ("bdi-ii", 20, add_months(last, 2), "month-2"),
    ]:
        env.run("record", PSEUDONYM, "--instrument", args[0], "--total", args[1], "--date", args[2],
                "--timepoint", args[3], "--by", "AB", "--note", "lives on Elm Street")
    return env


@pytest.fixture
def course(course_template: Env, tmp_path: Path) -> Env:
    """A private copy of the recorded course for each test (sessions stay where they were recorded)."""
    env = Env(tmp_path)
    shutil.copytree(course_template.data, env.data)
    return env


def validate(doc: dict[str, object]) -> None:
    import jsonschema

    from kapmonitor.resources import resource_path

    schema = json.loads(resource_path("course_export.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(doc, schema)


def test_a_course_of_three_sessions_shows_response_remission_relapse_and_follow_ups(course: Env) -> None:
    doc = json.loads(course.run("show", PSEUDONYM, "--format", "json").stdout)
    validate(doc)
    import jsonschema

    with pytest.raises(jsonschema.ValidationError):  # the schema is a real check
        validate({**doc, "follow_up": [{**doc["follow_up"][0], "status": "missed"}]})
    assert doc["patient"]["pseudonym"] == PSEUDONYM
    assert [s["infusion_date"] for s in doc["sessions"]] == [d.isoformat() for d in INFUSIONS]
    assert all(s["infusing_min"] == 40.0 for s in doc["sessions"])
    assert sorted(p.suffix for p in (course.data / "sessions").iterdir()) == [".db"] * 4  # read, left as they were
    last = doc["outcomes"][-1]
    assert {k: last[k] for k in ("date", "instrument", "total", "severity", "change_from_baseline_pct")} == {
        "date": add_months(INFUSIONS[-1], 2).isoformat(), "instrument": "bdi-ii", "total": 20,
        "severity": "moderate", "change_from_baseline_pct": round((20 - 36) / 36 * 100, 1)}
    bdi = doc["response"]["bdi-ii"]
    assert bdi["reached"] and bdi["first_reached"] == (INFUSIONS[-1] + dt.timedelta(days=7)).isoformat()
    assert bdi["relapse"] and bdi["relapse_date"] == add_months(INFUSIONS[-1], 2).isoformat() and not bdi["current"]
    assert doc["remission"]["bdi-ii"]["first_reached"] == add_months(INFUSIONS[-1], 1).isoformat()
    assert doc["remission"]["bdi-ii"]["lost"]
    assert doc["remission"]["phq-9"]["current"] and doc["response"]["phq-9"]["current"]
    status = {(f["timepoint"], f["instrument"]): f["status"] for f in doc["follow_up"]}
    assert status[("baseline", "bdi-ii")] == "done" and status[("month-2", "phq-9")] == "overdue"
    assert status[("after-infusion-1", "bdi-ii")] == "overdue"
    assert status[("month-12", "bdi-ii")] == "due"
    assert {f["due"] for f in doc["follow_up"] if f["timepoint"] == "month-12"} == {
        add_months(INFUSIONS[-1], 12).isoformat()}
    rows = list(csv.DictReader(io.StringIO(course.run("show", PSEUDONYM, "--format", "csv").stdout)))
    assert len(rows) == 9 and rows[-1]["response"] == "no" and rows[-1]["severity"] == "moderate"


def test_due_lists_exactly_the_follow_ups_due(course: Env) -> None:
    last = INFUSIONS[-1]
    # recorded: baselines, before infusion 1, week 1, month 1 (and a BDI-II at month 2). The missed
    # infusion-day scores and the PHQ-9 of month 2 can no longer be caught up (a later time point is
    # done or due): they stay overdue in the course but leave the due list. Month 3 (about 25 days
    # ago) is overdue and listed; months 6, 9 and 12 are ahead.
    overdue = {("month-3", "bdi-ii"): "overdue", ("month-3", "phq-9"): "overdue"}
    ahead = {tp: add_months(last, m) for tp, m in (("month-6", 6), ("month-9", 9), ("month-12", 12))}
    for within in (7, 70, 400):
        report = json.loads(course.run("due", "--within", within, "--format", "json").stdout)
        listed = {(r["timepoint"], r["instrument"]): r["status"] for r in report["follow_up"]}
        expected = dict(overdue)
        expected |= {(tp, inst): "due" for tp, due in ahead.items() for inst in ("bdi-ii", "phq-9")
                     if due <= TODAY + dt.timedelta(days=within)}
        assert listed == expected
        assert {r["pseudonym"] for r in report["follow_up"]} == {PSEUDONYM}
    assert len(json.loads(course.run("due", "--within", 400, "--format", "json").stdout)["follow_up"]) == 8
    text = course.run("due").stdout.splitlines()
    assert [line.split()[0] for line in text] == ["OVERDUE", "OVERDUE"] and all(" month 3" in t for t in text)
    doc = json.loads(course.run("show", PSEUDONYM).stdout)
    missed = {(f["timepoint"], f["instrument"]) for f in doc["follow_up"] if f["superseded"]}
    assert ("after-infusion-1", "bdi-ii") in missed and ("month-2", "phq-9") in missed
    assert all(f["status"] == "overdue" for f in doc["follow_up"] if f["superseded"])


def test_item9_prompt_is_listed_until_a_clinician_acknowledges_it(course: Env) -> None:
    proc = course.run("record", PSEUDONYM, "--instrument", "phq-9", "--items", "1,1,1,1,1,1,1,1,2", "--date", TODAY,
                      "--timepoint", "unscheduled", "--by", "AB")
    assert "SAFETY" in proc.stderr and "item 9 = 2" in proc.stderr
    prompt = json.loads(course.run("show", PSEUDONYM).stdout)["safety_prompts"]
    assert [(p["item9"], p["acknowledged"]) for p in prompt] == [(2, False)]
    assert "SAFETY" in course.run("due").stdout
    course.run("ack", PSEUDONYM, prompt[0]["id"], "--by", "DrQ", "--action", "risk assessed")
    doc = json.loads(course.run("show", PSEUDONYM).stdout)
    validate(doc)
    [done] = doc["safety_prompts"]
    assert done["acknowledged"] and done["acknowledged_by"] == "DrQ" and done["acknowledged_at"]
    assert "SAFETY" not in course.run("due").stdout


@pytest.mark.parametrize(("args", "words"), [
    (("record", PSEUDONYM, "--instrument", "bdi-ii", "--total", "64"), "out of range 0–63"),
    (("record", PSEUDONYM, "--instrument", "phq-9", "--total", "28"), "out of range 0–27"),
    (("record", PSEUDONYM, "--instrument", "bdi-ii", "--total", "-1"), "zero or more"),
    (("record", PSEUDONYM, "--instrument", "hamd", "--total", "10"), "unknown instrument"),
    (("record", PSEUDONYM, "--instrument", "bdi-ii", "--total", "10", "--item9", "4"), "item 9"),
    (("record", PSEUDONYM, "--instrument", "bdi-ii", "--total", "10", "--timepoint", "month-x"), "time point"),
    (("record", "KAP-NOBODY", "--instrument", "bdi-ii", "--total", "10"), "no course for pseudonym"),
    (("record", PSEUDONYM, "--instrument", "bdi-ii", "--total", "ten"), "not a whole number"),
    (("ack", PSEUDONYM, "42"), "no safety prompt 42"),
    (("correct", PSEUDONYM, "1", "--total", "99", "--reason", "typo"), "out of range 0–63"),
    (("correct", PSEUDONYM, "999", "--total", "9", "--reason", "typo"), "no score 999"),
    (("add", PSEUDONYM), "already has a course"),
    (("add", "KAP-NEW", "--infusions", "0"), "--infusions must be 1–20"),
    (("show", "KAP-NOBODY"), "no course for pseudonym"),
    (("export", "KAP-NOBODY", "-o", "OUT"), "no course for pseudonym"),
    (("export", PSEUDONYM, "--format", "pdf", "--deidentify", "-o", "OUT"), "names the patient"),
    (("export", PSEUDONYM, "--format", "png", "-o", "OUT"), "unknown course export format 'png'"),
    (("import", "MISSING.csv"), "no such file"),
    (("record", PSEUDONYM, "--instrument", "bdi-ii", "--total", "20", "--timepoint", "baseline"),
     "after the first infusion"),
    (("due", "--within", "-3"), "zero or more"),
    (("record", PSEUDONYM, "--instrument", "phq-9", "--items", "1,1,1"), "9 item answers"),
    (("record", PSEUDONYM, "--instrument", "bdi-ii", "--items", "1,1,1,1,1,1,1,1,1"), "only the total"),
])
def test_bad_input_is_one_line_exit_2_and_nothing_written(course: Env, args: tuple[str, ...], words: str) -> None:
    before = course.dump()
    args = tuple(str(course.tmp / "out") if a == "OUT" else a for a in args)
    if args[0] in ("record", "ack", "correct"):
        args += ("--by", "AB")
    if args[0] == "record":
        args += ("--date", TODAY.isoformat())
    proc = course.run(*args, ok=False)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and words in proc.stderr, proc.stderr
    assert course.dump() == before
    assert not (course.tmp / "out").exists()


def test_a_future_date_and_no_database_at_all_write_nothing(env: Env) -> None:
    proc = env.run("record", PSEUDONYM, "--instrument", "bdi-ii", "--total", "10", "--date", TODAY, "--by", "AB",
                   ok=False)
    assert proc.returncode == 2 and "open a course first" in proc.stderr and not env.db.exists()
    assert not env.data.exists()
    env.run("add", PSEUDONYM, "--by", "AB")
    before = env.dump()
    tomorrow = (TODAY + dt.timedelta(days=1)).isoformat()
    proc = env.run("record", PSEUDONYM, "--instrument", "bdi-ii", "--total", "10", "--date", tomorrow, "--by", "AB",
                   ok=False)
    assert proc.returncode == 2 and "in the future" in proc.stderr and len(proc.stderr.splitlines()) == 1
    assert env.dump() == before


def test_csv_import_is_all_or_nothing_with_row_errors(course: Env) -> None:
    before = course.dump()
    last = INFUSIONS[-1]
    bad = course.tmp / "followup.csv"
    bad.write_text(
        "pseudonym;date;instrument;total;item9;by;note\n"
        f"{PSEUDONYM};{add_months(last, 3)};bdi-ii;14;0;CD;phone\n"
        f"{PSEUDONYM};{add_months(last, 3)};bdi-ii;70;;CD;\n"
        f"KAP-NOBODY;{add_months(last, 3)};phq-9;5;;CD;\n"
        f"{PSEUDONYM};{TODAY + dt.timedelta(days=3)};phq-9;5;;CD;\n"
        f"{PSEUDONYM};{add_months(last, 3)};hamd;5;;CD;\n", encoding="utf-8")
    proc = course.run("import", bad, ok=False)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    for words in ("4 bad row(s), nothing imported", "row 3: BDI-II total 70", "row 4: no course",
                  "row 5: date", "row 6: unknown instrument"):
        assert words in proc.stderr
    assert course.dump() == before
    good = course.tmp / "good.csv"
    good.write_text(
        "\ufeffpseudonym,date,instrument,total,item9,by\n"
        f"{PSEUDONYM},{add_months(last, 3)},bdi-ii,14,0,CD\n"
        f"{PSEUDONYM},{add_months(last, 3) + dt.timedelta(days=2)},phq-9,6,1,CD\n", encoding="utf-8")
    proc = course.run("import", good)
    assert "imported 2 score(s)" in proc.stdout and "SAFETY" in proc.stderr
    doc = json.loads(course.run("show", PSEUDONYM).stdout)
    imported = [o for o in doc["outcomes"] if o["source"] == "import"]
    assert [(o["timepoint"], o["total"]) for o in imported] == [("month-3", 14), ("month-3", 6)]
    again = course.run("import", good, ok=False)
    assert again.returncode == 2 and "already recorded" in again.stderr


def test_fhir_export_validates_and_carries_the_loinc_codes(course: Env) -> None:
    from fhir.resources.R4B.bundle import Bundle

    course.run("record", PSEUDONYM, "--instrument", "phq-9", "--items", "1,0,1,0,1,0,1,0,1", "--date", TODAY,
               "--timepoint", "unscheduled", "--by", "AB")
    course.run("record", PSEUDONYM, "--instrument", "madrs", "--total", "12", "--date", TODAY, "--timepoint",
               "unscheduled", "--by", "AB")
    out = course.tmp / "export"
    files = course.run("export", PSEUDONYM, "--format", "all", "-o", out).stdout.split()
    assert sorted(Path(f).name for f in files) == sorted([
        "course-KAP-0815-QX.json", "course-KAP-0815-QX.fhir.json", "course-KAP-0815-QX-outcomes.csv",
        "course-KAP-0815-QX.pdf"])
    data = json.loads((out / "course-KAP-0815-QX.fhir.json").read_text(encoding="utf-8"))
    Bundle.model_validate(data)
    resources = [e["resource"] for e in data["entry"]]
    [patient] = [r for r in resources if r["resourceType"] == "Patient"]
    assert patient["identifier"][0]["value"] == PSEUDONYM
    obs = [r for r in resources if r["resourceType"] == "Observation"]
    codes = [r["code"]["coding"][0]["code"] for r in obs]
    assert codes.count("89209-1") == 5 and codes.count("44261-6") == 5 and codes.count("madrs-total") == 1
    assert all(r["subject"]["reference"] == f"urn:uuid:{patient['id']}" for r in obs)
    qrs = [r for r in resources if r["resourceType"] == "QuestionnaireResponse"]
    assert len(qrs) == 5 and all(q["questionnaire"] == "http://loinc.org/q/44249-1" for q in qrs)
    full = next(q for q in qrs if len(q["item"]) == 10)
    assert full["item"][8]["linkId"] == "44260-8" and full["item"][8]["answer"][0]["valueCoding"]["code"] == "LA6569-3"
    assert full["item"][9]["answer"][0]["valueInteger"] == 5
    assert (out / "course-KAP-0815-QX.fhir.json").stat().st_mode & 0o777 == 0o600


def test_deidentified_export_leaks_no_identifier(course: Env) -> None:
    out = course.tmp / "deid"
    course.run("export", PSEUDONYM, "--deidentify", "--salt", "s3cret", "-o", out)
    anon = pseudonym_hash(PSEUDONYM, "s3cret")
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([f"course-{anon}.json", f"course-{anon}.fhir.json", f"course-{anon}-outcomes.csv"])
    texts = [p.read_text(encoding="utf-8") for p in out.iterdir()]
    real_dates = {d.isoformat() for d in [OPENED, *INFUSIONS, TODAY]}
    for text in texts:
        for secret in (PSEUDONYM, "AB", "JQN", "Bartholomew", "Elm Street", "-sim.db", str(course.data),
                       *real_dates, *(f"{d:%Y%m%d}" for d in INFUSIONS)):
            assert secret not in text
    doc = json.loads((out / f"course-{anon}.json").read_text(encoding="utf-8"))
    assert doc["patient"]["course_opened"] == "2000-01-01"
    assert [s["infusion_date"] for s in doc["sessions"]] == [
        (dt.date(2000, 1, 1) + (d - OPENED)).isoformat() for d in INFUSIONS]
    assert [s["session_id"] for s in doc["sessions"]] == ["session-1", "session-2", "session-3"]
    assert doc["response"]["bdi-ii"]["relapse"]  # the figures survive de-identification
    validate(doc)
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(json.loads((out / f"course-{anon}.fhir.json").read_text(encoding="utf-8")))


def test_a_score_entered_wrongly_is_corrected_and_the_figures_follow(course: Env) -> None:
    doc = json.loads(course.run("show", PSEUDONYM).stdout)
    month2 = next(o for o in doc["outcomes"] if o["timepoint"] == "month-2")
    assert doc["response"]["bdi-ii"]["relapse"]
    out = course.run("correct", PSEUDONYM, month2["id"], "--total", "16", "--by", "CD", "--reason", "digits swapped")
    assert "corrected: BDI-II 16 (mild)" in out.stdout
    doc = json.loads(course.run("show", PSEUDONYM).stdout)
    assert not doc["response"]["bdi-ii"]["relapse"] and doc["response"]["bdi-ii"]["current"]  # 16 ≤ 18
    conn = sqlite3.connect(f"{course.db.as_uri()}?mode=ro", uri=True)
    try:
        [(who, reason)] = conn.execute("SELECT who, reason FROM audit WHERE action = 'correct score'").fetchall()
    finally:
        conn.close()
    assert (who, reason) == ("CD", "digits swapped")
