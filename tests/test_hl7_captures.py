"""Every shared HL7 example decodes to the values hl7/expected_values.json lists (one test per file),
and `kapmonitor decode --driver hl7` reads them bare (CR, CRLF) and as MLLP bytes."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from shared_paths import PROTOCOLS

from kapmonitor.cli import main
from kapmonitor.drivers.hl7 import codes
from kapmonitor.drivers.hl7.decoder import Hl7Decoder
from kapmonitor.drivers.hl7.mllp import frame
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import DeviceNotice, Status, VitalSample

HL7 = PROTOCOLS / "hl7"
EXPECTED: dict[str, Any] = json.loads((HL7 / "expected_values.json").read_text(encoding="utf-8"))
FILES = sorted(name for name in EXPECTED if not name.startswith("_"))


def ts(text: str) -> float:
    """An HL7 time as the test reads it (independently of the decoder): no zone = local time."""
    text = text.split(".")[0] + (text[text.index("+"):] if "." in text and "+" in text else "")
    if "+" in text or "-" in text[8:]:
        return datetime.strptime(text, "%Y%m%d%H%M%S%z").timestamp()
    return datetime.strptime(text, "%Y%m%d%H%M%S").timestamp()


def decode(name: str) -> tuple[list[VitalSample], list[DeviceNotice], str]:
    decoder = Hl7Decoder()
    result = decoder.decode_message((HL7 / name).read_bytes(), 0.0)
    samples = [i for i in result.items if isinstance(i, VitalSample)]
    notices = [i for i in result.items if isinstance(i, DeviceNotice)]
    return samples, notices, result.ack_code


def only(samples: list[VitalSample], parameter: Parameter) -> VitalSample | None:
    found = [s for s in samples if s.parameter is parameter]
    assert len(found) <= 1, found
    return found[0] if found else None


def value_of(spec: Any) -> float | None:
    if spec is None:
        return None
    if isinstance(spec, dict):
        v = spec.get("value")
        return None if v is None else float(v)
    return float(spec)


def message_time(spec: dict[str, Any]) -> float | None:
    for key in ("ts", "obr7", "obr14", "msh7"):
        if isinstance(spec.get(key), str):
            return ts(spec[key])
    return None


def test_every_example_has_expected_values() -> None:
    on_disk = {p.name for p in HL7.glob("*.hl7")}
    assert on_disk == set(FILES)


@pytest.mark.parametrize("name", FILES)
def test_example_decodes_to_its_expected_values(name: str) -> None:
    spec = EXPECTED[name]
    samples, notices, ack = decode(name)
    assert ack == "AA"
    demo = "demo" in name
    want_status = Status.DEMO if demo else Status.OK
    t_default = message_time(spec)
    for key, parameter in (("hr", Parameter.HR), ("spo2", Parameter.SPO2), ("pulse_rate", Parameter.PULSE_RATE)):
        if key not in spec:
            continue
        got = only(samples, parameter)
        want = value_of(spec[key])
        if want is None:
            assert got is None or (got.value is None and not got.valid), got
            continue
        assert got is not None, f"{key} missing"
        assert got.value == pytest.approx(want)
        assert got.status is want_status
        own = spec[key].get("ts") if isinstance(spec[key], dict) else None
        t_want = ts(own) if own else t_default
        if t_want is not None:
            assert got.time == pytest.approx(t_want)
    if "pulse_rate_invasive" in spec and "pulse_rate" not in spec:
        got = only(samples, Parameter.PULSE_RATE)  # the only pulse rate in the message
        assert got is not None and got.value == spec["pulse_rate_invasive"]["value"]
    nibp = spec.get("nibp")
    nibp_samples = [s for s in samples if s.parameter.value.startswith("nibp")]
    if nibp is None:
        assert nibp_samples == []  # invasive pressures (abp, pap) are never taken for NIBP
    else:
        by_param = {s.parameter: s for s in nibp_samples}
        assert len(by_param) == len(nibp_samples)
        t_nibp = ts(nibp["ts"]) if nibp.get("ts") else t_default
        sent = spec.get("msh7") or spec.get("obr7")
        # measured before this (first) message was sent: the value on screen from before, `old`
        nibp_status = Status.OLD if (not demo and sent and t_nibp is not None and t_nibp < ts(sent) - 300) \
            else want_status
        for key, parameter in (("sys", Parameter.NIBP_SYS), ("dia", Parameter.NIBP_DIA), ("mean", Parameter.NIBP_MEAN)):
            assert by_param[parameter].value == nibp[key]
            assert by_param[parameter].status is nibp_status
        assert len({s.measurement_id for s in nibp_samples}) == 1 and nibp_samples[0].measurement_id
        assert [s.time for s in nibp_samples] == pytest.approx([t_nibp] * len(nibp_samples))
    if "nibp_pulse" in spec:
        got = only(samples, Parameter.NIBP_PULSE)
        assert got is not None and got.value == spec["nibp_pulse"]["value"]
    for key, quantity in (("etco2", codes.ETCO2), ("resp_rate", codes.RESP_RATE)):
        if key in spec and quantity is not None:
            got = only(samples, quantity)
            assert got is not None and got.value == value_of(spec[key])
    if demo:
        assert samples and all(s.status is Status.DEMO and not s.valid for s in samples)
        assert [n.code for n in notices] == ["demo-mode"]
    else:
        assert not any(n.code.startswith("demo") for n in notices)


def test_nm_text_that_is_not_a_number_is_rejected_without_failing_the_message() -> None:
    data = (HL7 / "philips_iic_2011_capture.hl7").read_bytes().replace(b"0002-5000^SML", b"0002-4182^SML")
    samples = Hl7Decoder().decode_message(data, 0.0).items
    hr = [s for s in samples if isinstance(s, VitalSample) and s.parameter is Parameter.HR]
    # the well-formed HR 87 wins over the "2.73x10^-7" text, which is never a number
    assert [(s.value, s.status) for s in hr] == [(87.0, Status.OK)]


def _decode_cli(capsys: pytest.CaptureFixture[str], path: Path) -> list[dict[str, str]]:
    assert main(["decode", str(path), "--driver", "hl7"]) == 0
    out, err = capsys.readouterr()
    assert "frames decoded" in err
    return list(csv.DictReader(io.StringIO(out)))


@pytest.mark.parametrize("form", ["mllp", "bare-cr", "bare-crlf", "bare-lf-bom"])
def test_decode_command_reads_every_example_in_one_file(form: str, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    messages = [(HL7 / name).read_bytes() for name in FILES]
    if form == "mllp":
        data = b"".join(frame(m) for m in messages)
    elif form == "bare-cr":
        data = b"".join(messages)
    elif form == "bare-crlf":
        data = b"".join(m.replace(b"\r", b"\r\n") for m in messages)
    else:  # saved by a text editor: LF line ends and a byte order mark
        data = b"\xef\xbb\xbf" + b"".join(m.replace(b"\r", b"\n") for m in messages)
    path = tmp_path / f"all.{form}.hl7"
    path.write_bytes(data)
    rows = _decode_cli(capsys, path)
    # the first sender is the one shown: only its values come out (no mixing of beds)
    first = Hl7Decoder().decode_message(messages[0], 0.0).items
    first_values = [i for i in first if isinstance(i, VitalSample)]
    assert len(rows) == len(first_values)
    assert {r["parameter"] for r in rows} == {s.parameter.value for s in first_values} >= {"hr", "spo2", "pulse_rate"}


def test_decode_command_marks_demo_values(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = _decode_cli(capsys, HL7 / "mindray_vs900_demo_mode.hl7")
    assert rows and {r["status"] for r in rows} == {"demo"}
    assert {r["parameter"] for r in rows} >= {"spo2", "nibp_sys"}
