"""Exports are private like the session database: files 0600, folders the export creates 0700,
from the command line and from the GUI dialog, whatever the umask (issue 16 defect 6)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from export_fixtures import Built, build_session

from kapmonitor.export import ExportOptions, run_export
from kapmonitor.ui.export.dialog import ExportDialog

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build_session(tmp_path_factory.mktemp("db") / "perm.db", hours=0.5)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The usual desktop umask (022), under which plain writes give 0644 files and 0755 folders."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def assert_private(folder: Path, files: list[Path]) -> None:
    assert files
    assert {p.parent for p in files} == {folder}
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in files)  # no staging left over
    for p in files:
        assert mode(p) == 0o600, f"{p.name} is {oct(mode(p))}"


@pytest.mark.usefixtures("open_umask")
def test_command_line_export_is_private(built: Built, tmp_path: Path) -> None:
    out = tmp_path / "new" / "nested" / "out"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run(
        [sys.executable, "-m", "kapmonitor", "export", str(built.path), "--format", "all", "-o", str(out)],
        capture_output=True, text=True, timeout=120, env=env, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    files = [Path(line) for line in proc.stdout.splitlines()]
    assert any(p.suffix == ".pdf" for p in files) and any(p.suffix == ".csv" for p in files)
    assert_private(out, files)
    for folder in (tmp_path / "new", tmp_path / "new" / "nested", out):
        assert mode(folder) == 0o700, f"{folder} is {oct(mode(folder))}"


@pytest.mark.usefixtures("open_umask")
def test_deidentified_export_is_private_too(built: Built, tmp_path: Path) -> None:
    result = run_export(built.path, tmp_path / "deid", ExportOptions(formats=("csv", "json"), deidentify=True))
    assert_private(tmp_path / "deid", result.files)
    assert mode(tmp_path / "deid") == 0o700


@pytest.mark.usefixtures("open_umask")
def test_export_over_older_public_files_makes_them_private(built: Built, tmp_path: Path) -> None:
    out = tmp_path / "chosen"
    out.mkdir(mode=0o755)
    first = run_export(built.path, out, ExportOptions(formats=("json",)))
    for p in first.files:
        os.chmod(p, 0o644)  # as written by an older version
    again = run_export(built.path, out, ExportOptions(formats=("json",)))
    assert_private(out, again.files)
    assert mode(out) == 0o755  # a folder the user already had keeps its mode


@pytest.mark.usefixtures("open_umask")
def test_gui_export_is_private(qtbot, built: Built, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "gui-out"
    dialog = ExportDialog(built.path, out_dir=out)
    qtbot.addWidget(dialog)
    dialog.show()
    with qtbot.waitSignal(dialog.export_finished, timeout=60000) as blocker:
        dialog.start_export()
    files = [Path(p) for p in blocker.args[0]]
    assert any(p.suffix == ".pdf" for p in files)
    assert_private(out, files)
    assert mode(out) == 0o700
