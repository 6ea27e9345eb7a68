"""The playlist editor: phases with their tracks, drag and drop, notes, "avoid", M3U8, take-home export.

The tree shows phases as top-level rows and tracks beneath them. Every edit goes to the
`Playlist` first and the tree is rebuilt from it, so the view never disagrees with what plays.
Drag and drop is done by our own `dropEvent` (a move inside the playlist), so Qt never copies
or deletes items behind our back. Missing or unreadable files are shown in red with the reason.

GUI thread only.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QDropEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFileDialog,
    QInputDialog,
    QMessageBox,
    QPushButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from kapmonitor.audio.playlist import Playlist, PlaylistError
from kapmonitor.audio.take_home import ExportError, count_text, export_take_home, format_duration
from kapmonitor.ui.reflow import ReflowGrid

log = logging.getLogger(__name__)

COL_TITLE, COL_ARTIST, COL_DURATION, COL_AVOID, COL_NOTES, COL_STATUS = range(6)
ROLE_TRACK = Qt.ItemDataRole.UserRole + 1
ROLE_PHASE = Qt.ItemDataRole.UserRole + 2
AUDIO_FILTER = "Audio (*.wav *.flac *.ogg *.oga *.opus *.mp3);;All files (*)"
# the playing row: light text on a blue clearly apart from the selection and alternate rows (contrast > 7:1)
PLAYING_BACKGROUND = "#1d5a96"
PLAYING_TEXT = "#ffffff"
MISSING_TEXT = "#ff6b6b"  # readable on the dark list (the former dark red was 2.6:1)


class _NotesOnlyDelegate(QStyledItemDelegate):
    """Only the notes column is typed into; titles come from the files."""

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem,
                     index: QModelIndex | QPersistentModelIndex) -> QWidget:
        if index.column() != COL_NOTES:
            return None  # type: ignore[return-value]  # Qt: no editor
        return super().createEditor(parent, option, index)


class PlaylistTree(QTreeWidget):
    """A tree whose drops become `Playlist.move` calls."""

    track_moved = Signal(int, int, int)  # track id, phase index, position

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setColumnCount(6)
        self.setHeaderLabels(["Title", "Artist", "Length", "Avoid", "Notes", "Status"])
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setDragEnabled(True)
        self.setAcceptDrops(True)
        self.setDropIndicatorShown(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.setAlternatingRowColors(True)
        self.setItemDelegate(_NotesOnlyDelegate(self))

    def drop_target(self, pos: QPoint) -> tuple[int, int] | None:
        """(phase index, position) for a drop at `pos` in viewport coordinates."""
        item = self.itemAt(pos)
        if item is None:
            count = self.topLevelItemCount()
            last = self.topLevelItem(count - 1) if count else None
            return (count - 1, last.childCount()) if last is not None else None
        phase = item.data(0, ROLE_PHASE)
        if phase is not None:
            return int(phase), item.childCount()
        parent = item.parent()
        if parent is None:
            return None
        rect = self.visualItemRect(item)
        index = parent.indexOfChild(item) + (1 if pos.y() > rect.center().y() else 0)
        return int(parent.data(0, ROLE_PHASE)), index

    def dropEvent(self, event: QDropEvent) -> None:
        selected = self.selectedItems()
        track_ids = [i.data(0, ROLE_TRACK) for i in selected if i.data(0, ROLE_TRACK) is not None]
        target = self.drop_target(event.position().toPoint())
        event.setDropAction(Qt.DropAction.IgnoreAction)
        event.accept()
        if not track_ids or target is None:
            return
        phase, index = target
        moving = selected[0]
        parent = moving.parent()
        if parent is not None and int(parent.data(0, ROLE_PHASE)) == phase and parent.indexOfChild(moving) < index:
            index -= 1  # counted after taking the track out
        track_id = int(track_ids[0])
        # after the drag has fully ended: rebuilding the tree inside it would pull items from under Qt
        QTimer.singleShot(0, lambda: self.track_moved.emit(track_id, phase, index))


class PlaylistEditor(QWidget):
    """Edits a `Playlist`; `jump_requested(track_id)` on double-click, `changed()` after edits."""

    jump_requested = Signal(int)
    changed = Signal()
    message = Signal(str)

    def __init__(self, playlist: Playlist, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.playlist = playlist
        self.playlist_path: Path | None = None
        self._building = False
        self._shown_revision = -1
        self.playing_id: int | None = None
        self.tree = PlaylistTree(self)
        self.tree.track_moved.connect(self._on_moved)
        self.tree.itemChanged.connect(self._on_item_changed)
        self.tree.itemDoubleClicked.connect(self._on_double_click)
        # as many columns as fit: two rows of five when wide, more rows beside the nurse's vitals
        buttons = ReflowGrid(self)
        self.button_grid = buttons
        self.buttons: dict[str, QPushButton] = {}
        for key, label, slot in (
            ("add_files", "Add files…", self.add_files_dialog),
            ("add_folder", "Add folder…", self.add_folder_dialog),
            ("remove", "Remove", self.remove_selected),
            ("up", "Move up", lambda: self.move_selected(-1)),
            ("down", "Move down", lambda: self.move_selected(1)),
            ("add_phase", "Add phase…", self.add_phase_dialog),
            ("rename_phase", "Rename phase…", self.rename_phase_dialog),
            ("load", "Open M3U8…", self.load_dialog),
            ("save", "Save M3U8…", self.save_dialog),
            ("take_home", "Take-home export…", self.take_home_dialog),
        ):
            button = QPushButton(label, self)
            button.clicked.connect(slot)
            buttons.add(button)
            self.buttons[key] = button
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(buttons)
        layout.addWidget(self.tree)
        self.rebuild()

    # -- view ---------------------------------------------------------------------------------
    def refresh_if_changed(self) -> None:
        if self.playlist.revision != self._shown_revision:
            self.rebuild()

    def rebuild(self) -> None:
        selected = self.selected_track_id()
        self._building = True
        try:
            self.tree.clear()
            for pi, phase in enumerate(self.playlist.snapshot()):
                total = sum(t.duration or 0.0 for t in phase.tracks if t.playable)
                count = count_text(len(phase.tracks), "track")
                top = QTreeWidgetItem([phase.name, "", format_duration(total), "", "", count])
                top.setData(0, ROLE_PHASE, pi)
                top.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsDropEnabled | Qt.ItemFlag.ItemIsSelectable)
                font = top.font(0)
                font.setBold(True)
                top.setFont(0, font)
                self.tree.addTopLevelItem(top)
                for track in phase.tracks:
                    status = "missing / unreadable: " + track.error if track.error else ("avoid" if track.avoid else "")
                    item = QTreeWidgetItem([track.title, track.artist, format_duration(track.duration), "",
                                            track.notes, status])
                    item.setData(0, ROLE_TRACK, track.id)
                    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                                  | Qt.ItemFlag.ItemIsDragEnabled | Qt.ItemFlag.ItemIsEditable
                                  | Qt.ItemFlag.ItemIsUserCheckable)
                    item.setCheckState(COL_AVOID, Qt.CheckState.Checked if track.avoid else Qt.CheckState.Unchecked)
                    if track.error:
                        for col in range(6):
                            item.setForeground(col, QBrush(QColor(MISSING_TEXT)))
                        item.setToolTip(COL_STATUS, track.error)
                    top.addChild(item)
                    if track.id == selected:
                        item.setSelected(True)
                    if track.id == self.playing_id:
                        self._mark_playing(item, True)
                top.setExpanded(True)
            for col in (COL_TITLE, COL_ARTIST, COL_DURATION, COL_AVOID):
                self.tree.resizeColumnToContents(col)
        finally:
            self._building = False
        self._shown_revision = self.playlist.revision

    @staticmethod
    def _mark_playing(item: QTreeWidgetItem, on: bool) -> None:
        font = item.font(COL_TITLE)
        font.setBold(on)
        for col in range(6):
            item.setFont(col, font)
            item.setBackground(col, QBrush(QColor(PLAYING_BACKGROUND)) if on else QBrush())
            if item.foreground(col).color() != QColor(MISSING_TEXT):  # a missing file stays red
                item.setForeground(col, QBrush(QColor(PLAYING_TEXT)) if on else QBrush())
        title = item.text(COL_TITLE).removeprefix("▶ ")
        item.setText(COL_TITLE, f"▶ {title}" if on else title)

    def set_playing(self, track_id: int | None) -> None:
        """Mark the track now sounding (bold, shaded, ▶)."""
        if track_id == self.playing_id:
            return
        self._building = True
        try:
            for old_or_new, on in ((self.playing_id, False), (track_id, True)):
                item = self.item_for(old_or_new) if old_or_new is not None else None
                if item is not None:
                    self._mark_playing(item, on)
            for col in (COL_TITLE, COL_ARTIST, COL_DURATION):  # bold is wider: never cut the playing row
                self.tree.resizeColumnToContents(col)
        finally:
            self._building = False
        self.playing_id = track_id

    def selected_track_id(self) -> int | None:
        items = self.tree.selectedItems() if hasattr(self, "tree") else []
        for item in items:
            value = item.data(0, ROLE_TRACK)
            if value is not None:
                return int(value)
        return None

    def selected_phase(self) -> int:
        items = self.tree.selectedItems()
        if not items:
            return 0
        item = items[0]
        if item.data(0, ROLE_PHASE) is not None:
            return int(item.data(0, ROLE_PHASE))
        parent = item.parent()
        return int(parent.data(0, ROLE_PHASE)) if parent is not None else 0

    def item_for(self, track_id: int) -> QTreeWidgetItem | None:
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            if top is None:
                continue
            for j in range(top.childCount()):
                child = top.child(j)
                if child is not None and child.data(0, ROLE_TRACK) == track_id:
                    return child
        return None

    def _edited(self) -> None:
        self.rebuild()
        self.changed.emit()

    # -- edits --------------------------------------------------------------------------------
    def _on_moved(self, track_id: int, phase: int, position: int) -> None:
        self.playlist.move(track_id, phase, position)
        self._edited()

    def _on_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if self._building:
            return
        track_id = item.data(0, ROLE_TRACK)
        if track_id is None:
            return
        if column == COL_NOTES:
            self.playlist.update_track(int(track_id), notes=item.text(COL_NOTES))
        elif column == COL_AVOID:
            self.playlist.update_track(int(track_id), avoid=item.checkState(COL_AVOID) == Qt.CheckState.Checked)
        else:
            return
        self._edited()

    def _on_double_click(self, item: QTreeWidgetItem, column: int) -> None:
        track_id = item.data(0, ROLE_TRACK)
        if track_id is not None and column not in (COL_NOTES, COL_AVOID):
            self.jump_requested.emit(int(track_id))

    def add_paths(self, paths: list[Path], phase: int | None = None) -> None:
        added = self.playlist.add_paths(paths, self.selected_phase() if phase is None else phase)
        bad = [t for t in added if t.error]
        if bad:
            self.message.emit(f"{len(bad)} file(s) cannot be played and will be skipped: "
                              + ", ".join(f"{t.path.name} ({t.error})" for t in bad[:3]))
        self._edited()

    def remove_selected(self) -> None:
        track_id = self.selected_track_id()
        if track_id is not None:
            self.playlist.remove(track_id)
            self._edited()

    def move_selected(self, step: int) -> None:
        track_id = self.selected_track_id()
        found = self.playlist.find(track_id) if track_id is not None else None
        if track_id is None or found is None:
            return
        phase, index, _ = found
        names = self.playlist.phase_names()
        count = len(self.playlist.snapshot()[phase].tracks)
        new_index = index + step
        if new_index < 0 and phase > 0:
            phase, new_index = phase - 1, len(self.playlist.snapshot()[phase - 1].tracks)
        elif new_index >= count and phase < len(names) - 1:
            phase, new_index = phase + 1, 0
        self.playlist.move(track_id, phase, max(0, new_index))
        self._edited()

    # -- dialogs ------------------------------------------------------------------------------
    def add_files_dialog(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Add music files", "", AUDIO_FILTER)
        if files:
            self.add_paths([Path(f) for f in files])

    def add_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a music folder")
        if folder:
            self.add_paths([Path(folder)])

    def add_phase_dialog(self) -> None:
        name, ok = QInputDialog.getText(self, "Add phase", "Name of the new phase:")
        if ok and name.strip():
            self.playlist.add_phase(name)
            self._edited()

    def rename_phase_dialog(self) -> None:
        index = self.selected_phase()
        names = self.playlist.phase_names()
        name, ok = QInputDialog.getText(self, "Rename phase", "New name:", text=names[index])
        if ok and name.strip():
            self.playlist.rename_phase(index, name)
            self._edited()

    def load_file(self, path: Path) -> bool:
        try:
            loaded = Playlist.load_m3u8(path)
        except PlaylistError as exc:
            self.message.emit(str(exc))
            return False
        snapshot = loaded.snapshot()
        self.playlist.replace_with(loaded)  # in place: the controller holds this object
        self.playlist_path = Path(path)
        missing = [t for p in snapshot for t in p.tracks if t.error]
        if missing:
            self.message.emit(f"{len(missing)} track(s) in the playlist cannot be found or read; they are "
                              "shown in red and will be skipped.")
        self._edited()
        return True

    def load_dialog(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Open playlist", "", "Playlists (*.m3u8 *.m3u);;All files (*)")
        if name:
            self.load_file(Path(name))

    def save_file(self, path: Path) -> bool:
        try:
            self.playlist.save_m3u8(path)
        except PlaylistError as exc:
            self.message.emit(str(exc))
            return False
        self.playlist_path = Path(path)
        self.message.emit(f"Playlist saved to {path}")
        return True

    def save_dialog(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Save playlist", str(self.playlist_path or ""),
                                              "Playlists (*.m3u8)")
        if name:
            self.save_file(Path(name if name.lower().endswith((".m3u8", ".m3u")) else name + ".m3u8"))

    def take_home_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder for the take-home playlist")
        if not folder:
            return
        box = QMessageBox(QMessageBox.Icon.Question, "Take-home playlist",
                          "Write the playlist (M3U8) and a printable list (text and HTML).\n\n"
                          "Copying the audio files is a licensing question: only copy them if you may.", parent=self)
        copy = QCheckBox("Also copy the audio files", box)
        box.setCheckBox(copy)
        box.setStandardButtons(QMessageBox.StandardButton.Ok | QMessageBox.StandardButton.Cancel)
        if box.exec() != QMessageBox.StandardButton.Ok:
            return
        try:
            result = export_take_home(self.playlist, Path(folder), copy_audio=copy.isChecked())
        except ExportError as exc:
            self.message.emit(str(exc))
            return
        note = f"Take-home playlist written to {folder}"
        if result.copied:
            note += f" ({result.copied} audio files copied)"
        if result.skipped:
            note += f"; {len(result.skipped)} file(s) could not be copied"
        self.message.emit(note)
