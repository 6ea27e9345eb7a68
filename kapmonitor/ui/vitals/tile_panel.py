"""The nurse's column of numeric tiles (HR, SpO2, NIBP, then RR and EtCO2 once the monitor sends them)
and how each is redrawn from the Qt-free `TrendStore`.

The tiles never judge a value themselves: their colour is the alarm system's (`tile_states` of the
engine's active alarms). `refresh` touches a label only when its text or colour changes.
GUI thread only.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtWidgets import QVBoxLayout, QWidget

from kapmonitor.alarms.presentation import flash_on
from kapmonitor.alarms.profile import AlarmProfile, Priority
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import Source
from kapmonitor.model.trends import TrendStore
from kapmonitor.ui import theme
from kapmonitor.ui.vitals.tiles import NO_VALUE, NumericTile, TileRow

MANUAL_MAX_AGE = 300.0  # a value typed in by the nurse stays on its tile (marked MANUAL) this long
PR_TOOLTIP = "pulse rate from the oximeter: no HR from the monitor; the HR limits apply"


def format_age(seconds: float) -> str:
    """'42 s ago', '7 min ago', '2 h 05 min ago'."""
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    minutes = int(seconds // 60)
    if minutes < 120:
        return f"{minutes} min ago"
    return f"{minutes // 60} h {minutes % 60:02d} min ago"


def medium_limits(profile: AlarmProfile, parameter: Parameter) -> str:
    """The medium-priority limits of `parameter` as the tile shows them ("≥160 <90")."""
    return " ".join(
        f"{th.symbol}{th.value:g}"
        for rule in profile.rules_for(parameter)
        if rule.priority is Priority.MEDIUM
        for th in rule.thresholds
    )


class TilePanel(QWidget):
    """The tiles and, under them, `side_area` for other panels. No other window may cover it
    (ui/placement.py)."""

    def __init__(self, profile: AlarmProfile) -> None:
        super().__init__()
        right = QVBoxLayout(self)  # the style's default margins, as ever
        right.setSpacing(6)
        self.hr_tile = NumericTile("HR", "/min", theme.PARAMETER_COLOURS[Parameter.HR], defer_style=True)
        self.spo2_tile = NumericTile("SpO\u2082", "%", theme.PARAMETER_COLOURS[Parameter.SPO2], defer_style=True)
        self.nibp_tile = NumericTile("NIBP", "mmHg", theme.PARAMETER_COLOURS[Parameter.NIBP_SYS], value_px=72,
                                     defer_style=True)
        self.tiles = {"hr": self.hr_tile, "spo2": self.spo2_tile, "nibp": self.nibp_tile}
        for tile in self.tiles.values():
            right.addWidget(tile, 1)
        # respiration: two compact tiles side by side, shown once the monitor sends RR or EtCO2
        self.rr_tile = NumericTile("RR", "/min", theme.PARAMETER_COLOURS[Parameter.RESP_RATE], value_px=48,
                                   compact=True, defer_style=True)
        self.etco2_tile = NumericTile("EtCO\u2082", "mmHg", theme.PARAMETER_COLOURS[Parameter.ETCO2], value_px=48,
                                      compact=True, defer_style=True)
        self.resp_row = TileRow([self.rr_tile, self.etco2_tile])  # stacked when the column is narrow
        for tile in (self.rr_tile, self.etco2_tile):
            tile.setVisible(False)
        self.resp_row.setVisible(False)
        right.addWidget(self.resp_row, 1)
        self.side_area = QVBoxLayout()
        right.addLayout(self.side_area)
        self.setMinimumWidth(262)
        self.setMaximumWidth(720)
        self.has_nibp = True  # False: the monitor (a pulse oximeter) never sends NIBP
        self._alarm_states: dict[Parameter, tuple[Priority, bool]] = {}
        self._resp_limits: dict[Parameter, str] = {}
        self._pr_text = NO_VALUE  # the pulse rate, shown on the HR tile or under SpO2
        self.set_profile(profile)

    def apply_styles(self) -> None:
        """Colour the tiles: called by the window once the panel sits in it (see NumericTile's
        `defer_style`); a tile shown earlier has coloured itself."""
        for tile in (self.hr_tile, self.spo2_tile, self.nibp_tile, self.rr_tile, self.etco2_tile):
            tile.apply_style()

    def set_profile(self, profile: AlarmProfile) -> None:
        """The medium limits on the tiles (after a limit change)."""
        self.hr_tile.set_limits_text(medium_limits(profile, Parameter.HR))
        self.spo2_tile.set_limits_text(medium_limits(profile, Parameter.SPO2))
        self.nibp_tile.set_limits_text(medium_limits(profile, Parameter.NIBP_SYS))
        # the compact respiration tiles have no room on top: their limits go on the detail line
        self._resp_limits = {p: medium_limits(profile, p) for p in (Parameter.RESP_RATE, Parameter.ETCO2)}

    def set_no_nibp_note(self, has_nibp: bool, text: str, action_text: str, action: Callable[[], object]) -> None:
        """A monitor without NIBP: the NIBP tile says so (`text`) with a button for manual entry."""
        self.has_nibp = has_nibp
        if has_nibp:
            self.nibp_tile.set_note("")
        else:
            self.nibp_tile.set_note(text, action_text, action)

    def refresh(self, store: TrendStore, alarm_states: dict[Parameter, tuple[Priority, bool]], now: float) -> None:
        """Redraw every tile from `store`, coloured as `alarm_states` (alarms/presentation.tile_states) says."""
        self._alarm_states = alarm_states
        self._refresh_hr(store, now)
        self._refresh_spo2(store, now)
        self._refresh_nibp(store, now)
        self._refresh_resp(store, now)

    def _value_text(self, store: TrendStore, parameter: Parameter, now: float,
                    max_age: float = 10.0) -> tuple[str, bool]:
        """The tile text and whether it was entered by hand (a manual value stays up to MANUAL_MAX_AGE)."""
        latest = store.latest(parameter)
        manual = latest is not None and latest.source is Source.MANUAL
        limit = MANUAL_MAX_AGE if manual else max_age
        if latest is None or latest.value is None or now - latest.time > limit:
            return NO_VALUE, False
        return f"{latest.value:.0f}", manual

    def _show_tile_alarm(self, tile: NumericTile, parameters: tuple[Parameter, ...]) -> None:
        """Colour a tile as the alarm system says (alarms/presentation.py): the colour of its highest
        active alarm, flashing while unacknowledged; the tile never re-checks limits itself."""
        priority: Priority | None = None
        flashing = False
        for p in parameters:
            state = self._alarm_states.get(p)
            if state is not None and (priority is None or state[0] >= priority):
                flashing = state[1] or (flashing and state[0] == priority)
                priority = state[0]
        lit = flash_on(priority, time.monotonic()) if flashing else True
        tile.set_alarm(priority, lit)

    def _refresh_hr(self, store: TrendStore, now: float) -> None:
        text, manual = self._value_text(store, Parameter.HR, now)
        pr_text, _ = self._value_text(store, Parameter.PULSE_RATE, now)
        self._pr_text = pr_text
        latest_hr = store.latest(Parameter.HR)
        if text == NO_VALUE and pr_text != NO_VALUE:
            # no HR (a pulse oximeter alone): the pulse rate, labelled PR, judged on the HR limits
            self.hr_tile.set_label("PR", PR_TOOLTIP)
            self.hr_tile.set_value(pr_text)
            self.hr_tile.set_manual(False)
            self._show_tile_alarm(self.hr_tile, (Parameter.HR, Parameter.PULSE_RATE))
            hr_status = latest_hr.status.value if latest_hr is not None and latest_hr.value is None else ""
            self.hr_tile.set_detail(f"HR {hr_status}" if hr_status and hr_status != "ok" else "no HR from monitor")
            return
        self.hr_tile.set_label("HR")
        self.hr_tile.set_value(text)
        self.hr_tile.set_manual(manual)
        self._show_tile_alarm(self.hr_tile, (Parameter.HR,))
        if latest_hr is not None and latest_hr.value is None and latest_hr.status.value != "ok":
            self.hr_tile.set_detail(latest_hr.status.value)
        elif manual and latest_hr is not None:
            self.hr_tile.set_detail(f"entered {format_age(now - latest_hr.time)}")
        else:
            self.hr_tile.set_detail("")

    def _refresh_spo2(self, store: TrendStore, now: float) -> None:
        text, manual = self._value_text(store, Parameter.SPO2, now)
        self.spo2_tile.set_value(text)
        self.spo2_tile.set_manual(manual)
        self._show_tile_alarm(self.spo2_tile, (Parameter.SPO2,))
        latest_spo2 = store.latest(Parameter.SPO2)
        if latest_spo2 is not None and latest_spo2.value is None and latest_spo2.status.value != "ok":
            self.spo2_tile.set_detail(latest_spo2.status.value)
        elif manual and latest_spo2 is not None:
            self.spo2_tile.set_detail(f"entered {format_age(now - latest_spo2.time)}")
        else:
            self.spo2_tile.set_detail(f"PR {self._pr_text}")

    def _refresh_nibp(self, store: TrendStore, now: float) -> None:
        nibp = store.last_nibp()
        measuring = store.nibp_measuring_since()
        if nibp is None or nibp.systolic is None or nibp.diastolic is None:
            self.nibp_tile.set_value(f"{NO_VALUE}/{NO_VALUE}")
            self.nibp_tile.set_manual(False)
            detail = "no measurement yet" if self.has_nibp else "none entered yet"
        else:
            self.nibp_tile.set_value(f"{nibp.systolic:.0f}/{nibp.diastolic:.0f}")
            self.nibp_tile.set_manual(nibp.source is Source.MANUAL)
            mean = f"({nibp.mean:.0f})  " if nibp.mean is not None else ""
            detail = f"{mean}{format_age(now - nibp.time)}"
        if measuring is not None:
            detail = f"cuff {now - measuring:.0f} s\u2026"
        self.nibp_tile.set_detail(detail)
        self._show_tile_alarm(self.nibp_tile, (Parameter.NIBP_SYS, Parameter.NIBP_DIA, Parameter.NIBP_MEAN))

    def _refresh_resp(self, store: TrendStore, now: float) -> None:
        """RR and EtCO2: hidden until the monitor sends them, then kept (a lost value shows a dash)."""
        for tile, parameter in ((self.rr_tile, Parameter.RESP_RATE), (self.etco2_tile, Parameter.ETCO2)):
            latest = store.latest(parameter)
            if latest is None or (tile.isHidden() and latest.value is None):
                continue  # shown from its first valid value: a monitor reporting it invalid all along has none
            if tile.isHidden():
                tile.setVisible(True)
                self.resp_row.setVisible(True)
                self.resp_row.relayout()
            text, manual = self._value_text(store, parameter, now)
            tile.set_value(text)
            tile.set_manual(manual)
            self._show_tile_alarm(tile, (parameter,))
            if latest.value is None and latest.status.value != "ok":
                tile.set_detail(latest.status.value)
            elif manual:
                tile.set_detail(f"entered {format_age(now - latest.time)}")
            else:
                tile.set_detail(self._resp_limits.get(parameter, ""))
