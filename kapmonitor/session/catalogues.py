"""The catalogues of the nurse's record: side effects, severities, routes, quick interventions,
scales, discharge items, the event categories and infusion actions the session writes.

One definition, used by the session (what may be entered), the panels (what is offered) and
de-identification (what is a coded value, safe to keep). They change when the clinic's practice
changes, not when the program's logic does.

Everything here is immutable: safe in any thread.
"""

from __future__ import annotations

from dataclasses import dataclass

from kapmonitor.model.parameters import Parameter

SIDE_EFFECTS: tuple[str, ...] = (
    "nausea",
    "vomiting",
    "dizziness",
    "dissociation",
    "anxiety",
    "headache",
    "hypertension",
    "other",
)
SEVERITIES: tuple[str, ...] = ("mild", "moderate", "severe")
ROUTES: tuple[str, ...] = ("IV", "PO", "SL", "IM", "SC", "IN")

# the side effects that keep a patient from going home while recent (discharge assessment)
NAUSEA_DIZZINESS: tuple[str, ...] = ("nausea", "vomiting", "dizziness")

# clinical_events.category: coded ones hold catalogue values; free-text ones hold the nurse's words
CODED_EVENT_CATEGORIES: tuple[str, ...] = ("side_effect", "intervention")
FREE_TEXT_EVENT_CATEGORIES: tuple[str, ...] = ("note", "addendum")
EVENT_CATEGORIES: tuple[str, ...] = (*CODED_EVENT_CATEGORIES, *FREE_TEXT_EVENT_CATEGORIES)

# infusion_events.action: what the infusion clock applies, then the session's own records
INFUSION_ACTIONS: tuple[str, ...] = ("start", "pause", "resume", "stop", "discharge", "recovered")

# Who an action is credited to when no nurse is signed in: the action is never blocked for it.
NOT_SIGNED_IN = "not signed in"


@dataclass(frozen=True, slots=True)
class QuickIntervention:
    drug: str
    dose: str
    route: str

    @property
    def label(self) -> str:
        return f"{self.drug} {self.dose} {self.route}"


QUICK_INTERVENTIONS: tuple[QuickIntervention, ...] = (
    QuickIntervention("Ondansetron", "4 mg", "IV"),
    QuickIntervention("Ondansetron", "4 mg", "PO"),
    QuickIntervention("Metoclopramide", "10 mg", "IV"),
    QuickIntervention("Lorazepam", "1 mg", "SL"),
    QuickIntervention("Midazolam", "1 mg", "IV"),
    QuickIntervention("Clonidine", "0.1 mg", "PO"),
    QuickIntervention("Labetalol", "10 mg", "IV"),
)


@dataclass(frozen=True, slots=True)
class ScaleSpec:
    key: str
    label: str
    minimum: int
    maximum: int

    def accepts(self, score: float) -> bool:
        """A whole number within the scale's range."""
        return self.minimum <= score <= self.maximum and score == int(score)


SCALES: dict[str, ScaleSpec] = {
    "moaas": ScaleSpec("moaas", "MOAA/S", 0, 5),
    "cadss": ScaleSpec("cadss", "CADSS", 0, 92),  # 23 items scored 0-4
    "bprs": ScaleSpec("bprs", "BPRS", 18, 126),  # 18 items scored 1-7
}


@dataclass(frozen=True, slots=True)
class DischargeItem:
    key: str
    label: str
    auto: bool = False  # the program can assess it (the nurse still ticks it)


DEFAULT_DISCHARGE_ITEMS: tuple[DischargeItem, ...] = (
    DischargeItem("min_observation", "Minimum observation time elapsed", auto=True),
    DischargeItem("vitals_baseline", "Vitals back near baseline", auto=True),
    DischargeItem("moaas_5", "Alert: MOAA/S 5", auto=True),
    DischargeItem("walking", "Walks steadily"),
    DischargeItem("no_nausea_dizziness", "No nausea or dizziness", auto=True),
    DischargeItem("escort", "Escort present"),
)

# Manual entry bounds: tighter than "plausible" only where a typing slip is likely.
MANUAL_PARAMETERS: tuple[Parameter, ...] = (
    Parameter.HR,
    Parameter.SPO2,
    Parameter.NIBP_SYS,
    Parameter.NIBP_DIA,
    Parameter.NIBP_MEAN,
)
