"""The core never imports Qt: only kapmonitor/ui and the report painter kapmonitor/report_pdf may
import PySide6 or pyqtgraph."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "kapmonitor"
QT_MODULES = ("PySide6", "pyqtgraph", "shiboken6", "PyQt5", "PyQt6")
# the packages that may draw with Qt: the windows, and the PDF painter of the report
QT_PACKAGES = ("ui", "report_pdf")


def qt_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        found += [n for n in names if n.split(".")[0] in QT_MODULES]
    return found


def test_core_never_imports_qt() -> None:
    offenders = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] in QT_PACKAGES:
            continue
        names = qt_imports(path)
        if names:
            offenders[str(rel)] = names
    assert offenders == {}


def test_the_check_sees_qt_imports(tmp_path: Path) -> None:
    sample = tmp_path / "m.py"
    sample.write_text("import os\nfrom PySide6.QtCore import QTimer\nimport pyqtgraph as pg\n")
    assert qt_imports(sample) == ["PySide6.QtCore", "pyqtgraph"]


def test_core_modules_import_without_qt_loaded() -> None:
    import subprocess
    import sys

    code = (
        "import sys, kapmonitor.pipeline, kapmonitor.drivers.simulator, kapmonitor.recording.recorder, "
        "kapmonitor.alarms.profile, kapmonitor.model.trends\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph')]\n"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


# -- one reader of the session record: no SQL outside kapmonitor/recording ---------------------------------
SQL_START = re.compile(
    r"^\s*(SELECT|INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER|PRAGMA|BEGIN|COMMIT|ROLLBACK|SAVEPOINT|VACUUM)\b"
)
SQL_HOME = "recording"
# other databases than the session record, each read and written in one module of its own
OTHER_DATABASES = {"course/store.py"}  # the clinic's course database (courses.db)


def sql_texts(path: Path) -> list[str]:
    """String literals (also the literal parts of f-strings) that are SQL statements."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return [
        " ".join(node.value.split())[:60]
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL_START.match(node.value)
    ]


def test_no_sql_outside_recording() -> None:
    """Only recording/ (reader.py, recorder.py, schema.py, database.py) runs SQL on a session record."""
    offenders = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] == SQL_HOME or rel.as_posix() in OTHER_DATABASES:
            continue
        found = sql_texts(path)
        if found:
            offenders[rel.as_posix()] = found
    assert offenders == {}


def test_the_check_sees_sql(tmp_path: Path) -> None:
    sample = tmp_path / "m.py"
    sample.write_text(
        "def f(conn, table):\n"
        "    conn.execute('SELECT t FROM samples')\n"
        "    conn.execute(f\"UPDATE {table} SET x = 1\")\n"
        "    conn.execute('''\n  PRAGMA query_only=ON''')\n"
        "    return 'Select a monitor'  # prose is not SQL\n"
    )
    assert sorted(sql_texts(sample)) == ["PRAGMA query_only=ON", "SELECT t FROM samples", "UPDATE"]
