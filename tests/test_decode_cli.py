"""`kapmonitor decode`: output format, NIBP rows once, summary, damaged input and exit codes."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from shared_paths import CAPTURES

from kapmonitor.cli import main

DB00 = CAPTURES / "ge_s5_carescape_db00.raw"
DB01 = CAPTURES / "ge_s5_carescape_db01_damaged.raw"
ECHO = CAPTURES / "philips_client_echo_MPRawoutput1.raw"
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$")



def decode(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["decode", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_db00_csv(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = decode(capsys, str(DB00), "--driver", "ge-s5")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert out.splitlines()[0] == "time,parameter,value,unit,status"
    assert {r["parameter"] for r in rows} == {"hr", "spo2", "pulse_rate", "nibp_sys", "nibp_dia", "nibp_mean",
                                             "nibp_pulse", "resp_rate"}  # RR from ECG impedance
    assert all(ISO_Z.match(r["time"]) for r in rows)
    sys_rows = [(r["time"], r["value"], r["status"]) for r in rows if r["parameter"] == "nibp_sys" and r["value"]]
    assert sys_rows[:3] == [("2018-08-02T14:30:20Z", "87", "old"), ("2018-08-02T14:30:28Z", "86", "ok"),
                            ("2018-08-02T14:32:59Z", "91", "ok")]
    assert len(sys_rows) == 10 and sys_rows[-1] == ("2018-08-02T14:55:34Z", "81", "ok")
    assert sum(1 for r in rows if r["parameter"] == "nibp_mean" and r["value"]) == 10
    assert {r["status"] for r in rows if r["parameter"] == "nibp_pulse"} == {"invalid"}
    assert all(r["value"] == "" for r in rows if r["status"] not in ("ok", "old"))
    spo2 = [float(r["value"]) for r in rows if r["parameter"] == "spo2"]
    assert min(spo2) == 95.16 and max(spo2) == 100
    units = {r["parameter"]: r["unit"] for r in rows}
    assert units["nibp_sys"] == "mmHg" and units["spo2"] == "%" and units["hr"] == "/min"
    assert "pleth" not in out
    assert "frames decoded: 3520" in err and "checksum errors: 0" in err and "resyncs: 1" in err
    assert "2018-08-02T14:30:20Z to 2018-08-02T14:59:39Z" in err
    assert len(err.strip().splitlines()) == 1


def test_db00_waves_and_jsonl(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = decode(capsys, str(DB00), "--driver", "ge-s5", "--waves")
    assert code == 0
    pleth = [line for line in out.splitlines() if ",pleth," in line]
    assert 175_000 < len(pleth) < 177_000
    assert pleth[0].startswith("2018-08-02T14:30:20Z,pleth,0.21,")
    assert pleth[1].startswith("2018-08-02T14:30:20.010Z,pleth,0.24,")
    code, out, _ = decode(capsys, str(DB00), "--driver", "ge-s5", "--format", "jsonl", "--waves")
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    nibp = [r for r in records if r["parameter"] == "nibp_sys" and r["value"] is not None]
    assert len(nibp) == 10 and nibp[1]["measurement_id"] and nibp[1]["value"] == 86.0
    waves = [r for r in records if r["parameter"] == "pleth"]
    assert len(waves) == 1760 and waves[0]["rate_hz"] == 100.0


def test_damaged_capture_exit_0_and_counts(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = decode(capsys, str(DB01), "--driver", "ge-s5")
    assert code == 0
    assert len(out.splitlines()) > 1000
    counts = dict(re.findall(r"(checksum errors|length errors|frames decoded): (\d+)", err))
    assert int(counts["checksum errors"]) > 100 and int(counts["length errors"]) > 100
    assert int(counts["frames decoded"]) > 2000


def test_unreadable_file_and_unknown_driver_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = decode(capsys, str(tmp_path / "missing.raw"), "--driver", "ge-s5")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and "missing.raw" in err
    code, out, err = decode(capsys, str(tmp_path), "--driver", "ge-s5")
    assert code == 2 and len(err.strip().splitlines()) == 1
    capture = tmp_path / "x.raw"
    capture.write_bytes(b"\x7e\x00\x7e")
    code, out, err = decode(capsys, str(capture), "--driver", "no-such-monitor")
    assert code == 2 and "no-such-monitor" in err and len(err.strip().splitlines()) == 1


def test_empty_and_garbage_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    empty = tmp_path / "empty.raw"
    empty.write_bytes(b"")
    code, out, err = decode(capsys, str(empty), "--driver", "ge-s5")
    assert code == 0 and out == "time,parameter,value,unit,status\n" and "frames decoded: 0" in err
    noise = tmp_path / "noise.raw"
    noise.write_bytes(bytes(range(256)) * 200)
    code, out, err = decode(capsys, str(noise), "--driver", "ge-s5")
    assert code == 0 and out.count("\n") == 1


def test_philips_decoder_through_the_same_command(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("kapmonitor.drivers.intellivue.decoder")
    code, out, err = decode(capsys, str(ECHO), "--driver", "philips-intellivue")
    assert code == 0
    assert out.splitlines() == ["time,parameter,value,unit,status"]  # the client's own requests: no values
    assert "frames decoded" in err
