"""A central tile's texts give way at whole words (real widgets offscreen): a long alarm message on a
narrow tile is never shown cut inside a word, its whole text is on hover, and the row keeps the colour
of its priority."""

from __future__ import annotations

import json

import pytest
from PySide6.QtWidgets import QApplication

from kapmonitor.alarms.presentation import COLOURS
from kapmonitor.alarms.profile import Priority
from kapmonitor.central.model import CentralModel
from kapmonitor.publish import parse_broker_url
from kapmonitor.publish.payloads import ChairTopic, encode, status_payload

LONG = ("Alarm sound cannot be played (default output): Error querying device -1 while the chair keeps "
        "monitoring and recording")


@pytest.fixture
def app(qapp: QApplication) -> QApplication:
    return qapp


def feed(model: CentralModel, chair: str, message: str) -> None:
    where = ChairTopic("clinic", chair)
    model.handle(where.topic("status"), encode(status_payload(where, "online", 100.0, name=chair, link="connected",
                                                               heartbeat_s=1.0, seq=1)))
    alarm = {"id": "sounder.fail", "parameter": None, "kind": "physiological", "priority": "high",
             "message": message, "value": None, "limit": None, "raised_at": 1234.5, "acknowledged": True,
             "latched": False, "escalated": False, "audio_paused": False}
    model.handle(where.topic("alarms"), json.dumps({"type": "alarms", "schema": 1, "site": "clinic", "chair": chair,
                                                    "t": 100.0, "seq": 1, "event": None, "active": [alarm]}).encode())


def test_a_long_alarm_on_a_tile_is_shortened_at_a_whole_word_in_its_colour(app: QApplication) -> None:
    from kapmonitor.ui.central.window import CentralWindow

    model = CentralModel(parse_broker_url("mqtt://127.0.0.1:1", environ={}))
    window = CentralWindow(model, None, "clinic")
    try:
        feed(model, "room-1", LONG)
        window.resize(1280, 800)
        window.show()
        window.refresh()
        app.processEvents()
        tile = window.tiles[0]
        label = tile.alarm
        full = label.toolTip()
        assert LONG in full, "the whole text is on hover"
        shown = label.shown_text()
        assert "\u2026" in shown, "the message must not fit a tile of 1280x800"
        assert shown.endswith("(acknowledged)"), f"its state must stay in sight: {shown!r}"
        kept = shown.split("\u2026")[0].rstrip().split(" ")
        assert kept == full.split(" ")[: len(kept)], f"cut inside a word: {shown!r}"
        image = label.grab().toImage()
        bg = COLOURS[Priority.HIGH][0].lower()
        middle = image.pixelColor(image.width() - 4, image.height() // 2).name()
        assert middle == bg, f"the row's right end is {middle}, not the high-priority colour {bg}"
    finally:
        window.close()
        window.deleteLater()


def test_a_value_too_wide_for_its_tile_drops_its_unit_and_age_whole_never_a_cut_word(app: QApplication) -> None:
    import time

    from PySide6.QtGui import QTextDocument

    from kapmonitor.ui.central.window import CentralWindow

    model = CentralModel(parse_broker_url("mqtt://127.0.0.1:1", environ={}))
    window = CentralWindow(model, None, "clinic")
    try:
        feed(model, "room-3", "Diastolic BP very high")
        window.resize(1024, 700)
        window.show()
        window.refresh()
        app.processEvents()
        tile = window.tiles[0]
        now = time.monotonic()
        window.history[tile.key] = {"nibp_sys": [(now, 195.0)], "nibp_dia": [(now, 110.0)]}
        for width in (1920, 1280, 1024):  # the screens a central runs on (1024 the narrowest)
            window.resize(width, 700)
            app.processEvents()
            window.refresh()
            app.processEvents()
            label = tile.nibp
            doc = QTextDocument()
            doc.setDocumentMargin(0)
            doc.setDefaultFont(label.font())
            doc.setHtml(label.text())
            shown = doc.toPlainText()
            assert "195/110" in shown, shown
            assert doc.idealWidth() <= label.contentsRect().width(), f"{shown!r} is wider than its tile at {width}"
    finally:
        window.close()
        window.deleteLater()


def test_ended_and_the_count_of_further_alarms_stay_in_sight_when_the_message_gives_way(app: QApplication) -> None:
    from kapmonitor.ui.central.window import CentralWindow

    model = CentralModel(parse_broker_url("mqtt://127.0.0.1:1", environ={}))
    window = CentralWindow(model, None, "clinic")
    try:
        where = ChairTopic("clinic", "room-3")
        model.handle(where.topic("status"), encode(status_payload(where, "online", 100.0, name="room-3",
                                                                   link="connected", heartbeat_s=1.0, seq=1)))
        alarms = [{"id": f"a{i}", "parameter": None, "kind": "physiological", "priority": "high",
                   "message": LONG if i == 0 else "HR high", "value": None, "limit": None, "raised_at": 1.0 + i,
                   "acknowledged": False, "latched": True, "escalated": False, "audio_paused": False}
                  for i in range(3)]
        model.handle(where.topic("alarms"), json.dumps({"type": "alarms", "schema": 1, "site": "clinic",
                                                        "chair": "room-3", "t": 100.0, "seq": 1, "event": None,
                                                        "active": alarms}).encode())
        window.resize(1280, 800)
        window.show()
        window.refresh()
        app.processEvents()
        window.refresh()
        label = window.tiles[0].alarm
        shown = label.shown_text()
        assert shown.endswith("(ended)  (+2)"), shown
        assert "\u2026" in shown, "the long message must have given way"
        kept = shown.split("\u2026")[0].rstrip().split(" ")
        assert kept == label.toolTip().split(" ")[: len(kept)], f"cut inside a word: {shown!r}"
    finally:
        window.close()
        window.deleteLater()
