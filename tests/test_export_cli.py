"""`kapmonitor export` from the command line, and every bad input: one line, exit 2, nothing written."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from export_fixtures import build_session

ROOT = Path(__file__).resolve().parent.parent


def kapmonitor(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run(
        [sys.executable, "-m", "kapmonitor", "export", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=cwd or ROOT,
    )


@pytest.fixture(scope="module")
def good_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_session(tmp_path_factory.mktemp("db") / "good.db", hours=0.5).path


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *words: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("kapmonitor: error:")
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    for w in words:
        assert w in lines[0]


def test_all_formats_from_the_command_line(good_db: Path, tmp_path: Path) -> None:
    proc = kapmonitor(good_db, "--format", "all", "-o", tmp_path / "out", "--paper", "letter")
    assert proc.returncode == 0, proc.stderr
    written = [Path(line) for line in proc.stdout.splitlines()]
    assert {p.name for p in written} == {p.name for p in (tmp_path / "out").iterdir()}
    assert {p.suffix for p in written} == {".csv", ".json", ".pdf", ""}
    manifest = json.loads(next(p for p in written if p.name.endswith("_manifest.json")).read_text())
    assert manifest["formats"] == ["csv", "json", "pdf", "fhir"]


def test_default_output_folder_is_beside_the_current_folder(good_db: Path, tmp_path: Path) -> None:
    proc = kapmonitor(good_db, "--format", "json", "-q", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout == ""
    assert (tmp_path / "good-export" / "good.json").is_file()


def test_missing_database(tmp_path: Path) -> None:
    proc = kapmonitor(tmp_path / "nope.db", "-o", tmp_path / "out")
    assert_one_line_error(proc, "no session database", "nope.db")
    assert not (tmp_path / "out").exists()


def test_corrupt_database(tmp_path: Path) -> None:
    bad = tmp_path / "corrupt.db"
    bad.write_bytes(os.urandom(8192))
    proc = kapmonitor(bad, "-o", tmp_path / "out")
    assert_one_line_error(proc, "corrupt.db")
    assert not (tmp_path / "out").exists()


def test_truncated_database(good_db: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.db"
    data = good_db.read_bytes()
    cut.write_bytes(data[: len(data) // 3])
    proc = kapmonitor(cut, "-o", tmp_path / "out")
    assert_one_line_error(proc, "cut.db")
    assert not (tmp_path / "out").exists()


def test_newer_schema(good_db: Path, tmp_path: Path) -> None:
    newer = tmp_path / "newer.db"
    shutil.copy(good_db, newer)
    conn = sqlite3.connect(newer)
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    before = newer.read_bytes()
    proc = kapmonitor(newer, "-o", tmp_path / "out")
    assert_one_line_error(proc, "schema version 99", "update kapmonitor")
    assert not (tmp_path / "out").exists()
    assert newer.read_bytes() == before


def test_not_a_session_database(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE x (a)")
    conn.commit()
    conn.close()
    assert_one_line_error(kapmonitor(other, "-o", tmp_path / "out"), "not a kapmonitor session database")


def test_output_folder_under_a_file(good_db: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    assert_one_line_error(kapmonitor(good_db, "-o", blocker / "out"), "cannot export to")
    assert_one_line_error(kapmonitor(good_db, "-o", blocker), "not a folder")
    assert blocker.read_text() == "x"


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_read_only_output_folder(good_db: Path, tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        assert_one_line_error(kapmonitor(good_db, "-o", ro), "not writable")
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o700)


def test_read_only_file_system(good_db: Path) -> None:
    """/proc refuses new folders even for root: the same one-line error, nothing written."""
    assert_one_line_error(kapmonitor(good_db, "-o", "/proc/kapmonitor-export-test"), "cannot export to")


def test_bad_options(good_db: Path, tmp_path: Path) -> None:
    assert_one_line_error(kapmonitor(good_db, "--format", "xml", "-o", tmp_path / "o"), "unknown export format")
    assert_one_line_error(kapmonitor(good_db, "--salt", "s", "-o", tmp_path / "o"), "--deidentify")
    proc = kapmonitor(good_db, "--paper", "a3")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_exports_without_pdf_never_load_qt(good_db: Path, tmp_path: Path) -> None:
    code = (
        "import sys\nfrom pathlib import Path\n"
        "from kapmonitor.export import ExportOptions, run_export\n"
        f"run_export(Path({str(good_db)!r}), Path({str(tmp_path / 'o')!r}), "
        "ExportOptions(formats=('csv', 'json', 'fhir')))\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph')]\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(list((tmp_path / "o").iterdir())) == 12


def test_export_after_the_recording_process_was_killed(tmp_path: Path) -> None:
    """kill -9 leaves committed rows in the -wal file: the export reads them and changes neither file."""
    import signal
    import time

    db = tmp_path / "crashed.db"
    writer = (
        "import time\nfrom pathlib import Path\n"
        "from kapmonitor.recording.recorder import SessionRecorder\n"
        "from kapmonitor.model.samples import VitalSample\nfrom kapmonitor.model.parameters import Parameter\n"
        f"rec = SessionRecorder(Path({str(db)!r}), {{'simulated': '1'}}, commit_interval=0.05).start()\n"
        "t = 1.7e9\nprint('ready', flush=True)\n"
        "while True:\n"
        "    rec.on_items([VitalSample(t, Parameter.HR, 70.0), VitalSample(t, Parameter.PULSE_RATE, 70.0)])\n"
        "    t += 1\n    time.sleep(0.001)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", writer], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(1.0)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    wal = db.with_name(db.name + "-wal")
    assert wal.exists()
    before = (db.read_bytes(), wal.read_bytes())
    out = kapmonitor(db, "--format", "csv,json", "-o", tmp_path / "out", "-q")
    assert out.returncode == 0, out.stderr
    assert (db.read_bytes(), wal.read_bytes()) == before
    doc = json.loads((tmp_path / "out" / "crashed.json").read_text())
    hr = [s["time"] for s in doc["samples"] if s["parameter"] == "hr"]
    pr = [s["time"] for s in doc["samples"] if s["parameter"] == "pulse_rate"]
    assert len(hr) > 50 and hr == pr and doc["simulated"] is True


def test_salt_from_the_environment(good_db: Path, tmp_path: Path) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", KAPMONITOR_DEID_SALT="env-secret")
    args = [sys.executable, "-m", "kapmonitor", "export", str(good_db), "-f", "json", "-q"]
    plain = subprocess.run([*args, "-o", str(tmp_path / "p")], capture_output=True, text=True, env=env, cwd=ROOT)
    assert plain.returncode == 0, plain.stderr  # the variable alone does not get in the way
    deid = subprocess.run([*args, "--deidentify", "-o", str(tmp_path / "d")], capture_output=True, text=True,
                          env=env, cwd=ROOT)  # fmt: skip
    assert deid.returncode == 0, deid.stderr
    from kapmonitor.export.deid import pseudonym_hash

    expected = pseudonym_hash("KAP-0042-XYZ", "env-secret")
    assert [p.name for p in (tmp_path / "d").glob("*.json") if "_" not in p.name] == [f"{expected}-s2.json"]


def test_default_folder_of_a_deidentified_export_names_no_one(tmp_path: Path) -> None:
    from export_fixtures import PSEUDONYM

    db = build_session(tmp_path / f"20260314-0900-{PSEUDONYM}.db", hours=0.2).path
    work = tmp_path / "work"
    work.mkdir()
    proc = kapmonitor(db, "--deidentify", "-f", "csv", "-q", cwd=work)
    assert proc.returncode == 0, proc.stderr
    (folder,) = list(work.iterdir())
    assert folder.name == "deidentified-export"
    for p in folder.iterdir():
        assert PSEUDONYM not in p.name and "20260314" not in p.name
