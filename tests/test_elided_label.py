"""One-line labels that give way (ui/elided.py): shortened only at whole words, whole on hover.

A tile's limits "≥160 <90" cut inside a number ("≥16…") would read as another limit; the status
bar, the tiles and the alarm bar's notice all use this one label (real widgets, offscreen)."""

from __future__ import annotations

from PySide6.QtGui import QFont

from kapmonitor.ui.elided import ELLIPSIS, ElidedLabel, elide_words


def chars(text: str) -> float:
    return float(len(text))


def test_whole_words_only() -> None:
    assert elide_words("\u2265160 <90 \u2265100", chars, 20) == "\u2265160 <90 \u2265100"  # fits: unchanged
    assert elide_words("\u2265160 <90 \u2265100", chars, 10) == "\u2265160 <90 " + ELLIPSIS
    assert elide_words("\u2265160 <90 \u2265100", chars, 7) == "\u2265160 " + ELLIPSIS
    assert elide_words("\u2265160 <90", chars, 4) == ELLIPSIS  # never "≥16…"
    # never ends on a separator or an empty word (two spaces)
    assert elide_words("(130)  9 min ago", chars, 9) == "(130) " + ELLIPSIS
    assert elide_words("alarm \u2014 output shared", chars, 12) == "alarm " + ELLIPSIS


def test_every_shortened_text_is_a_whole_word_prefix() -> None:
    text = "Philips IntelliVue MX800 (LAN 192.168.100.42, bed 7, recovery east)"
    for width in range(0, len(text) + 2):
        shown = elide_words(text, chars, width)
        assert len(shown) <= max(width, 1)
        if shown != text and shown != ELLIPSIS:
            stem = shown[: -len(" " + ELLIPSIS)]
            assert text.startswith(stem + " "), shown


def test_label_shortens_at_a_word_and_shows_the_whole_text_on_hover(qtbot) -> None:  # type: ignore[no-untyped-def]
    label = ElidedLabel("\u2265160 <90 \u2265100", "medium-priority alarm limits")
    font = QFont("DejaVu Sans")
    font.setPixelSize(20)
    label.setFont(font)
    qtbot.addWidget(label)
    metrics = label.fontMetrics()
    label.resize(metrics.horizontalAdvance("\u2265160 <9\u2026") + 1, 30)  # room for a cut number, not the word
    label.show()
    qtbot.waitExposed(label)
    shown = label.shown_text()
    assert shown == "\u2265160 " + ELLIPSIS and label.is_elided()
    assert label.toolTip() == label.text() == "\u2265160 <90 \u2265100"
    label.resize(metrics.horizontalAdvance(label.text()) + 10, 30)
    qtbot.wait(10)
    assert label.shown_text() == label.text() and label.toolTip() == "medium-priority alarm limits"
