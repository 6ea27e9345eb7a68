"""MOAA/S 3 or less during a session prompts the nurse to watch breathing (RR/EtCO2, SpO2), until a
lighter MOAA/S is recorded (real session on a real SQLite record, manual clock)."""

from __future__ import annotations

from test_session_flow import T0, clock, session, vitals  # noqa: F401  (fixtures)

from kapmonitor.model.clock import ManualClock
from kapmonitor.session import NurseSession
from kapmonitor.session.infusion import Phase
from kapmonitor.session.rules import BREATHING_PROMPT, due_prompts


def test_moaas_3_prompts_to_watch_breathing_until_a_lighter_score(session: NurseSession, clock: ManualClock) -> None:  # noqa: F811
    session.on_items(vitals(T0 - 60, 72, 98, 124, 78))
    session.start_infusion()
    clock.advance(300)
    session.record_scale("moaas", 4)
    assert "breathing" not in [p.kind for p in session.due_prompts()]
    clock.advance(300)
    session.record_scale("moaas", 3)
    prompts = {p.kind: p.message for p in session.due_prompts()}
    assert prompts["breathing"] == "MOAA/S \u2264 3: watch breathing (RR/EtCO\u2082, SpO\u2082)" == BREATHING_PROMPT
    clock.advance(600)
    assert "breathing" in [p.kind for p in session.due_prompts()]  # still, until the next MOAA/S
    session.record_scale("moaas", 5)
    assert "breathing" not in [p.kind for p in session.due_prompts()]


def test_rule_is_pure_and_ends_at_discharge() -> None:
    kw = dict(nibp_due=None, moaas_due=None, cadss=False, paused=False, remaining_s=100.0, planned_end=None,
              infusion_stop=None, observation_s=3600.0)
    (p,) = due_prompts(T0, Phase.INFUSION, last_moaas=2.0, **kw)  # type: ignore[arg-type]
    assert (p.kind, p.due_at) == ("breathing", T0)
    assert due_prompts(T0, Phase.INFUSION, last_moaas=4.0, **kw) == []  # type: ignore[arg-type]
    assert due_prompts(T0, Phase.DISCHARGED, last_moaas=1.0, **kw) == []  # type: ignore[arg-type]


def test_the_side_panel_shows_the_breathing_prompt(qtbot, session: NurseSession, clock: ManualClock) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from kapmonitor.ui.session.panel import SessionSidePanel

    panel = SessionSidePanel(session)
    qtbot.addWidget(panel)
    panel.resize(470, 900)
    panel.show()
    session.on_items(vitals(T0 - 60, 72, 98, 124, 78))
    session.start_infusion()
    clock.advance(300)
    session.record_scale("moaas", 2)
    panel.infusion.refresh()
    assert BREATHING_PROMPT in panel.infusion.prompt_texts
    assert "MOAA/S \u2264 3: watch breathing" in panel.infusion.prompt_strip.text()
    assert BREATHING_PROMPT in panel.infusion.prompt_strip.toolTip()
