"""What page 1 of the report says: who, what, when, how it went, and the discharge.

Every figure comes from `SessionData`, which takes it from `kapmonitor.session.figures` (baseline,
peaks, alarm counts, dose given, infusion time): nothing is computed twice. No Qt; the painter
(`kapmonitor.report_pdf`) only lays these texts out. Thread-safe: pure functions, frozen results.
"""

from __future__ import annotations

from dataclasses import dataclass

from kapmonitor.alarms.profile import AlarmProfile
from kapmonitor.export.data import SessionData
from kapmonitor.export.report.text import (
    PRIORITIES,
    PRIORITY_MARK,
    ReportClock,
    Tone,
    checklist_override,
    discharge_record,
    event_text,
    fmt_num,
    labels,
    observation,
    prestart_text,
    priority_tone,
    scale_summary,
    yes,
)
from kapmonitor.model.parameters import Parameter
from kapmonitor.session import figures

PATIENT_TITLE = "Patient and session"
DRUG_TITLE = "Drug and infusion"
VITALS_TITLE = "Vital signs: baseline (before the infusion) and extremes (from the start)"
VITALS_HEADERS = ("Baseline", "Highest (SpO₂, RR: lowest)")
ALARMS_TITLE = "Alarms raised"
DISCHARGE_TITLE = "Discharge"
MAX_PAUSE_LINES = 4
# (row label, parameter id, unit) of the vitals table
VITAL_ROWS = (
    ("NIBP systolic", "nibp_sys", "mmHg"),
    ("NIBP diastolic", "nibp_dia", "mmHg"),
    ("NIBP mean", "nibp_mean", "mmHg"),
    ("Heart rate", "hr", "/min"),
    ("SpO₂", "spo2", "%"),
    ("Respiratory rate", "resp_rate", "/min"),  # these two only when the monitor sent them
    ("EtCO₂", "etco2", "mmHg"),
)
OPTIONAL_ROWS = frozenset({"resp_rate", "etco2"})

Pairs = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Note:
    """A word-wrapped line of its own (dose given, pre-start override, discharge findings)."""

    text: str
    size: float
    tone: Tone = "ink"


@dataclass(frozen=True)
class VitalRow:
    label: str
    baseline: str
    peak: str
    tone: Tone  # a priority when the peak crosses a limit or rises past the profile's allowed rise


@dataclass(frozen=True)
class AlarmTally:
    counts: tuple[tuple[Tone, str, int], ...]  # (priority, '*** High: 2', count)
    technical: str
    limit_changes: str


@dataclass(frozen=True)
class EventLine:
    when: str
    text: str


@dataclass(frozen=True)
class DischargeContent:
    headline: str
    discharged: bool
    notes: tuple[Note, ...]  # observation time, checklist, program's assessment, override


@dataclass(frozen=True)
class SummaryContent:
    patient: Pairs
    drug: Pairs
    notes: tuple[Note, ...]
    pauses: tuple[str, ...]
    vitals: tuple[VitalRow, ...]
    alarms: AlarmTally
    events_title: str
    events: tuple[EventLine, ...]
    scales: str
    discharge: DischargeContent


def build_summary(data: SessionData, profile: AlarmProfile, clock: ReportClock) -> SummaryContent:
    return SummaryContent(
        patient=_patient(data, clock),
        drug=_drug(data, clock),
        notes=_drug_notes(data),
        pauses=_pauses(data, clock),
        vitals=_vitals(data, profile, clock),
        alarms=_alarms(data),
        events_title=f"Events ({len(data.events)}) and scales",
        events=tuple(
            EventLine(f"{clock.clock(float(e['t']))} {clock.minute(float(e['t']))}", event_text(e)) for e in data.events
        ),
        scales=scale_summary(data, clock),
        discharge=_discharge(data, clock),
    )


def _patient(data: SessionData, clock: ReportClock) -> Pairs:
    f = data.fields
    staff = " / ".join(str(f.get(k) or "—") for k in ("nurse", "therapist", "prescriber"))
    return (
        ("Pseudonym", str(f.get("pseudonym") or "—")),
        ("Date", clock.date_text()),
        ("Course", clock.session_text()),
        ("Weight", f"{fmt_num(f.get('weight_kg'))} kg" if f.get("weight_kg") is not None else "—"),
        ("Nurse / ther. / presc.", staff),
        ("Consent / escort", f"{yes(f.get('consent'))} / {yes(f.get('escort'))}"),
    )


def _plan_texts(data: SessionData) -> tuple[str, str, str]:
    """(dose, concentration and volume, pump rate and duration) as planned at set-up."""
    f = data.fields
    dose = "—"
    if f.get("dose_mg_per_kg") is not None:
        dose = f"{fmt_num(f.get('dose_mg_per_kg'), 2)} mg/kg"
        if f.get("total_mg") is not None:
            dose += f" = {fmt_num(f.get('total_mg'), 2)} mg"
    conc = f"{fmt_num(f.get('concentration_mg_per_ml'), 2)} mg/mL" if f.get("concentration_mg_per_ml") else "—"
    if f.get("volume_ml") is not None:
        conc += f", {fmt_num(f.get('volume_ml'), 2)} mL"
    rate = f"{fmt_num(f.get('rate_ml_per_h'), 2)} mL/h" if f.get("rate_ml_per_h") is not None else "—"
    if f.get("duration_min") is not None:
        rate += f" over {fmt_num(f.get('duration_min'))} min"
    return dose, conc, rate


def _drug(data: SessionData, clock: ReportClock) -> Pairs:
    f = data.fields
    dose, conc, rate = _plan_texts(data)
    infusion = data.infusion_figures()
    given = data.dose_given()
    if data.infusion_stop is not None:
        stop = f"{clock.clock(data.infusion_stop, True)}  ({clock.minute(data.infusion_stop)})"
    else:
        stop = "not stopped" if data.infusion_start is not None else "—"
    paused = infusion.paused_s / 60  # ended pauses (figures.InfusionFigures)
    return (
        ("Drug", data.drug_label() or "—"),
        ("Dose planned", dose + ("  (confirmed)" if f.get("dose_confirmed") else "")),
        ("Lot", str(f.get("lot") or "—")),
        ("Concentration", conc),
        ("Pump rate", rate),
        ("Pump read-back", f"{fmt_num(f['pump_rate_ml_per_h'], 2)} mL/h" if f.get("pump_rate_ml_per_h") else "—"),
        ("Pre-start check", prestart_text(f)),
        (
            "Volume infused",
            "—"
            if given is None
            else f"{given.volume_ml:.2f} mL " + ("(pump read-back)" if given.confirmed else "(computed)"),
        ),
        (
            "Infusion start",
            clock.clock(data.infusion_start, True) if data.infusion_start is not None else "not started",
        ),
        ("Infusion stop", stop),
        ("Time infusing", figures.infusion_time_text(infusion) + (" (pauses excluded)" if infusion.pauses else "")),
        ("Pauses", f"{len(infusion.pauses)}" + (f", {paused:.0f} min" if infusion.pauses else "")),
    )


def _drug_notes(data: SessionData) -> tuple[Note, ...]:
    """The dose actually given (red when off the plan or not confirmed) and an overridden pre-start check."""
    f = data.fields
    notes = []
    given = data.dose_given()
    if given is not None:
        text = "Dose given: " + figures.dose_given_text(given)
        if given.flagged and given.planned_mg_per_kg is not None:
            planned = f"{fmt_num(given.planned_mg_per_kg, 2)} mg/kg, {fmt_num(given.planned_volume_ml, 2)} mL"
            text += f" (planned {planned})"
        notes.append(Note(text, 9, "high" if given.flagged or not given.confirmed else "ink"))
    if f.get("prestart_ok") is False:
        why = f.get("prestart_override_reason")
        msg = f.get("prestart_message")
        text = "Pre-start check: " + (str(msg) if msg else "outside the limits")
        text += f" — overridden by {f.get('prestart_override_by') or '—'}" + (f": {why}" if why else "")
        notes.append(Note(text, 8.5, "high"))
    return tuple(notes)


def _pauses(data: SessionData, clock: ReportClock) -> tuple[str, ...]:
    lines = []
    for p in data.pauses[:MAX_PAUSE_LINES]:
        end = clock.clock(p.end, True) if p.end is not None else "not resumed"
        dur = f"{(p.end - p.start) / 60:.0f} min" if p.end is not None else ""
        reason = f" — {p.reason}" if p.reason else ""
        lines.append(f"Pause {clock.clock(p.start, True)} – {end}  {dur}{reason}")
    return tuple(lines)


def _vitals(data: SessionData, profile: AlarmProfile, clock: ReportClock) -> tuple[VitalRow, ...]:
    """Baseline and extreme of each vital; the extreme is coloured by the limit it crosses."""
    base, peak = data.baseline(), data.peaks()
    rows = []
    for label, key, unit in VITAL_ROWS:
        b, pk = base[key], peak[key]
        if key in OPTIONAL_ROWS and b.value is None and pk.value is None:
            continue
        base_txt = "—" if b.value is None else f"{fmt_num(round(b.value, 1))} {unit}"
        if b.value is not None and key in ("hr", "spo2", "resp_rate", "etco2"):
            base_txt += "  (5-min median)"
        elif b.t is not None:
            base_txt += f"  at {clock.clock(b.t)}"
        tone: Tone = "ink"
        change = ""
        if pk.value is not None and b.value is not None:
            delta = pk.value - b.value
            change = f"  ({delta:+.0f})"
            if (key == "nibp_sys" and delta >= profile.rise.systolic) or (
                key == "nibp_dia" and delta >= profile.rise.diastolic
            ):
                tone = "high"
        if pk.value is not None:
            klass = profile.classify(Parameter(key), pk.value)
            if klass is not None:
                tone = priority_tone(klass[0].priority.label) or "high"
        peak_txt = (
            "—"
            if pk.value is None
            else f"{fmt_num(round(pk.value, 1))} {unit}  at {clock.clock(pk.t)} ({clock.minute(pk.t)})"
        )
        rows.append(VitalRow(label, base_txt, peak_txt + change, tone))
    return tuple(rows)


def _alarms(data: SessionData) -> AlarmTally:
    counts = data.alarm_counts()
    technical = sum(1 for a in data.alarms if a["event"] == "raised" and a.get("kind") == "technical")
    return AlarmTally(
        tuple((p, f"{PRIORITY_MARK[p]} {p.capitalize()}: {counts.get(p, 0)}", counts.get(p, 0)) for p in PRIORITIES),
        f"technical: {technical}",
        f"limit changes: {len(data.limit_changes)}",
    )


def _discharge(data: SessionData, clock: ReportClock) -> DischargeContent:
    """Who signed, when, how long after the infusion, each item as ticked and as the program
    assessed it, and the reason for any override. Never a tick the record does not support."""
    if not data.discharge:
        return DischargeContent("not discharged in this record", False, ())
    last = data.discharge[-1]
    t = float(last["t"])
    headline = f"Discharged {clock.clock(t)} ({clock.minute(t)}), signed by {last.get('who') or '—'}"
    record = discharge_record(last.get("checklist"))
    # the record stores items keyed (sorted): show them in the checklist's own order
    order = [k for k in str(data.info.get("discharge_items") or "").split(",") if k] or list(labels()[1])
    record.sort(key=lambda i: order.index(i["key"]) if i["key"] in order else len(order))
    notes = []
    observed, minimum = observation(data, last)
    early = False
    if observed is not None:
        early = minimum is not None and observed < minimum * 60.0 - 0.5
        text = f"Observed {observed / 60:.0f} min after the infusion" + (
            f" (minimum {fmt_num(minimum)} min)" if minimum is not None else ""
        )
        notes.append(Note("EARLY DISCHARGE: " + text if early else text, 8.5, "high" if early else "ink"))
    parts = []
    for item in record:
        label, ticked, assessed = item["label"], item["checked"], item["assessed"]
        if item["key"] == "min_observation" and early:
            parts.append(f"✗ {label}: NOT elapsed")
        elif not ticked:
            parts.append(f"✗ {label}")
        elif assessed is False:
            parts.append(f"✓ {label} (ticked; program: {item['detail'] or 'not met'})")
        else:
            parts.append(f"✓ {label}")
    notes.append(Note("   ".join(parts) or "no checklist recorded", 8.5))
    details = [f"{item['label']}: {item['detail']}" for item in record if item["detail"]]
    if details:
        notes.append(Note("Program's assessment — " + ";  ".join(details), 7.5, "grey"))
    override = checklist_override(last.get("checklist"))
    if override:
        notes.append(Note(f"Discharged against the checklist — reason: {override}", 8.5, "high"))
    elif early or any(not i["checked"] for i in record):
        notes.append(Note("Discharged against the checklist — no reason recorded", 8.5, "high"))
    return DischargeContent(headline, True, tuple(notes))
