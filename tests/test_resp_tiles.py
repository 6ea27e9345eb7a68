"""RR and EtCO2 tiles appear when the monitor sends them and fit the nurse's 1280x800 window; without
HR the HR tile shows the pulse rate labelled PR (real window, offscreen)."""

from __future__ import annotations

from test_tiles import T0, Now, assert_texts_apart, window_at

from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import Status, VitalSample


def test_respiration_tiles_hidden_until_sent_then_shown_and_fitting(qtbot) -> None:  # type: ignore[no-untyped-def]
    now = Now(T0 + 100)
    window, store = window_at(qtbot, 1280, 800, now)
    store.on_items([VitalSample(T0 + 100, Parameter.HR, 72.0), VitalSample(T0 + 100, Parameter.SPO2, 97.0)])
    window.refresh_fast()
    qtbot.wait(20)
    assert not window.resp_row.isVisible() and not window.rr_tile.isVisible()
    store.on_items([VitalSample(T0 + 100, Parameter.RESP_RATE, 14.0), VitalSample(T0 + 100, Parameter.ETCO2, 38.0)])
    window.refresh_fast()
    qtbot.wait(30)
    assert window.rr_tile.isVisible() and window.etco2_tile.isVisible()
    assert window.rr_tile.value_label.text() == "14" and window.etco2_tile.value_label.text() == "38"
    # compact tiles: the medium limits on the detail line
    assert window.rr_tile.detail_label.text() == "\u226524 \u22648"
    assert window.etco2_tile.detail_label.text() == "\u226550 \u226425"
    box = window.centralWidget().rect()
    for tile in (window.hr_tile, window.spo2_tile, window.nibp_tile, window.rr_tile, window.etco2_tile):
        top_left = tile.mapTo(window.centralWidget(), tile.rect().topLeft())
        bottom_right = tile.mapTo(window.centralWidget(), tile.rect().bottomRight())
        assert box.contains(top_left) and box.contains(bottom_right), tile.label_text()
        value = tile.value_label
        assert value.height() >= value.fontMetrics().height() and value.font().pixelSize() >= 40, tile.label_text()
        assert_texts_apart(tile)
    # the monitor stops sending RR: the tile stays and says it has no value
    store.on_items([VitalSample(T0 + 101, Parameter.RESP_RATE, None, Status.INVALID)])
    window.refresh_fast()
    assert window.rr_tile.isVisible() and window.rr_tile.value_label.text() == "\u2014"
    assert window.rr_tile.detail_label.text() == Status.INVALID.value


def test_only_etco2_shows_only_its_tile(qtbot) -> None:  # type: ignore[no-untyped-def]
    now = Now(T0 + 100)
    window, store = window_at(qtbot, 1280, 800, now)
    store.on_items([VitalSample(T0 + 100, Parameter.ETCO2, 41.0)])
    window.refresh_fast()
    assert window.etco2_tile.isVisible() and not window.rr_tile.isVisible()


def test_hr_tile_shows_pulse_rate_labelled_pr_without_hr(qtbot) -> None:  # type: ignore[no-untyped-def]
    now = Now(T0 + 100)
    window, store = window_at(qtbot, 1280, 800, now)
    store.on_items([VitalSample(T0 + 100, Parameter.PULSE_RATE, 64.0), VitalSample(T0 + 100, Parameter.SPO2, 97.0)])
    window.refresh_fast()
    qtbot.wait(20)
    tile = window.hr_tile
    assert tile.label_text() == "PR" and tile.value_label.text() == "64"
    assert tile.detail_label.text() == "no HR from monitor"
    assert_texts_apart(tile)
    now.t = T0 + 102
    store.on_items([VitalSample(T0 + 102, Parameter.HR, 66.0), VitalSample(T0 + 102, Parameter.PULSE_RATE, 64.0)])
    window.refresh_fast()
    assert tile.label_text() == "HR" and tile.value_label.text() == "66" and tile.detail_label.text() == ""


def test_compact_tiles_stack_in_a_narrow_column_and_nothing_is_cut(qtbot) -> None:  # type: ignore[no-untyped-def]
    from kapmonitor.ui import theme
    from kapmonitor.ui.vitals.tiles import NumericTile, TileRow

    rr = NumericTile("RR", "/min", theme.PARAMETER_COLOURS[Parameter.RESP_RATE], value_px=48, compact=True)
    etco2 = NumericTile("EtCO\u2082", "mmHg", theme.PARAMETER_COLOURS[Parameter.ETCO2], value_px=48, compact=True)
    row = TileRow([rr, etco2])
    qtbot.addWidget(row)
    for tile, value, detail in ((rr, "15", "\u226524 \u22648"), (etco2, "39", "\u226550 \u226425")):
        tile.set_value(value)
        tile.set_detail(detail)
    row.resize(243, 340)  # the nurse's column beside the session panel
    row.show()
    qtbot.waitExposed(row)
    qtbot.wait(20)
    assert row.stacked and etco2.y() > rr.y()
    for tile in (rr, etco2):
        assert tile.width() >= tile.minimumSizeHint().width()
        assert_texts_apart(tile)
    row.resize(320, 170)
    qtbot.wait(20)
    assert not row.stacked and etco2.x() > rr.x()
    for tile in (rr, etco2):
        assert_texts_apart(tile)


def test_a_parameter_invalid_all_along_shows_no_tile(qtbot) -> None:  # type: ignore[no-untyped-def]
    now = Now(T0 + 100)
    window, store = window_at(qtbot, 1280, 800, now)
    store.on_items([VitalSample(T0 + 100, Parameter.RESP_RATE, None, Status.INVALID)])
    window.refresh_fast()
    assert not window.rr_tile.isVisible() and not window.resp_row.isVisible()
