"""The outcome instruments a course records: BDI-II, PHQ-9 and MADRS.

- BDI-II (Beck, Steer & Brown 1996; copyright Pearson): only the total 0–63 and item 9 (suicidal
  thoughts, 0–3) are recorded; its items are never shown or stored. Bands (manual): 0–13 minimal,
  14–19 mild, 20–28 moderate, 29–63 severe.
- PHQ-9 (Kroenke, Spitzer & Williams 2001, J Gen Intern Med 16:606; free to use and reproduce,
  Pfizer): nine items 0–3, total 0–27; bands 0–4 minimal, 5–9 mild, 10–14 moderate, 15–19
  moderately severe, 20–27 severe. The item texts below are the published wording (for the
  on-screen form).
- MADRS (Montgomery & Åsberg 1979, clinician-rated): total 0–60; bands as commonly used
  (Snaith et al. 1986): 0–6 normal, 7–19 mild, 20–34 moderate, 35–60 severe.

Any item-9 answer above 0 (PHQ-9 "thoughts that you would be better off dead…", BDI-II
"suicidal thoughts or wishes") raises a safety prompt a clinician must acknowledge.

Pure data and functions; thread-safe.
"""

from __future__ import annotations

from dataclasses import dataclass

# LOINC codes, checked against loinc.org / the LOINC answer list LL358-3 (2026-12):
#   89209-1 Beck Depression Inventory II total score [BDI]   (not 89208-3)
#   44261-6 Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]
#   44249-1 PHQ-9 quick depression assessment panel [Reported.PHQ]
#   44250-9, 44255-8, 44259-0, 44254-1, 44251-7, 44258-2, 44252-5, 44253-3, 44260-8: the nine
#   PHQ-9 items in questionnaire order; LA6568-5/LA6569-3/LA6570-1/LA6571-9 their answers 0–3.
# MADRS: no LOINC code for its total could be verified, so it is exported with a local code only.
LOINC_BDI2_TOTAL = "89209-1"
LOINC_PHQ9_TOTAL = "44261-6"
LOINC_PHQ9_PANEL = "44249-1"


class InstrumentError(ValueError):
    """A score that cannot be recorded; the message says why in one line."""


@dataclass(frozen=True, slots=True)
class Band:
    low: int
    high: int
    label: str


@dataclass(frozen=True, slots=True)
class Instrument:
    key: str  # "bdi-ii", "phq-9", "madrs"
    name: str
    max_total: int
    bands: tuple[Band, ...]
    remission_max: int  # a total at or below this is remission (outcomes.py documents why)
    item9: bool  # item 9 (suicidal thoughts) can be recorded
    items: int  # how many items may be entered one by one (0: the total only)
    loinc: str | None
    loinc_display: str

    def severity(self, total: int) -> str:
        """The severity band of `total`. Raises InstrumentError out of range."""
        check_total(self, total)
        for band in self.bands:
            if band.low <= total <= band.high:
                return band.label
        raise AssertionError(f"{self.key}: bands do not cover {total}")  # pragma: no cover - bands are complete


BDI_II = Instrument(
    "bdi-ii", "BDI-II", 63,
    (Band(0, 13, "minimal"), Band(14, 19, "mild"), Band(20, 28, "moderate"), Band(29, 63, "severe")),
    remission_max=13, item9=True, items=0,
    loinc=LOINC_BDI2_TOTAL, loinc_display="Beck Depression Inventory II total score [BDI]",
)
PHQ_9 = Instrument(
    "phq-9", "PHQ-9", 27,
    (Band(0, 4, "minimal"), Band(5, 9, "mild"), Band(10, 14, "moderate"), Band(15, 19, "moderately severe"),
     Band(20, 27, "severe")),
    remission_max=4, item9=True, items=9,
    loinc=LOINC_PHQ9_TOTAL, loinc_display="Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]",
)
MADRS = Instrument(
    "madrs", "MADRS", 60,
    (Band(0, 6, "normal"), Band(7, 19, "mild"), Band(20, 34, "moderate"), Band(35, 60, "severe")),
    remission_max=10, item9=False, items=0,
    loinc=None, loinc_display="Montgomery-Asberg Depression Rating Scale total score",
)

INSTRUMENTS: dict[str, Instrument] = {i.key: i for i in (BDI_II, PHQ_9, MADRS)}
_ALIASES = {"bdi-ii": "bdi-ii", "bdi2": "bdi-ii", "bdi-2": "bdi-ii", "bdiii": "bdi-ii", "bdi": "bdi-ii",
            "phq-9": "phq-9", "phq9": "phq-9", "madrs": "madrs"}

# The PHQ-9 as published (Kroenke 2001), for the on-screen form: "Over the last 2 weeks, how often
# have you been bothered by any of the following problems?" (LOINC item code, text).
PHQ9_QUESTION = "Over the last 2 weeks, how often have you been bothered by any of the following problems?"
PHQ9_ITEMS: tuple[tuple[str, str], ...] = (
    ("44250-9", "Little interest or pleasure in doing things"),
    ("44255-8", "Feeling down, depressed, or hopeless"),
    ("44259-0", "Trouble falling or staying asleep, or sleeping too much"),
    ("44254-1", "Feeling tired or having little energy"),
    ("44251-7", "Poor appetite or overeating"),
    ("44258-2", "Feeling bad about yourself — or that you are a failure or have let yourself or your family down"),
    ("44252-5", "Trouble concentrating on things, such as reading the newspaper or watching television"),
    ("44253-3", "Moving or speaking so slowly that other people could have noticed? Or the opposite — being so "
                "fidgety or restless that you have been moving around a lot more than usual"),
    ("44260-8", "Thoughts that you would be better off dead or of hurting yourself in some way"),
)
PHQ9_ANSWERS: tuple[tuple[str, str], ...] = (
    ("LA6568-5", "Not at all"),
    ("LA6569-3", "Several days"),
    ("LA6570-1", "More than half the days"),
    ("LA6571-9", "Nearly every day"),
)


def instrument(name: str) -> Instrument:
    """The instrument called `name` (bdi-ii, phq-9, madrs; case and a missing hyphen do not matter)."""
    key = _ALIASES.get(name.strip().lower().replace("_", "-"))
    if key is None:
        raise InstrumentError(f"unknown instrument {name!r} (known: {', '.join(INSTRUMENTS)})")
    return INSTRUMENTS[key]


def check_total(inst: Instrument, total: int) -> None:
    if isinstance(total, bool) or not isinstance(total, int) or not 0 <= total <= inst.max_total:
        raise InstrumentError(f"{inst.name} total {total!r} is out of range 0–{inst.max_total}")


def check_score(inst: Instrument, total: int, item9: int | None, items: tuple[int, ...] | None) -> int:
    """Check a score as entered; returns the total (the sum of `items` when only they are given).

    Items are accepted for the PHQ-9 only (the BDI-II's are copyrighted and never recorded); item 9
    given with the items must equal the ninth item. Raises InstrumentError.
    """
    if items is not None:
        if inst.items == 0:
            raise InstrumentError(f"{inst.name}: only the total is recorded, not its items")
        if len(items) != inst.items or any(isinstance(x, bool) or not 0 <= x <= 3 for x in items):
            raise InstrumentError(f"{inst.name} needs {inst.items} item answers, each 0–3")
        if total != sum(items):
            raise InstrumentError(f"{inst.name} total {total} is not the sum of its items ({sum(items)})")
        if item9 is not None and item9 != items[8]:
            raise InstrumentError(f"{inst.name} item 9 given as {item9} but the ninth item answer is {items[8]}")
    check_total(inst, total)
    if item9 is not None:
        if not inst.item9:
            raise InstrumentError(f"{inst.name} has no item 9 to record")
        if isinstance(item9, bool) or not 0 <= item9 <= 3:
            raise InstrumentError(f"{inst.name} item 9 {item9!r} is out of range 0–3")
        if item9 > total:
            raise InstrumentError(f"{inst.name} item 9 ({item9}) cannot exceed the total ({total})")
    return total


def needs_safety_prompt(inst: Instrument, item9: int | None) -> bool:
    """Any item-9 answer above 0 needs a clinician's acknowledgement (REQUIREMENTS: same day)."""
    return inst.item9 and item9 is not None and item9 > 0
