"""The PCD-01 decoder and MLLP framer on their own: rules of SOURCES.md, and fuzzing (never raises)."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shared_paths import PROTOCOLS

from kapmonitor.drivers.hl7.decoder import Hl7Decoder
from kapmonitor.drivers.hl7.message import build_ack, parse_message, parse_ts, unescape
from kapmonitor.drivers.hl7.mllp import MllpFramer, frame
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import DeviceNotice, Status, VitalSample

HL7 = PROTOCOLS / "hl7"
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
EXAMPLES = sorted(HL7.glob("*.hl7"))


def msg(*obx: str, msh18: str = "UNICODE UTF-8", pv1: str = "ICU^^5", msh7: str = "20240101120000+0000",
        obr7: str = "20240101120000+0000", control: str = "M1") -> bytes:
    lines = [f"MSH|^~\\&|DEV^0011223344556677^EUI-64|FAC|||{msh7}||ORU^R01^ORU_R01|{control}|P|2.6|||AL|NE||{msh18}",
             "PID|||1^^^H^PI||DOE^JANE", f"PV1||I|{pv1}",
             f"OBR|1|1^DEV|1^DEV|182777000^monitoring of patient^SCT|||{obr7}"]
    lines += [f"OBX|{n}|{o}" for n, o in enumerate(obx, 1)]
    return ("\r".join(lines) + "\r").encode("utf-8")


def vitals(data: bytes, decoder: Hl7Decoder | None = None) -> list[VitalSample]:
    result = (decoder or Hl7Decoder()).decode_message(data, 1_700_000_000.0)
    return [i for i in result.items if isinstance(i, VitalSample)]


HR = "NM|147842^MDC_ECG_HEART_RATE^MDC|1.5.1.1|{v}|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||{st}"


@pytest.mark.parametrize("value", ["-999", "-99.9", "-1", "", "abc", "2.73x10\\S\\-7", "NaN", "inf"])
def test_no_value_for_sentinels_empty_and_text(value: str) -> None:
    [hr] = vitals(msg(HR.format(v=value, st="R")))
    assert hr.value is None and hr.status is Status.INVALID


def test_obx11_x_means_invalid_even_with_a_number() -> None:
    [hr] = vitals(msg(HR.format(v="72", st="X")))
    assert hr.value is None and hr.status is Status.INVALID


def test_implausible_value_is_never_shown() -> None:
    [hr] = vitals(msg(HR.format(v="900", st="R")))
    assert hr.value is None and hr.status is Status.IMPLAUSIBLE


def test_kpa_is_converted_to_mmhg_and_an_unknown_unit_rejected() -> None:
    got = vitals(msg("NM|150021^MDC_PRESS_BLD_NONINV_SYS^MDC|1.1.1.1|16|kPa^kPa^UCUM|||||R",
                     "NM|150022^MDC_PRESS_BLD_NONINV_DIA^MDC|1.1.1.2|10.7|kPa^kPa^UCUM|||||R",
                     "NM|147842^MDC_ECG_HEART_RATE^MDC|1.5.1.1|70|Hz^Hz^UCUM|||||R"))
    by = {s.parameter: s for s in got}
    assert by[Parameter.NIBP_SYS].value == pytest.approx(120.0, abs=0.1)
    assert by[Parameter.NIBP_DIA].value == pytest.approx(80.3, abs=0.1)
    assert by[Parameter.HR].value is None and by[Parameter.HR].status is Status.INVALID


def test_time_falls_back_from_obx14_to_obr7_to_msh7() -> None:
    own = vitals(msg("NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1|97|%^%^UCUM|||||R|||20240101115900+0000"))
    assert own[0].time == datetime.fromisoformat("2024-01-01T11:59:00+00:00").timestamp()
    obr = vitals(msg("NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1|97|%^%^UCUM|||||R", obr7="20240101115800+0000"))
    assert obr[0].time == datetime.fromisoformat("2024-01-01T11:58:00+00:00").timestamp()
    msh = vitals(msg("NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1|97|%^%^UCUM|||||R", obr7=""))
    assert msh[0].time == datetime.fromisoformat("2024-01-01T12:00:00+00:00").timestamp()


def test_same_parameter_twice_takes_the_first_channel_and_prefers_a_valid_value() -> None:
    got = vitals(msg("NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.3.1.150456||%|||||X",
                     "NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.3.2.150456|96|%|||||F",
                     "NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.3.3.150456|91|%|||||F"))
    assert [(s.parameter, s.value) for s in got] == [(Parameter.SPO2, 96.0)]


def test_oximeter_pulse_rate_wins_over_an_invasive_one() -> None:
    got = vitals(msg("NM|149522^MDC_BLD_PULS_RATE_INV^MDC|1.2.1.1|88|/min^/min^UCUM|||||R",
                     "NM|149530^MDC_PULS_OXIM_PULS_RATE^MDC|1.22.1.1|71|/min^/min^UCUM|||||R"))
    assert [(s.parameter, s.value) for s in got] == [(Parameter.PULSE_RATE, 71.0)]


NIBP = ("NM|150301^MDC_PRESS_CUFF_SYS^MDC|1.1.9.150301|{s}|266016^MDC_DIM_MMHG^MDC|||||R|||{t}",
        "NM|150303^MDC_PRESS_CUFF_MEAN^MDC|1.1.9.150303|{m}|266016^MDC_DIM_MMHG^MDC|||||R|||{t}",
        "NM|150302^MDC_PRESS_CUFF_DIA^MDC|1.1.9.150302|{d}|266016^MDC_DIM_MMHG^MDC|||||R|||{t}")


def nibp_msg(s: int, d: int, m: int, t: str, control: str) -> bytes:
    return msg(*(o.format(s=s, d=d, m=m, t=t) for o in NIBP), control=control)


def test_nibp_once_per_measurement_even_when_repeated_in_every_message() -> None:
    decoder = Hl7Decoder()
    first = vitals(nibp_msg(130, 80, 97, "20240101115000", "1"), decoder)
    repeat = vitals(nibp_msg(130, 80, 97, "20240101115000", "2"), decoder)
    same_values_new_cuff = vitals(nibp_msg(130, 80, 97, "20240101115500", "3"), decoder)
    assert [s.parameter for s in first] == [Parameter.NIBP_SYS, Parameter.NIBP_DIA, Parameter.NIBP_MEAN]
    assert repeat == []
    assert len(same_values_new_cuff) == 3
    assert len({s.measurement_id for s in first}) == 1
    assert first[0].measurement_id != same_values_new_cuff[0].measurement_id
    assert first[0].time == datetime(2024, 1, 1, 11, 50).timestamp()  # the cuff time (local, no zone)


def test_nibp_shown_before_listening_started_is_old_and_later_ones_are_new() -> None:
    decoder = Hl7Decoder()
    first = vitals(nibp_msg(150, 95, 113, "20240101110000", "1"), decoder)  # an hour before MSH-7
    later = vitals(nibp_msg(128, 79, 95, "20240101120500", "2"), decoder)
    assert {s.status for s in first} == {Status.OLD} and not any(s.valid for s in first)
    assert {s.status for s in later} == {Status.OK}


def test_demo_values_are_marked_and_announced_once() -> None:
    decoder = Hl7Decoder()
    demo = HR.format(v="80", st="R").replace("|||||R", "||DEMO|||R")
    r1 = decoder.decode_message(msg(demo, control="1"), 0.0).items
    r2 = decoder.decode_message(msg(demo, control="2"), 0.0).items
    r3 = decoder.decode_message(msg(HR.format(v="80", st="R"), control="3"), 0.0).items
    assert [(i.value, i.status) for i in r1 if isinstance(i, VitalSample)] == [(80.0, Status.DEMO)]
    assert not next(i for i in r1 if isinstance(i, VitalSample)).valid
    assert [i.code for i in r1 + r2 + r3 if isinstance(i, DeviceNotice)] == ["demo-mode", "demo-mode-ended"]
    assert [i.status for i in r3 if isinstance(i, VitalSample)] == [Status.OK]


def test_bed_selection_by_pv1_3_and_by_device_id() -> None:
    bed5 = msg(HR.format(v="70", st="R"), pv1="ICU^^5")
    bed6 = msg(HR.format(v="90", st="R"), pv1="ICU^^6").replace(b"0011223344556677", b"0011223344556688")
    by_bed = Hl7Decoder(bed="6")
    assert vitals(bed5, by_bed) == [] and [s.value for s in vitals(bed6, by_bed)] == [90.0]
    by_whole_pv1 = Hl7Decoder(bed="ICU^^5")
    assert [s.value for s in vitals(bed5, by_whole_pv1)] == [70.0] and vitals(bed6, by_whole_pv1) == []
    by_unit = Hl7Decoder(bed="ICU")  # the unit every bed shares chooses no bed at all
    assert vitals(bed5, by_unit) == [] and vitals(bed6, by_unit) == []
    by_device = Hl7Decoder(device="0011223344556677")
    assert [s.value for s in vitals(bed5, by_device)] == [70.0] and vitals(bed6, by_device) == []
    first_seen = Hl7Decoder()
    assert [s.value for s in vitals(bed6, first_seen)] == [90.0]
    result = first_seen.decode_message(bed5, 0.0)
    assert result.ack_code == "AA" and not result.for_this_bed  # acknowledged, never mixed in
    assert [i.code for i in result.items if isinstance(i, DeviceNotice)] == ["hl7-other-bed"]


def test_a_second_sender_claiming_the_chosen_bed_is_not_mixed_in() -> None:
    decoder = Hl7Decoder(bed="5")
    first = msg(HR.format(v="70", st="R") + "|||||||0011223344556677^MON-A", pv1="ICU^^5")
    second = msg(HR.format(v="120", st="R") + "|||||||00112233445566FF^MON-B", pv1="ICU^^5")
    assert [s.value for s in vitals(first, decoder)] == [70.0]
    assert vitals(second, decoder) == []
    assert [s.value for s in vitals(first, decoder)] == [70.0]


def test_a_monitor_keeps_its_record_when_its_bed_label_changes() -> None:
    """A monitor naming itself in OBX-18 stays the same sender when the nurse admits the patient on it."""
    decoder = Hl7Decoder()
    before = msg(HR.format(v="70", st="R") + "|||||||0011223344556677^MON-A", pv1="")
    after = msg(HR.format(v="72", st="R") + "|||||||0011223344556677^MON-A", pv1="ICU^^5")
    assert [s.value for s in vitals(before, decoder)] == [70.0]
    assert [s.value for s in vitals(after, decoder)] == [72.0]


def test_character_sets_from_msh18() -> None:
    latin1 = msg(HR.format(v="70", st="R"), msh18="8859/1", pv1="Kardiologie-Br\u00fccke^^1")
    parsed = parse_message(latin1.decode("utf-8").encode("latin-1"))
    assert parsed.first("PV1") is not None and "Br\u00fccke" in parsed.first("PV1").field(3)  # type: ignore[union-attr]
    b40 = parse_message((HL7 / "ge_b40_vsp_capture.hl7").read_bytes())
    assert b40.first("PID").component(5, 1) == "\u0418\u0412\u0410\u041d\u041e\u0412\u0410"  # type: ignore[union-attr]


def test_escapes() -> None:
    seps = parse_message(msg()).seps
    assert unescape("a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f", seps) == "a|b^c&d~e\\f"
    assert unescape("x\\X41\\y", seps) == "xAy"


def test_timestamps() -> None:
    assert parse_ts("20260912120000.0000+0530") == datetime.fromisoformat("2026-09-12T12:00:00+05:30").timestamp()
    assert parse_ts("20200212125008") == datetime(2020, 2, 12, 12, 50, 8).timestamp()
    assert parse_ts("202002121250") == datetime(2020, 2, 12, 12, 50).timestamp()
    for bad in ("", "2020-02-12", "20201340000000", "abc", "20200212125008+9900"):
        assert parse_ts(bad) is None


def test_ack_contents_like_the_shared_examples() -> None:
    oru = parse_message((HL7 / "ihe_tf_j2_acme_ahd_nibp.hl7").read_bytes())
    ack = parse_message(build_ack(oru, "AA", "KAP1", 0.0))
    assert ack.message_type == ("ACK", "R01") and ack.version == "2.6" and ack.control_id == "KAP1"
    assert ack.msh.field(5) == "AcmeInc^ACDE48234567ABCD^EUI-64"
    msa = ack.first("MSA")
    assert msa is not None and (msa.field(1), msa.field(2)) == ("AA", "MSGID1234")
    efficia = parse_message((HL7 / "philips_efficia_cm_manual_assembled.hl7").read_bytes())
    bad = parse_message(build_ack(efficia, "AE", "KAP2", 0.0, "value | with ^ separators"))
    msa = bad.first("MSA")
    assert msa is not None and bad.version == "2.4"
    assert (msa.field(1), msa.field(2), msa.field(3)) == ("AE", "MONITORABC000000002D", "value | with ^ separators")
    err = bad.first("ERR")
    assert err is not None and err.field(8) == "value | with ^ separators"


def test_rejected_messages_get_ae_or_ar_with_a_reason() -> None:
    d = Hl7Decoder()
    adt = msg(HR.format(v="70", st="R")).replace(b"ORU^R01^ORU_R01", b"ADT^A01^ADT_A01")
    assert (d.decode_message(adt, 0.0).ack_code, "unsupported message type ADT^A01") == (
        "AR", d.decode_message(adt, 0.0).reason.split(":")[0])
    no_obx = msg()
    r = d.decode_message(no_obx, 0.0)
    assert r.ack_code == "AE" and "OBX" in r.reason
    r = d.decode_message(b"garbage\r", 0.0)
    assert r.ack_code == "AR" and r.reason


def test_framer_handles_split_and_joined_frames() -> None:
    messages = [p.read_bytes() for p in EXAMPLES]
    stream = b"noise" + b"".join(frame(m) for m in messages)
    for size in (1, 7, 100, len(stream)):
        framer = MllpFramer()
        out: list[bytes] = []
        for i in range(0, len(stream), size):
            out.extend(framer.feed(stream[i:i + size]))
        assert out == messages


def test_framer_discards_an_endless_frame_and_recovers() -> None:
    framer = MllpFramer(max_message=1000)
    assert framer.feed(b"\x0b" + b"x" * 5000) == []
    assert framer.oversized == 1 and framer.buffered <= 1000
    assert framer.feed(frame(b"MSH|ok")) == [b"MSH|ok"]


@FUZZ
@given(st.binary(max_size=3000))
def test_fuzz_decoder_never_raises_on_bytes(data: bytes) -> None:
    decoder = Hl7Decoder()
    decoder.feed(data, 0.0)
    decoder.finish()
    result = decoder.decode_message(data, 0.0)
    assert result.ack_code in ("AA", "AE", "AR")


@FUZZ
@given(st.sampled_from(EXAMPLES), st.lists(st.tuples(st.integers(0, 4000), st.binary(min_size=0, max_size=8)),
                                           max_size=8))
def test_fuzz_decoder_never_raises_on_mutated_examples(path: object, edits: list[tuple[int, bytes]]) -> None:
    data = bytearray(path.read_bytes())  # type: ignore[attr-defined]
    for pos, blob in edits:
        pos %= max(1, len(data))
        data[pos:pos + len(blob)] = blob
    decoder = Hl7Decoder()
    result = decoder.decode_message(bytes(data), 0.0)
    ack = parse_message(result.ack("K", 0.0))
    assert ack.first("MSA") is not None
    for item in result.items:
        if isinstance(item, VitalSample) and item.valid:
            assert item.value is not None and item.value >= 0


@FUZZ
@given(st.lists(st.binary(max_size=200), max_size=10), st.integers(1, 64))
def test_fuzz_framer_never_raises_and_stays_bounded(parts: list[bytes], chunk: int) -> None:
    framer = MllpFramer(max_message=256)
    stream = b"".join(frame(p) if i % 2 else p for i, p in enumerate(parts))
    for i in range(0, len(stream), chunk):
        for message in framer.feed(stream[i:i + chunk]):
            assert len(message) <= 256 + chunk
        assert framer.buffered <= 256 + chunk


def _by(items: list[VitalSample]) -> dict[Parameter, VitalSample]:
    out = {s.parameter: s for s in items}
    assert len(out) == len(items)
    return out


def test_comen_style_message_as_documented() -> None:
    """SOURCES.md §9 (the message itself is held back): empty OBX-1, two SpO2 channels, pulse as 149522."""
    data = "\r".join([
        "MSH|^~\\&|NC_Monitor|KC261551373G|||20250610015127+0800||ORU^R01|C1|P|2.6|||AL|NE||UNICODE UTF-8",
        "PID|||1||doe", "PV1||I|ICU^^3", "OBR|1|||1^MON_PARAM^99COMEN|||20250610015127+0800",
        "OBX||NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.3.1.150456|97|262688^MDC_DIM_PERCENT^MDC|||||F",
        "OBX||NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.3.2.150456|95|262688^MDC_DIM_PERCENT^MDC|||||F",
        "OBX||NM|149522^MDC_PULS_RATE^MDC|1.0.0.149522|59|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||F",
        "OBX||NM|151562^MDC_RESP_RATE^MDC|1.0.0.151562|20|264928^MDC_DIM_RESP_PER_MIN^MDC|||||F",
        "OBX||NM|150344^MDC_TEMP^MDC|1.0.0.150344|37.0|268192^MDC_DIM_DEGC^MDC|||||F",
        "OBX||NM|150023^MDC_PRESS_BLD_NONINV_MEAN^MDC|1.1.1.150023|90|266016^MDC_DIM_MMHG^MDC|||||F|||20250610015127+0800",
        "OBX||NM|150021^MDC_PRESS_BLD_NONINV_SYS^MDC|1.1.1.150021|120|266016^MDC_DIM_MMHG^MDC|||||F|||20250610015127+0800",
        "OBX||NM|150022^MDC_PRESS_BLD_NONINV_DIA^MDC|1.1.1.150022|80|266016^MDC_DIM_MMHG^MDC|||||F|||20250610015127+0800",
        "OBX||NM|8302-2^Height^LN|||cm|||||F", "OBX||NM|3141-9^Weight^LN|||kg|||||F",
    ]).encode() + b"\r"
    got = _by(vitals(data))
    assert (got[Parameter.SPO2].value, got[Parameter.PULSE_RATE].value) == (97.0, 59.0)
    assert [got[p].value for p in (Parameter.NIBP_SYS, Parameter.NIBP_DIA, Parameter.NIBP_MEAN)] == [120, 80, 90]
    assert got[Parameter.NIBP_SYS].time == datetime.fromisoformat("2025-06-10T01:51:27+08:00").timestamp()
    if hasattr(Parameter, "RESP_RATE"):
        assert got[Parameter.RESP_RATE].value == 20.0


def test_mindray_sentinels_as_documented_give_no_value() -> None:
    """SOURCES.md §8: -999 in NIBP SYS, SpO2 and HR, -99.9 temperature, OBX-11 empty: nothing valid."""
    data = msg("NM|150021^MDC_PRESS_BLD_NONINV_SYS^MDC|1.1.1.150021|-999|266016^MDC_DIM_MMHG^MDC|||||",
               "NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.3.1.150456|-999|262688^MDC_DIM_PERCENT^MDC|||||",
               "NM|147842^MDC_ECG_HEART_RATE^MDC|1.7.4.147842|-999|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||",
               "NM|150344^MDC_TEMP^MDC|1.2.5.150344|-99.9|268192^MDC_DIM_DEGC^MDC|||||")
    assert not any(s.valid for s in vitals(data))


def test_nihon_kohden_nibp_in_its_own_obr_at_the_cuff_time() -> None:
    """SOURCES.md §10: NK 6-digit codes without a coding system, NIBP in a second OBR whose OBR-7 is the cuff time."""
    data = "\r".join([
        "MSH|^~\\&|NIHON KOHDEN|NIHON KOHDEN|||20260422184400||ORU^R01|NK1|P|2.4|||NE|AL||ASCII",
        "PID|||00000000001||DOE^JANE", "PV1||I|^^BED-001^192.168.1.20:1", "OBR|1|||VITAL|||20260422184400",
        "OBX|1|NM|007000^VITAL SpO2|1|99|%|||||F|||20260422184400",
        "OBX|2|NM|007001^VITAL PR(spo2)|1|77|/min|||||F|||20260422184400",
        "OBX|3|NM|072007^VITAL rPR(spo2)|1|77|/min|||||F|||20260422184400",
        "OBR|2|||NIBP|||20260422184337",
        "OBX|1|NM|009000^NIBP SYS|1|133|mmHg|||||F|||20260422184337",
        "OBX|2|NM|009001^NIBP DIAS|1|77|mmHg|||||F|||20260422184337",
        "OBX|3|NM|009002^NIBP MEAN|1|95|mmHg|||||F",
    ]).encode() + b"\r"
    got = _by(vitals(data, Hl7Decoder(bed="BED-001")))
    assert (got[Parameter.SPO2].value, got[Parameter.PULSE_RATE].value) == (99.0, 77.0)
    assert [got[p].value for p in (Parameter.NIBP_SYS, Parameter.NIBP_DIA, Parameter.NIBP_MEAN)] == [133, 77, 95]
    cuff = datetime(2026, 4, 22, 18, 43, 37).timestamp()
    assert {got[p].time for p in (Parameter.NIBP_SYS, Parameter.NIBP_DIA, Parameter.NIBP_MEAN)} == {cuff}


def test_edan_codes() -> None:
    data = msg("NM|131072^ECG_HR^EHC|1|64|bpm|||||F", "NM|327680^SPO2_SPO2^EHC|1|96|%|||||F",
               "NM|327681^SPO2_PR^EHC|1|63|bpm|||||F", "NM|393216^NIBP_SYS^EHC|1|118|mmHg|||||F",
               "NM|393217^NIBP_DIA^EHC|1|76|mmHg|||||F", "NM|393218^NIBP_MEAN^EHC|1|90|mmHg|||||F",
               "NM|393219^NIBP_PR^EHC|1|66|bpm|||||F")
    got = _by(vitals(data))
    assert {p: s.value for p, s in got.items()} == {
        Parameter.HR: 64, Parameter.SPO2: 96, Parameter.PULSE_RATE: 63, Parameter.NIBP_SYS: 118,
        Parameter.NIBP_DIA: 76, Parameter.NIBP_MEAN: 90, Parameter.NIBP_PULSE: 66}
    assert len({got[p].measurement_id for p in (Parameter.NIBP_SYS, Parameter.NIBP_PULSE)}) == 1


def test_old_nibp_is_judged_on_the_monitors_clock_only() -> None:
    """No MSH-7 or OBR-7: the arrival time (this computer's clock, maybe far from the monitor's) never makes
    a fresh measurement `old`."""
    data = msg(*(o.format(s=130, d=80, m=97, t="20240101115000") for o in NIBP), msh7="", obr7="")
    got = Hl7Decoder().decode_message(data, datetime(2024, 1, 1, 13, 0).timestamp()).items
    assert {s.status for s in got if isinstance(s, VitalSample)} == {Status.OK}
