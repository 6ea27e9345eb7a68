"""`kapmonitor course`: the patient course and its outcome scores, outside the bedside program.

    course add PSEUDONYM [--date D] [--infusions N] [--by INITIALS]   open a course at screening
    course record PSEUDONYM --instrument bdi-ii|phq-9|madrs --total N [--item9 N] [--items a,b,..]
                  --date YYYY-MM-DD [--timepoint NAME] --by INITIALS [--note TEXT]
    course correct PSEUDONYM SCORE [--total N] [--item9 N] [--date D] [--timepoint NAME] [--note TEXT]
                  --by INITIALS --reason TEXT                       a score entered wrongly (audited)
    course ack PSEUDONYM PROMPT --by INITIALS [--action TEXT]        acknowledge an item-9 safety prompt
    course show PSEUDONYM [--format json|csv]
    course due [--within DAYS]                                       clinic-wide: what is due and overdue
    course import FILE.csv [--by INITIALS]                           all rows or none
    course export PSEUDONYM --format json|fhir|csv|pdf|all -o DIR [--deidentify] [--salt SALT]

The course database is courses.db in the user data folder; sessions of the pseudonym in the
sessions folder join its course. Bad input (a total out of range, an unknown instrument, a future
date, a pseudonym with no course, ...) is one line on stderr, exit 2, and nothing written.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from kapmonitor.commands import CommandError

if TYPE_CHECKING:
    from kapmonitor.course.schedule import ScheduleSettings
    from kapmonitor.course.store import CourseStore


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be zero or more: {text!r}")
    return value


def _items(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.replace(";", ",").split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"item answers must be whole numbers separated by commas: {text!r}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="course_command", metavar="STEP", required=True)
    p = sub.add_parser("add", help="open a patient's course at screening (the baseline score comes before any "
                                   "infusion); sessions of that pseudonym join it")
    p.add_argument("pseudonym")
    p.add_argument("--date", help="screening date YYYY-MM-DD (default today)")
    p.add_argument("--infusions", type=int, help="infusions planned (default: the clinic's, course.toml)")
    p.add_argument("--by", help="who opens it (default: the login name)")
    p.add_argument("--note")

    p = sub.add_parser("record", help="record a BDI-II, PHQ-9 or MADRS score")
    p.add_argument("pseudonym")
    p.add_argument("--instrument", required=True, help="bdi-ii, phq-9 or madrs")
    p.add_argument("--total", type=_non_negative_int, help="the total score (BDI-II 0–63, PHQ-9 0–27, MADRS 0–60)")
    p.add_argument("--item9", type=_non_negative_int, help="item 9, suicidal thoughts (0–3; BDI-II and PHQ-9)")
    p.add_argument("--items", type=_items, help="PHQ-9 answers item by item, e.g. 2,1,3,2,1,0,1,0,0")
    p.add_argument("--date", required=True, help="YYYY-MM-DD, not in the future")
    p.add_argument("--timepoint", help="baseline, before-infusion-N, after-infusion-N (24 h), week-N, month-N or "
                                       "unscheduled (default: the scheduled one nearest the date)")
    p.add_argument("--by", required=True, help="initials of who entered it")
    p.add_argument("--note")

    p = sub.add_parser("correct", help="correct a score entered wrongly (the audit keeps the old one and why)")
    p.add_argument("pseudonym")
    p.add_argument("score", type=int, help="the score's id (course show)")
    p.add_argument("--total", type=_non_negative_int)
    p.add_argument("--item9", type=_non_negative_int)
    p.add_argument("--date", help="YYYY-MM-DD, not in the future")
    p.add_argument("--timepoint")
    p.add_argument("--note")
    p.add_argument("--by", required=True, help="initials of who corrects it")
    p.add_argument("--reason", required=True, help="why (kept in the audit trail)")

    p = sub.add_parser("ack", help="acknowledge an item-9 safety prompt (who and when are recorded)")
    p.add_argument("pseudonym")
    p.add_argument("prompt", type=int, help="the prompt number (course show, course due)")
    p.add_argument("--by", required=True, help="initials of the clinician")
    p.add_argument("--action", help="what was done (e.g. risk assessed, plan agreed)")

    p = sub.add_parser("show", help="a course: sessions, scores, response, remission, follow-ups")
    p.add_argument("pseudonym")
    p.add_argument("--format", choices=("json", "csv"), default="json")

    p = sub.add_parser("due", help="clinic-wide: follow-ups overdue or due within DAYS, open safety prompts")
    p.add_argument("--within", type=_non_negative_int, default=7, metavar="DAYS", help="days ahead (default 7)")
    p.add_argument("--format", choices=("text", "json"), default="text")

    p = sub.add_parser("import", help="import scores from a CSV file, all rows or none")
    p.add_argument("file", type=Path, metavar="FILE.csv")
    p.add_argument("--by", help="who entered the rows without a `by` column")

    p = sub.add_parser("export", help="a course as JSON, FHIR R4, CSV and PDF files")
    p.add_argument("pseudonym")
    p.add_argument("--format", "-f", default="all", help="json, fhir, csv, pdf or all (several with commas)")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="DIR", help="output folder")
    p.add_argument("--deidentify", action="store_true",
                   help="hash the pseudonym, drop who and notes, shift dates to day 0 (2000-01-01)")
    p.add_argument("--salt", help="secret salt for the pseudonym hash (default: $KAPMONITOR_DEID_SALT, else random)")


def run(args: argparse.Namespace) -> int:
    from kapmonitor.course.csv_io import CsvImportError
    from kapmonitor.course.export import CourseExportError
    from kapmonitor.course.schedule import ScheduleSettingsError
    from kapmonitor.course.store import CourseStoreError
    from kapmonitor.export.errors import ExportError

    step = {"add": _add, "record": _record, "correct": _correct, "ack": _ack, "show": _show, "due": _due,
            "import": _import, "export": _export}[args.course_command]
    try:
        return step(args)
    except (CourseStoreError, CsvImportError, CourseExportError, ScheduleSettingsError, ExportError) as exc:
        raise CommandError(str(exc)) from None


def _today() -> dt.date:
    return dt.date.today()


def _settings() -> ScheduleSettings:
    from kapmonitor.course.schedule import load_settings

    return load_settings()


def _writable() -> CourseStore:
    """The existing course database for writing; without one, no pseudonym has a course (none is created)."""
    from kapmonitor.course.store import CourseInputError, CourseStore, default_path

    path = default_path()
    if not path.exists() and not path.is_symlink():
        raise CourseInputError(f"no course database yet at {path}: open a course first with `kapmonitor course add`")
    return CourseStore.open(path)


def _join_sessions(store: CourseStore, pseudonym: str, who: str | None) -> int:
    from kapmonitor.config import sessions_dir
    from kapmonitor.course.sessions import discover

    return sum(store.link_session(pseudonym, f.link, who) for f in discover(pseudonym, sessions_dir()))


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no user name to be found (a container): --by is needed
        from kapmonitor.course.store import CourseInputError

        raise CourseInputError("give --by INITIALS (who opens the course)") from None


def _add(args: argparse.Namespace) -> int:
    from kapmonitor.course.store import CourseInputError, CourseStore, clean_pseudonym, clean_who, parse_date

    today = _today()
    pseudonym = clean_pseudonym(args.pseudonym)
    who = clean_who(args.by or _login_name())
    if args.infusions is not None and not 1 <= args.infusions <= 20:
        raise CourseInputError("--infusions must be 1–20")
    opened = parse_date(args.date, today) if args.date else today
    settings = _settings()
    with CourseStore.open() as store:
        store.add_course(pseudonym, who, opened, args.infusions, args.note)
        joined = _join_sessions(store, pseudonym, who)
        print(f"course opened for {pseudonym} at screening on {opened.isoformat()} "
              f"({args.infusions or settings.planned_infusions} infusions planned); {joined} session(s) joined; "
              f"record the baseline with `kapmonitor course record {pseudonym} --timepoint baseline ...`")
    return 0


def _record(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from kapmonitor.config import sessions_dir
    from kapmonitor.course.csv_io import infer_timepoint
    from kapmonitor.course.instruments import instrument
    from kapmonitor.course.store import CourseInputError, check_baseline, check_new_score
    from kapmonitor.course.summary import build

    today = _today()
    if args.total is None and args.items is None:
        raise CourseInputError("give --total N (or the PHQ-9 answers with --items)")
    total = args.total if args.total is not None else sum(args.items)
    score = check_new_score(args.pseudonym, args.instrument, total, args.item9, args.items, args.date,
                            args.timepoint, args.by, args.note, today)
    settings = _settings()
    with _writable() as store:
        summary = build(store, score.pseudonym, today, settings, sessions_dir())
        if not score.timepoint:
            score = replace(score, timepoint=infer_timepoint(summary.follow_up, score.instrument, score.date, set()))
        check_baseline(score, min(summary.infusion_dates, default=None))
        _join_sessions(store, score.pseudonym, score.who)
        [(score_id, prompt_id)] = store.add_scores([score])
        inst = instrument(score.instrument)
        print(f"recorded {inst.name} {score.total} ({inst.severity(score.total)}) for {score.pseudonym} on "
              f"{score.date.isoformat()}, {score.timepoint} (score {score_id})")
        if inst.item9 and score.item9 is None:
            print(f"note: {inst.name} item 9 (suicidal thoughts) was not recorded; give it with --item9 to have it "
                  "checked", file=sys.stderr)
        if prompt_id is not None:
            print(f"SAFETY: {inst.name} item 9 = {score.item9} (suicidal thoughts): a clinician must see this "
                  f"today and acknowledge it: kapmonitor course ack {score.pseudonym} {prompt_id} --by INITIALS",
                  file=sys.stderr)
    return 0


def _correct(args: argparse.Namespace) -> int:
    from kapmonitor.course.instruments import instrument
    from kapmonitor.course.store import clean_pseudonym
    from kapmonitor.course.summary import build

    today = _today()
    pseudonym = clean_pseudonym(args.pseudonym)
    settings = _settings()
    with _writable() as store:
        first = min(build(store, pseudonym, today, settings, None).infusion_dates, default=None)
        score, prompt_id = store.correct_score(pseudonym, args.score, args.by, args.reason, today, args.total,
                                               args.item9, args.date, args.timepoint, args.note, first)
        inst = instrument(score.instrument)
        print(f"score {score.id} of {pseudonym} corrected: {inst.name} {score.total} ({inst.severity(score.total)}) "
              f"on {score.date.isoformat()}, {score.timepoint}")
        if prompt_id is not None:
            print(f"SAFETY: {inst.name} item 9 = {score.item9} (suicidal thoughts): a clinician must see this today "
                  f"and acknowledge it: kapmonitor course ack {pseudonym} {prompt_id} --by INITIALS", file=sys.stderr)
    return 0


def _ack(args: argparse.Namespace) -> int:
    with _writable() as store:
        p = store.acknowledge(args.pseudonym, args.prompt, args.by, args.action)
        print(f"safety prompt {p.id} of {p.pseudonym} acknowledged by {p.acknowledged_by}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from kapmonitor.config import sessions_dir
    from kapmonitor.course.export import csv_text
    from kapmonitor.course.store import CourseInputError, CourseStore, clean_pseudonym, default_path
    from kapmonitor.course.summary import build, to_json

    pseudonym = clean_pseudonym(args.pseudonym)
    if not default_path().exists():
        raise CourseInputError(f"no course for pseudonym {pseudonym!r} (no course database at {default_path()})")
    settings = _settings()
    with CourseStore.open_read_only() as store:
        doc = to_json(build(store, pseudonym, _today(), settings, sessions_dir()))
    sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n" if args.format == "json" else csv_text(doc))
    return 0


def _due(args: argparse.Namespace) -> int:
    from kapmonitor.config import sessions_dir
    from kapmonitor.course.schedule import due_within
    from kapmonitor.course.sessions import scan
    from kapmonitor.course.store import CourseStore, default_path
    from kapmonitor.course.summary import build
    from kapmonitor.course.timepoints import label

    today = _today()
    if not default_path().exists():
        print(f"no courses yet (no course database at {default_path()})", file=sys.stderr)
        return 0
    settings = _settings()
    rows: list[dict[str, object]] = []
    prompts: list[dict[str, object]] = []
    scanned = scan(sessions_dir())  # the sessions folder read once for every course
    with CourseStore.open_read_only() as store:
        for course in store.courses():
            summary = build(store, course.pseudonym, today, settings, scanned=scanned)
            rows += [{"pseudonym": course.pseudonym, "timepoint": f.timepoint, "label": label(f.timepoint),
                      "instrument": f.instrument, "due": f.due.isoformat(), "status": f.status}
                     for f in due_within(summary.follow_up, today, args.within)]
            by_score = {s.id: s for s in summary.scores}
            prompts += [{"pseudonym": course.pseudonym, "prompt": p.id, "instrument": by_score[p.score_id].instrument,
                         "date": by_score[p.score_id].date.isoformat(), "item9": by_score[p.score_id].item9}
                        for p in summary.prompts if not p.acknowledged and p.score_id in by_score]
    rows.sort(key=lambda r: (str(r["due"]), str(r["pseudonym"])))
    if args.format == "json":
        print(json.dumps({"as_of": today.isoformat(), "within_days": args.within, "safety_prompts": prompts,
                          "follow_up": rows}, indent=2, ensure_ascii=False))
        return 0
    for p in prompts:
        print(f"SAFETY  {p['pseudonym']}  prompt {p['prompt']}: {p['instrument']} item 9 = {p['item9']} on "
              f"{p['date']}, not acknowledged (kapmonitor course ack {p['pseudonym']} {p['prompt']} --by INITIALS)")
    for r in rows:
        print(f"{str(r['status']).upper():8} {r['due']}  {r['pseudonym']}  {r['instrument']}  {r['label']}")
    if not rows and not prompts:
        print(f"nothing due within {args.within} days and nothing overdue", file=sys.stderr)
    return 0


def _import(args: argparse.Namespace) -> int:
    from kapmonitor.config import sessions_dir
    from kapmonitor.course.csv_io import check_rows, read_rows
    from kapmonitor.course.store import clean_who

    today = _today()
    default_by = clean_who(args.by) if args.by else None
    rows = read_rows(args.file)
    settings = _settings()
    with _writable() as store:
        scores = check_rows(store, rows, default_by, today, settings, sessions_dir())
        results = store.add_scores(scores)
    print(f"imported {len(results)} score(s) from {args.file}")
    for score, (_, prompt_id) in zip(scores, results, strict=True):
        if prompt_id is not None:
            print(f"SAFETY: {score.pseudonym} {score.instrument} item 9 = {score.item9} on {score.date}: acknowledge "
                  f"with kapmonitor course ack {score.pseudonym} {prompt_id} --by INITIALS", file=sys.stderr)
    return 0


def _export(args: argparse.Namespace) -> int:
    from kapmonitor.config import sessions_dir
    from kapmonitor.course.export import export_course, parse_formats
    from kapmonitor.course.store import CourseInputError, CourseStore, clean_pseudonym, default_path
    from kapmonitor.course.summary import build, to_json

    formats = parse_formats(args.format)
    if args.deidentify and "pdf" in formats and "pdf" not in args.format.lower():
        formats = tuple(f for f in formats if f != "pdf")  # "all": the PDF names the patient, left out
        print("the course PDF is left out of a de-identified export", file=sys.stderr)
    if args.salt is not None and not args.deidentify:
        raise CourseInputError("--salt only makes sense with --deidentify")
    pseudonym = clean_pseudonym(args.pseudonym)
    if not default_path().exists():
        raise CourseInputError(f"no course for pseudonym {pseudonym!r} (no course database at {default_path()})")
    settings = _settings()
    with CourseStore.open_read_only() as store:
        summary = build(store, pseudonym, _today(), settings, sessions_dir())
        doc = to_json(summary)
    salt = args.salt or os.environ.get("KAPMONITOR_DEID_SALT") or None
    def pdf(path: Path) -> None:
        from kapmonitor.course.report import build_course_report
        from kapmonitor.export.errors import ExportError
        from kapmonitor.report_pdf.course import write_course_pdf

        try:
            write_course_pdf(build_course_report(summary), path)
        except (OSError, RuntimeError, ValueError) as exc:
            raise ExportError(f"the course PDF could not be drawn: {exc}") from None

    for path in export_course(doc, formats, args.output, args.deidentify, salt, pdf):
        print(path)
    return 0
