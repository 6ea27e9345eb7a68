"""The export dialog with qtbot: the export runs on a worker (the GUI keeps processing events),
progress arrives, files appear; failures and cancel are reported and write nothing."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

import pytest
from export_fixtures import Built, build_session
from PySide6.QtCore import Qt, QTimer

from kapmonitor.ui.export.dialog import ExportDialog


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build_session(tmp_path_factory.mktemp("db") / "dialog.db", hours=4.0)


def test_export_runs_on_a_worker_and_reports_progress(qtbot, built: Built, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    dialog = ExportDialog(built.path, out_dir=tmp_path / "out")
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.paper_combo.setCurrentIndex(1)  # Letter
    progress: list[int] = []
    dialog.progress.valueChanged.connect(progress.append)
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    with qtbot.waitSignal(dialog.export_finished, timeout=30000) as blocker:
        t0 = time.perf_counter()
        qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
        click_returned = time.perf_counter() - t0
        assert dialog.running  # the click returned while the export goes on
        assert not dialog.export_button.isEnabled() and dialog.cancel_button.isEnabled()
    timer.stop()
    assert click_returned < 0.2
    files = [Path(p) for p in blocker.args[0]]
    assert {p.name for p in files} == {p.name for p in (tmp_path / "out").iterdir()}
    assert any(p.suffix == ".pdf" for p in files) and len(files) == 13
    manifest = json.loads(next(p for p in files if p.name.endswith("_manifest.json")).read_text())
    assert manifest["formats"] == ["csv", "json", "pdf", "fhir"]
    assert progress[-1] == 100 and len(set(progress)) >= 4
    # the GUI thread kept running its timer during the export: no gap of half a second
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert len(ticks) > 5 and max(gaps) < 0.5
    assert dialog.export_button.isEnabled() and not dialog.running and dialog.open_button.isEnabled()
    assert "13 files written" in dialog.status.text()


def test_failure_is_shown_and_nothing_written(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    dialog = ExportDialog(tmp_path / "missing.db", out_dir=tmp_path / "out")
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.export_failed, timeout=10000) as blocker:
        dialog.start_export()
    assert "no session database" in blocker.args[0]
    assert "Not exported" in dialog.status.text()
    assert not (tmp_path / "out").exists()


def test_cancel_writes_nothing(qtbot, built: Built, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    dialog = ExportDialog(built.path, out_dir=tmp_path / "out")
    qtbot.addWidget(dialog)
    dialog.progress.valueChanged.connect(lambda v: dialog.cancel_export() if v > 0 else None)
    with qtbot.waitSignal(dialog.export_failed, timeout=30000) as blocker:
        dialog.start_export()
    assert "cancelled" in blocker.args[0]
    assert list((tmp_path / "out").iterdir()) == []


def test_no_format_disables_export(qtbot, built: Built) -> None:  # type: ignore[no-untyped-def]
    dialog = ExportDialog(built.path)
    qtbot.addWidget(dialog)
    for box in dialog.format_boxes.values():
        box.setChecked(False)
    assert not dialog.export_button.isEnabled()
    dialog.format_boxes["json"].setChecked(True)
    assert dialog.export_button.isEnabled()
    opts = dialog.options()
    assert opts.formats == ("json",) and opts.paper == "a4" and not opts.deidentify


def test_file_menu_action_opens_the_dialog_on_the_session(qtbot, built: Built) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QApplication, QMainWindow

    from kapmonitor.ui.export.action import install_export_action

    window = QMainWindow()
    qtbot.addWidget(window)
    window.file_menu = window.menuBar().addMenu("&File")  # type: ignore[attr-defined]
    quit_action = QAction("&Quit", window)
    window.file_menu.addAction(quit_action)  # type: ignore[attr-defined]
    action = install_export_action(window, lambda: built.path)
    actions = window.file_menu.actions()  # type: ignore[attr-defined]
    assert actions[0] is action and actions[-1] is quit_action
    assert action.shortcut().toString() == "Ctrl+E"
    action.trigger()
    dialogs = [w for w in QApplication.topLevelWidgets() if isinstance(w, ExportDialog) and w.isVisible()]
    assert len(dialogs) == 1
    assert dialogs[0].session_edit.text() == str(built.path)
    assert dialogs[0].out_edit.text().endswith("dialog-export")
    dialogs[0].close()


def test_deidentify_switches_the_suggested_folder(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "20260314-0900-KAP-0042-XYZ.db"
    dialog = ExportDialog(db)
    qtbot.addWidget(dialog)
    assert dialog.out_edit.text().endswith("20260314-0900-KAP-0042-XYZ-export")
    dialog.deidentify_box.setChecked(True)
    assert dialog.out_edit.text().endswith("deidentified-export")
    dialog.deidentify_box.setChecked(False)
    assert dialog.out_edit.text().endswith("KAP-0042-XYZ-export")
    dialog.out_edit.setText(str(tmp_path / "mine"))
    dialog.deidentify_box.setChecked(True)
    assert dialog.out_edit.text() == str(tmp_path / "mine")  # a folder the user chose is kept
