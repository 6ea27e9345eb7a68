"""An emulated IntelliVue capture through `kapmonitor decode`: NIBP rows once, monitor-clock times."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

from kapmonitor.drivers.intellivue.decoder import IntelliVueDecoder
from kapmonitor.drivers.intellivue.emulator import record_session
from kapmonitor.model.samples import VitalSample


def test_recorded_session_is_deterministic_and_decodes() -> None:
    a = record_session(40, seed=4)
    assert a == record_session(40, seed=4)
    dec = IntelliVueDecoder()
    items = dec.feed(a, 0.0)
    assert dec.stats.checksum_errors == 0 and dec.parse_errors == 0 and dec.echo_frames == 0
    hr = [i for i in items if isinstance(i, VitalSample) and i.parameter.value == "hr"]
    assert hr[0].time >= 1_767_225_600.0 and hr[-1].time < 1_767_225_600.0 + 41


def test_decode_command_on_emulated_capture(tmp_path: Path) -> None:
    capture = tmp_path / "intellivue.raw"
    capture.write_bytes(record_session(340, seed=2))
    proc = subprocess.run(
        [sys.executable, "-m", "kapmonitor", "decode", str(capture), "--driver", "philips-intellivue"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert rows and list(rows[0]) == ["time", "parameter", "value", "unit", "status"]
    nibp = [r for r in rows if r["parameter"].startswith("nibp")]
    measured = [r for r in nibp if r["status"] == "ok"]
    # two cuff measurements (at 30 s and 330 s), each exactly once, stamped with the measurement time
    assert [r["parameter"] for r in measured] == ["nibp_sys", "nibp_dia", "nibp_mean", "nibp_pulse"] * 2
    assert {r["time"] for r in measured} == {"2026-01-01T00:00:30Z", "2026-01-01T00:05:30Z"}
    assert [r["status"] for r in nibp if r["status"] != "ok"] == ["measuring", "measuring"]
    assert all(r["time"].startswith("2026-01-01T00:") and r["time"].endswith("Z") for r in rows)
    assert "checksum errors: 0" in proc.stderr
