"""The therapist's window (offscreen, real widgets): controls, shortcuts, playlist editing with drag
and drop, and the guarantee that it has no way to touch clinical alarms."""

from __future__ import annotations

import ast
import inspect
import time
from pathlib import Path

import pytest
from music_fixtures import FakePlayer, write_tone
from PySide6.QtCore import QMimeData, QPointF, Qt
from PySide6.QtGui import QAction, QDropEvent, QShortcut
from PySide6.QtWidgets import QAbstractButton, QWidget

from kapmonitor.audio.controller import MusicController, MusicSettings, State
from kapmonitor.audio.playlist import Playlist
from kapmonitor.ui.music.playlist_editor import COL_AVOID, COL_NOTES, COL_STATUS
from kapmonitor.ui.music.therapist_window import TherapistWindow

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def window(qtbot, tmp_path: Path):  # type: ignore[no-untyped-def]
    pl = Playlist()
    for name, phase in (("Low - One", 0), ("Low - Two", 0), ("High - Three", 2)):
        pl.add_paths([write_tone(tmp_path / f"{name}.wav", 300, 1.0, fmt="WAV")], phase)
    pl.add_paths([tmp_path / "lost.flac"], 3)
    player = FakePlayer()
    ctl = MusicController(pl, player, MusicSettings())
    start = time.time() - 600
    w = TherapistWindow(ctl, lambda: (start, start + 2400))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w, ctl, player


def started(player: FakePlayer, name: str = "start") -> None:
    player.emit("started", player.last(name)[1].token)


def test_now_playing_times_and_transport_buttons(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    w, ctl, player = window
    assert w.title_label.text() == "—"
    qtbot.mouseClick(w.buttons["play_pause"], Qt.MouseButton.LeftButton)
    started(player)
    player.pos = (player.last("start")[1].token, 0.25)
    qtbot.waitUntil(lambda: w.title_label.text() == "One")
    w.refresh()
    assert w.artist_label.text() == "Low"
    assert "Track: 0:01 left" in w.times_label.text() and "Phase: 0:02 left" in w.times_label.text()
    assert "pre-onset" in w.phase_label.text() and "Pause" in w.buttons["play_pause"].text()
    assert w.next_label.text() == "Next: Low – Two"
    one = w.editor.item_for(player.last("start")[1].token and ctl.status().track.id)
    assert one is not None and one.text(0) == "▶ One" and one.font(0).bold()  # the playing track stands out
    qtbot.mouseClick(w.buttons["next"], Qt.MouseButton.LeftButton)
    assert player.last("crossfade_to")[1].title == "Two"
    qtbot.mouseClick(w.buttons["advance_phase"], Qt.MouseButton.LeftButton)
    assert player.last("crossfade_to")[1].title == "Three"
    qtbot.mouseClick(w.buttons["duck"], Qt.MouseButton.LeftButton)
    assert ctl.ducked and player.last("set_duck")[1] is True
    qtbot.mouseClick(w.buttons["stop"], Qt.MouseButton.LeftButton)
    assert ctl.state is State.STOPPING
    spans = w.timeline.spans
    # "return" holds only a missing file: nothing to project there
    assert [s.name for s in spans] == ["pre-onset", "peak"] and w.timeline.infusion is not None
    lo, hi = w.timeline.time_range()
    assert lo <= w.timeline.infusion[0] and hi >= w.timeline.infusion[1]  # the whole infusion is in view
    image = w.timeline.grab().toImage()
    assert image.width() > 100 and len({image.pixel(x, 40) for x in range(image.width())}) > 2


def test_keyboard_shortcuts(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    w, ctl, player = window
    w.activateWindow()
    qtbot.waitUntil(lambda: w.isActiveWindow())
    qtbot.keyClick(w, Qt.Key.Key_Space)
    assert ctl.state is State.PLAYING
    started(player)
    qtbot.keyClick(w, Qt.Key.Key_Right, Qt.KeyboardModifier.ControlModifier)
    assert player.last("crossfade_to")[1].title == "Two"
    qtbot.keyClick(w, Qt.Key.Key_D)
    assert ctl.ducked and w.duck_button.isChecked()
    qtbot.keyClick(w, Qt.Key.Key_D)
    assert not ctl.ducked
    before = ctl.volume_db
    qtbot.keyClick(w, Qt.Key.Key_Down, Qt.KeyboardModifier.ControlModifier)
    assert ctl.volume_db == before - 2
    qtbot.keyClick(w, Qt.Key.Key_H)
    assert ctl.hold_phase
    qtbot.keyClick(w, Qt.Key.Key_Space)
    assert ctl.state is State.PAUSED


def test_volume_slider_is_capped_by_the_clinic_ceiling(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    w, ctl, player = window
    assert w.volume_slider.maximum() == -6
    w.volume_slider.setValue(-20)
    assert ctl.volume_db == -20 and player.last("set_volume")[1] == -20
    ctl.set_ceiling(-30)
    w.refresh()
    assert w.volume_slider.maximum() == -30 and w.volume_slider.value() == -30


def test_playlist_editor_drag_and_drop_notes_avoid_and_missing(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    w, ctl, _ = window
    editor = w.editor
    tree = editor.tree
    three_id = next(t.id for t in ctl.playlist.tracks() if t.title == "Three")
    one_id = next(t.id for t in ctl.playlist.tracks() if t.title == "One")
    # drag "Three" onto the upper half of "One": it moves to the top of pre-onset
    source = editor.item_for(three_id)
    target = editor.item_for(one_id)
    assert source is not None and target is not None
    tree.setCurrentItem(source)
    rect = tree.visualItemRect(target)
    mime = QMimeData()
    drop = QDropEvent(QPointF(rect.center().x(), rect.top() + 2), Qt.DropAction.MoveAction, mime,
                      Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    tree.dropEvent(drop)
    qtbot.waitUntil(lambda: ctl.playlist.flat()[0][1].title == "Three")
    assert [(p, t.title) for p, t in ctl.playlist.flat()] == [(0, "Three"), (0, "One"), (0, "Two"), (3, "lost")]
    assert tree.topLevelItem(0).child(0).text(0) == "Three"  # the view follows the playlist
    # a drop on a phase row appends to that phase
    peak = tree.topLevelItem(2)
    tree.setCurrentItem(editor.item_for(one_id))
    drop = QDropEvent(QPointF(tree.visualItemRect(peak).center()), Qt.DropAction.MoveAction, QMimeData(),
                      Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    tree.dropEvent(drop)
    qtbot.waitUntil(lambda: [(p, t.title) for p, t in ctl.playlist.flat()][2] == (2, "One"))
    # notes and the avoid flag edited in place
    item = editor.item_for(one_id)
    item.setText(COL_NOTES, "grounding")
    editor.item_for(one_id).setCheckState(COL_AVOID, Qt.CheckState.Checked)
    found = ctl.playlist.find(one_id)
    assert found is not None and found[2].notes == "grounding" and found[2].avoid
    # a missing file is shown as such
    lost = next(t for t in ctl.playlist.tracks() if t.title == "lost")
    assert "missing" in editor.item_for(lost.id).text(COL_STATUS)
    # buttons: remove and move
    tree.setCurrentItem(editor.item_for(lost.id))
    editor.move_selected(-1)  # up across the phase boundary
    assert ctl.playlist.find(lost.id)[0] == 2
    editor.remove_selected()
    assert ctl.playlist.find(lost.id) is None


def test_save_and_load_through_the_editor(window, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    w, ctl, _ = window
    path = tmp_path / "lists" / "p.m3u8"
    path.parent.mkdir()
    assert w.editor.save_file(path)
    ctl.playlist.add_phase("extra")
    assert w.editor.load_file(path)
    assert ctl.playlist.phase_names() == ["pre-onset", "onset", "peak", "return"]
    assert w.messages.count() >= 2  # "saved" and "1 track cannot be found"
    assert not w.editor.load_file(tmp_path / "missing.m3u8")
    assert "cannot read playlist" in w.messages.item(0).text()


def test_device_messages_reach_the_therapist(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    w, _ctl, player = window
    player.ok = False
    player.emit("device_lost", message="headphones unplugged")
    qtbot.waitUntil(lambda: w.messages.count() > 0)
    assert "Music output lost" in w.messages.item(0).text()
    w.refresh()
    assert "NOT AVAILABLE" in w.device_label.text()


def test_broken_infusion_callable_does_not_break_the_view(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    def broken() -> tuple[float, float] | None:
        raise RuntimeError("no session")

    w = TherapistWindow(MusicController(Playlist(), FakePlayer()), broken)
    qtbot.addWidget(w)
    w.refresh()
    assert w.timeline.infusion is None


def test_the_window_has_no_alarm_control(window) -> None:  # type: ignore[no-untyped-def]
    w, _, _ = window
    params = list(inspect.signature(TherapistWindow.__init__).parameters)
    assert params == ["self", "controller", "infusion_window_fn", "parent"]
    forbidden = ("alarm", "silence", "mute", "acknowledge")
    texts = []
    for widget in w.findChildren(QAbstractButton):
        texts += [widget.text(), widget.toolTip(), widget.objectName()]
    for action in w.findChildren(QAction):
        texts += [action.text(), action.toolTip(), action.objectName()]
    for shortcut in w.findChildren(QShortcut):
        texts += [shortcut.key().toString(), shortcut.objectName()]
    assert texts and not [t for t in texts if any(f in t.lower() for f in forbidden)]
    assert not [name for name in vars(w) if "alarm" in name.lower()]
    # and no module of the music feature imports the alarm engine
    files = [*(ROOT / "kapmonitor" / "audio").glob("*.py"), *(ROOT / "kapmonitor" / "ui" / "music").glob("*.py")]
    assert ROOT / "kapmonitor" / "ui" / "music" / "therapist_window.py" in files
    for path in files:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not [n for n in names if n.startswith("kapmonitor.alarms")], path
            if path.parent.name == "audio":  # the core never imports Qt
                assert not [n for n in names if n.split(".")[0] in ("PySide6", "pyqtgraph")], path


def test_typing_a_note_does_not_trigger_shortcuts(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QApplication, QLineEdit

    w, ctl, _ = window
    w.activateWindow()
    qtbot.waitUntil(lambda: w.isActiveWindow())
    one = next(t for t in ctl.playlist.tracks() if t.title == "One")
    item = w.editor.item_for(one.id)
    w.editor.tree.editItem(item, COL_NOTES)
    qtbot.waitUntil(lambda: isinstance(QApplication.focusWidget(), QLineEdit))
    editor = QApplication.focusWidget()
    assert isinstance(editor, QLineEdit)
    qtbot.keyClicks(editor, "deep h ")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert not ctl.ducked and not ctl.hold_phase and ctl.state is State.STOPPED
    qtbot.waitUntil(lambda: ctl.playlist.find(one.id)[2].notes == "deep h ")


def test_only_notes_are_typed_into(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QApplication, QLineEdit

    w, ctl, _ = window
    one = next(t for t in ctl.playlist.tracks() if t.title == "One")
    w.editor.tree.editItem(w.editor.item_for(one.id), 0)  # the title column
    qtbot.wait(50)
    assert not isinstance(QApplication.focusWidget(), QLineEdit)


def test_closing_the_window_keeps_the_music_and_reopening_updates_again(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    w, ctl, player = window
    ctl.play()
    w.close()
    assert ctl.state is State.PLAYING and "stop" not in player.names()  # closing is not stopping
    started(player)  # the music moves on while the window is closed
    w.show()
    qtbot.waitUntil(lambda: w.title_label.text() == "One")
    ctl.next()
    started(player, "crossfade_to")
    qtbot.waitUntil(lambda: w.title_label.text() == "Two")  # listening again


def _luminance(rgb: int) -> float:
    def channel(c: int) -> float:
        x = c / 255
        return x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4

    r, g, b = (rgb >> 16) & 255, (rgb >> 8) & 255, rgb & 255
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def _text_contrast(image, rect) -> float:  # type: ignore[no-untyped-def]
    """Contrast ratio between a row's background (its commonest pixel) and its text (the pixel furthest from it)."""
    from collections import Counter

    pixels = Counter(image.pixel(x, y) & 0xFFFFFF for x in range(rect.left(), rect.right())
                     for y in range(rect.top(), rect.bottom()))
    background = pixels.most_common(1)[0][0]
    lb = _luminance(background)
    ratios = [(max(lb, _luminance(p)) + 0.05) / (min(lb, _luminance(p)) + 0.05) for p in pixels]
    return max(ratios)


def test_playing_row_is_readable_in_the_dark_theme(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    from kapmonitor.ui import theme

    w, ctl, player = window
    w.setStyleSheet(theme.STYLESHEET)  # the app applies it to every window
    qtbot.mouseClick(w.buttons["play_pause"], Qt.MouseButton.LeftButton)
    started(player)
    qtbot.waitUntil(lambda: w.editor.playing_id is not None)
    w.editor.tree.clearSelection()
    item = w.editor.item_for(w.editor.playing_id)
    assert item is not None and item.text(0) == "▶ One"
    tree = w.editor.tree
    image = tree.viewport().grab().toImage()
    rect = tree.visualItemRect(item)
    rect.setWidth(tree.columnWidth(0))
    assert _text_contrast(image, rect) >= 4.5  # WCAG AA; it was white on pale blue (about 1.2:1)
    # and the row stands out from its neighbours
    other = w.editor.item_for(ctl.playlist.tracks()[1].id)
    assert other is not None
    other_rect = tree.visualItemRect(other)
    here, there = (rect.left() + 2, rect.center().y()), (other_rect.left() + 2, other_rect.center().y())
    assert image.pixel(*here) != image.pixel(*there)


def test_phase_rows_count_tracks_in_good_english(window) -> None:  # type: ignore[no-untyped-def]
    w, _, _ = window
    tree = w.editor.tree
    counts = [tree.topLevelItem(i).text(COL_STATUS) for i in range(tree.topLevelItemCount())]
    assert counts == ["2 tracks", "0 tracks", "1 track", "1 track"]


def test_volume_slider_keeps_its_width_when_ducking(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    w, ctl, player = window
    w.resize(1240, 760)
    qtbot.mouseClick(w.buttons["play_pause"], Qt.MouseButton.LeftButton)
    started(player)
    w.refresh()
    qtbot.wait(50)
    before = w.volume_slider.geometry()
    qtbot.mouseClick(w.buttons["duck"], Qt.MouseButton.LeftButton)
    assert ctl.ducked
    w.refresh()
    qtbot.wait(50)
    assert "ducked" in w.volume_label.text()
    assert w.volume_label.width() >= w.volume_label.sizeHint().width()  # the note is not cut
    assert w.volume_slider.geometry() == before
    qtbot.mouseClick(w.buttons["duck"], Qt.MouseButton.LeftButton)
    w.refresh()
    qtbot.wait(50)
    assert w.volume_slider.geometry() == before


def test_the_playing_row_is_never_cut(window, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QFontMetrics

    from kapmonitor.ui.music.playlist_editor import COL_ARTIST, COL_TITLE

    w, ctl, _ = window
    (track,) = ctl.playlist.add_paths(
        [write_tone(tmp_path / "The Long Named Chamber Ensemble - Evening Song.wav", 300, 1.0, fmt="WAV")], 1)
    w.editor.rebuild()
    w.editor.set_playing(track.id)  # as the controller reports it, without a rebuild
    item = w.editor.item_for(w.editor.playing_id)
    assert item is not None and item.font(COL_TITLE).bold()
    tree = w.editor.tree
    for col in (COL_TITLE, COL_ARTIST):
        needed = QFontMetrics(item.font(col)).horizontalAdvance(item.text(col))
        assert tree.columnWidth(col) >= max(needed, tree.sizeHintForColumn(col)), item.text(col)


def test_phase_names_on_the_timeline_are_cut_with_an_ellipsis_and_shown_on_hover(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QEvent, QPoint
    from PySide6.QtGui import QHelpEvent
    from PySide6.QtWidgets import QApplication, QToolTip

    w, _, _ = window
    w.refresh()
    timeline = w.timeline
    blocks = timeline.phase_blocks()
    assert [s.name for s in timeline.spans] == ["pre-onset", "peak"]
    metrics = timeline.fontMetrics()
    for (rect, shown), span in zip(blocks, timeline.spans, strict=True):
        # whole, or its start and "…", or nothing (too short: hover) - never cut mid-letter
        assert shown in ("", span.name) or (shown.endswith("\u2026") and span.name.startswith(shown[:-1]))
        assert shown == "" or metrics.horizontalAdvance(shown) <= rect.width() - 6
    assert blocks[0][1] == ""  # a 1-second track in a 40-minute view: no room for its name
    rect = blocks[0][0]
    where = QPoint(int(rect.center().x()), int(rect.center().y()))
    QApplication.sendEvent(timeline, QHelpEvent(QEvent.Type.ToolTip, where, timeline.mapToGlobal(where)))
    qtbot.waitUntil(lambda: QToolTip.text().startswith("pre-onset"), timeout=2000)
    QToolTip.hideText()


def test_duck_and_hold_look_different_when_on(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    from kapmonitor.ui import theme

    w, ctl, _ = window
    w.setStyleSheet(theme.STYLESHEET)
    for key in ("duck", "hold_phase"):
        button = w.buttons[key]
        off = button.grab().toImage()
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        w.refresh()
        assert button.isChecked()
        on = button.grab().toImage()
        centre = (off.width() // 2, 4)  # the face of the button, above its text
        assert _text_contrast(on, on.rect()) >= 4.5
        off_bg, on_bg = off.pixel(*centre) & 0xFFFFFF, on.pixel(*centre) & 0xFFFFFF
        lum = sorted((_luminance(off_bg), _luminance(on_bg)))
        ratio = (lum[1] + 0.05) / (lum[0] + 0.05)
        assert ratio >= 3.0, (hex(off_bg), hex(on_bg))  # on and off told apart at a glance
    assert ctl.ducked



def _clipped(w: TherapistWindow, must_show: list[QAbstractButton | QWidget]) -> list[str]:
    """What is cut in the window: a control reaching past the right edge (the content scrolls only
    down), two controls overlapping, a button text wider than its button, or one of `must_show` not
    wholly on screen without scrolling."""
    from PySide6.QtCore import QPoint, QRect
    from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QPushButton, QSlider

    viewport = w.scroll_area.viewport()
    controls = [c for c in w.findChildren(QPushButton) + w.findChildren(QComboBox) + w.findChildren(QSlider)
                + w.findChildren(QDoubleSpinBox) if c.isVisible()]
    rects = {c: QRect(c.mapTo(viewport, QPoint(0, 0)), c.size()) for c in controls}
    problems = []
    for c, r in rects.items():
        name = c.text() if isinstance(c, QPushButton) else type(c).__name__
        if r.left() < 0 or r.right() >= viewport.width():
            problems.append(f"{name!r} at {r} cut at the side of {viewport.width()} px")
        if isinstance(c, QPushButton) and c.fontMetrics().horizontalAdvance(c.text()) > c.contentsRect().width():
            problems.append(f"{name!r} text cut: {c.width()} px")
        for other, o in rects.items():
            if other is not c and r.intersects(o) and not c.isAncestorOf(other) and not other.isAncestorOf(c):
                problems.append(f"{name!r} at {r} overlaps {o}")
    for c in must_show:
        r = QRect(c.mapTo(viewport, QPoint(0, 0)), c.size())
        if not viewport.rect().contains(r):
            problems.append(f"{getattr(c, 'text', lambda: '')()!r} at {r} not on screen in {viewport.rect()}")
    return problems


def test_the_window_works_520_px_wide_beside_the_vitals(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    """Issue 11: at 1280x800 the therapist's window opens beside the nurse's tiles (about 520 x 560):
    controls in rows, every one whole; transport, volume and Duck on screen without scrolling."""
    w, ctl, player = window
    assert w.minimumSize().width() <= 520 and w.minimumSizeHint().height() <= 560
    w.resize(520, 560)
    qtbot.waitUntil(lambda: w.width() == 520 and w.height() == 560, timeout=2000)
    qtbot.wait(50)
    assert w.transport.columns() < 5 and w.editor.button_grid.columns() < 5  # wrapped into rows
    first = [*w.transport.items(), w.volume_slider, w.duck_button]
    assert _clipped(w, first) == []
    qtbot.mouseClick(w.buttons["play_pause"], Qt.MouseButton.LeftButton)  # still works
    assert player.last("start")
    qtbot.mouseClick(w.buttons["duck"], Qt.MouseButton.LeftButton)
    assert ctl.ducked
    w.resize(1240, 760)  # wide again (a second screen): one row of transport keys
    qtbot.waitUntil(lambda: w.transport.columns() == 5, timeout=2000)
    assert _clipped(w, first) == []
