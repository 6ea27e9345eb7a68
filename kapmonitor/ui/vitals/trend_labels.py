"""Label layout of the session trend: the texts on the plots never overlap.

Labels are laid out in pixels again whenever the view changes size or range:
limit labels closer than a text height merge into one label ("DIA 100 · SYS 90 · SYS 80", each in
its priority's colour); event labels closer than a text height fold into the first ("MOAA/S 4 +1")
with every event in its tooltip; a music title is cut to its band ("Gymnopédie…") or left to the
band's tooltip when the band is too short. The whole text is always on hover.

`TrendLabels` is the layout half of `TrendPlot` (kapmonitor/ui/vitals/trend_plot.py), which owns the
plots, markers, bands and limit specs it reads. GUI thread only.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QFont, QFontMetricsF

LABEL_GAP_PX = 2.0  # the least space between two labels
LABEL_MARGIN_PX = 4.0  # labels keep this far from the plot's edges
MIN_BAND_LABEL_CHARS = 3  # a band shorter than this many letters shows its title only on hover
INFUSION_LABEL_Y = 218.0
MARKER_LABEL_Y = 45.0  # event labels run upwards from here on the NIBP plot
BAND_Y, BAND_HEIGHT = 80.2, 1.6
LABEL_FILL = (0, 0, 0, 190)
LABEL_Z = 50.0


@dataclass(frozen=True)
class Marker:
    """A vertical marker on the trend: a phase change, pause, event or intervention."""

    time: float
    label: str
    colour: str = "#c8c8c8"


@dataclass(frozen=True)
class Band:
    """A shaded time span at the bottom of the plot (a music track)."""

    start: float
    end: float
    label: str
    colour: tuple[int, int, int, int] = (120, 90, 200, 70)


@dataclass(frozen=True)
class LimitSpec:
    """An alarm limit line to label: its plot, value, text and priority colour."""

    plot: pg.PlotItem
    value: float
    text: str
    colour: str


def _coloured(parts: Sequence[tuple[str, str]]) -> str:
    """'DIA 100 · SYS 90', each part in its own colour (HTML for a TextItem)."""
    return " \u00b7 ".join(f'<span style="color:{c}">{html.escape(t)}</span>' for t, c in parts)


def _text_item(font: QFont, anchor: tuple[float, float], angle: float = 0.0) -> pg.TextItem:
    # on a dark box above the curves: readable where the NIBP bars crowd under it
    item = pg.TextItem("", anchor=anchor, angle=angle, fill=pg.mkBrush(*LABEL_FILL))
    item.setFont(font)
    item.textItem.document().setDocumentMargin(1)  # compact: the box is what the layout measures
    item.setZValue(LABEL_Z)
    return item


class TrendLabels:
    """The label layout of `TrendPlot` (a mixin: it works on the plot's own items)."""

    bp: pg.PlotItem
    spo2: pg.PlotItem
    _axis_font: QFont
    _label_font: QFont
    _infusion_label: pg.TextItem
    _infusion_shown: tuple[float, float] | None
    _limit_specs: list[LimitSpec]
    _limit_labels: list[tuple[pg.PlotItem, pg.TextItem]]
    _markers: list[Marker]
    _marker_labels: list[pg.TextItem]
    _bands: list[Band]
    _band_labels: list[pg.TextItem]
    _laying_out: bool
    _layout_timer: QTimer

    t0: float | None  # TrendPlot's: minute 0 of the time axis
    _plots: Callable[[], tuple[pg.PlotItem, ...]]  # TrendPlot's: the rows shown, top to bottom
    isVisible: Callable[[], bool]  # the widget's (QWidget.isVisible)

    def labels(self) -> list[pg.TextItem]:
        """Every text shown on the plots (limits, events, music, infusion): what must never overlap."""
        items = [label for _, label in self._limit_labels] + self._marker_labels + self._band_labels
        if self._infusion_label.toPlainText():
            items.append(self._infusion_label)
        return [i for i in items if i.isVisible() and i.textItem.toPlainText()]

    def _on_view_changed(self, *_args: object) -> None:
        # the three linked views report one change three times: lay out once, after them
        if not self._laying_out and not self._layout_timer.isActive():
            self._layout_timer.start()

    def _layout_labels(self) -> None:
        """Place every label in pixels so that none overlaps another (see the module docstring).

        Not while hidden (the window being built at start-up): shown, its views get their size and
        the layout runs then (`_on_view_changed`)."""
        if self._laying_out or not self.isVisible():
            return
        self._laying_out = True
        try:
            obstacles = self._layout_limit_labels()
            infusion = self._infusion_rect()
            self._layout_marker_labels(obstacles + ([infusion] if infusion is not None else []))
            self._layout_band_labels()
        finally:
            self._laying_out = False

    @staticmethod
    def _scene(plot: pg.PlotItem, x: float, y: float) -> QPointF:
        point: QPointF = plot.getViewBox().mapViewToScene(QPointF(x, y))
        return point

    @staticmethod
    def _box(item: pg.TextItem) -> tuple[float, float]:
        """Width and height of a label's text box in pixels (unrotated)."""
        rect = item.textItem.boundingRect()
        return rect.width(), rect.height()

    def _infusion_rect(self) -> QRectF | None:
        if self._infusion_shown is None or not self._infusion_label.toPlainText():
            return None
        top_left = self._scene(self.bp, self._infusion_shown[0], INFUSION_LABEL_Y)
        w, h = self._box(self._infusion_label)
        return QRectF(top_left.x(), top_left.y(), w, h)

    def _layout_limit_labels(self) -> list[QRectF]:
        """Limit labels at the right edge, merged when their lines are closer than a text height.
        Returns the scene rectangles they take."""
        for plot, label in self._limit_labels:
            plot.removeItem(label)
        self._limit_labels.clear()
        taken: list[QRectF] = []
        for plot in self._plots():
            (x0, x1), (y0, y1) = plot.getViewBox().viewRange()
            specs = sorted((s for s in self._limit_specs if s.plot is plot and y0 <= s.value <= y1),
                           key=lambda s: -s.value)  # top first
            top_px = self._scene(plot, x0, y1).y()
            groups: list[list[LimitSpec]] = []
            bottom_taken = -math.inf
            probe = _text_item(self._label_font, (1, 1))
            probe.setText("SYS 888")
            _, h = self._box(probe)
            for spec in specs:
                y_px = self._scene(plot, x0, spec.value).y()
                above = max(y_px - h, top_px)  # the label sits on its line (below it at the very top)
                if groups and above < bottom_taken + LABEL_GAP_PX:
                    groups[-1].append(spec)
                else:
                    groups.append([spec])
                    bottom_taken = above + h
            right = x1 - LABEL_MARGIN_PX * plot.getViewBox().viewPixelSize()[0]
            for group in groups:
                first = group[0]
                y_px = self._scene(plot, x0, first.value).y()
                below = y_px - h < top_px
                label = _text_item(self._label_font, (1, 0) if below else (1, 1))
                label.setHtml(_coloured([(s.text, s.colour) for s in group]))
                label.setToolTip("alarm limits: " + " \u00b7 ".join(s.text for s in group))
                label.setPos(right, first.value)
                plot.addItem(label, ignoreBounds=True)
                self._limit_labels.append((plot, label))
                w, _ = self._box(label)
                right_px = self._scene(plot, right, first.value).x()
                taken.append(QRectF(right_px - w, y_px if below else y_px - h, w, h))
        return taken

    def _layout_marker_labels(self, obstacles: list[QRectF]) -> None:
        """Vertical event labels: one per text height of width; closer ones fold into it (+n)."""
        for label in self._marker_labels:
            self.bp.removeItem(label)
        self._marker_labels.clear()
        if self.t0 is None or not self._markers:
            return
        t0 = self.t0
        (x0, x1), (_y0, y1) = self.bp.getViewBox().viewRange()
        probe = _text_item(self._axis_font, (0, 1), angle=90)
        probe.setText("Mg")
        _, thickness = self._box(probe)
        left_px = self._scene(self.bp, x0, MARKER_LABEL_Y).x() + LABEL_MARGIN_PX
        # a label runs up the left side of its line; right at the start of the axis, up its right side
        groups: list[tuple[list[Marker], bool]] = []
        last_right = -math.inf
        for m in self._markers:
            x = (m.time - t0) / 60.0
            if not x0 <= x <= x1:
                continue
            x_px = self._scene(self.bp, x, MARKER_LABEL_Y).x()
            right_side = x_px - thickness < left_px
            column_left = x_px if right_side else x_px - thickness
            if groups and column_left < last_right + LABEL_GAP_PX:
                groups[-1][0].append(m)
            else:
                groups.append(([m], right_side))
                last_right = column_left + thickness
        base = self._scene(self.bp, x0, MARKER_LABEL_Y).y()
        top = self._scene(self.bp, x0, y1).y() + LABEL_MARGIN_PX
        metrics = QFontMetricsF(self._axis_font)
        for group, right_side in groups:
            first = group[0]
            x = (first.time - t0) / 60.0
            x_px = self._scene(self.bp, x, MARKER_LABEL_Y).x()
            column = QRectF(x_px if right_side else x_px - thickness, top, thickness, base - top)
            room = base - top
            for rect in obstacles:
                if rect.intersects(column):
                    room = min(room, base - rect.bottom() - LABEL_GAP_PX)
            more = f" +{len(group) - 1}" if len(group) > 1 else ""
            length = max(0.0, room - 4 - metrics.horizontalAdvance(more))
            text = metrics.elidedText(first.label, Qt.TextElideMode.ElideRight, length)
            label = _text_item(self._axis_font, (0, 0) if right_side else (0, 1), angle=90)
            label.setColor(first.colour)
            label.setText(text + more if text else "")
            label.setToolTip("\n".join(f"{(m.time - t0) / 60.0:.0f} min  {m.label}" for m in group))
            label.setPos(x, MARKER_LABEL_Y)
            if room < thickness:  # no room at all: the line keeps its tooltip
                label.setVisible(False)
            self.bp.addItem(label, ignoreBounds=True)
            self._marker_labels.append(label)

    def _layout_band_labels(self) -> None:
        """Music titles, each cut to its own band (no room: the band's tooltip has it)."""
        for label in self._band_labels:
            self.spo2.removeItem(label)
        self._band_labels.clear()
        if self.t0 is None:
            return
        (x0, x1), _ = self.spo2.getViewBox().viewRange()
        metrics = QFontMetricsF(self._label_font)
        starts = [max((b.start - self.t0) / 60.0, x0) for b in self._bands]
        for i, band in enumerate(self._bands):
            a = starts[i]
            b = min((band.end - self.t0) / 60.0, x1)
            if i + 1 < len(starts):
                b = min(b, max(starts[i + 1], a))  # never into the next title
            if b <= a:
                continue
            room = self._scene(self.spo2, b, BAND_Y).x() - self._scene(self.spo2, a, BAND_Y).x() - LABEL_GAP_PX - 2
            text = metrics.elidedText(band.label, Qt.TextElideMode.ElideRight, max(0.0, room))
            if len(text.rstrip("\u2026")) < min(MIN_BAND_LABEL_CHARS, len(band.label)):
                continue
            label = _text_item(self._label_font, (0, 1))
            label.setColor("#c9b8ff")
            label.setText(text)
            label.setToolTip(band.label)
            label.setPos(a, BAND_Y + BAND_HEIGHT)
            self.spo2.addItem(label, ignoreBounds=True)
            self._band_labels.append(label)
