"""The nurse's session: set-up and dose plan, infusion clock and phases, events, scales,
manual vitals, discharge, crash recovery and the course of sessions of one pseudonym. No Qt."""

from kapmonitor.session.entries import PrestartBlockedError, SessionClosedError, SessionError
from kapmonitor.session.infusion import InfusionClock, InfusionTransitionError, Phase
from kapmonitor.session.model import DosePlan, Drug, SessionSetup, ValidationError, demo_setup, dose_plan
from kapmonitor.session.rules import NibpSchedule
from kapmonitor.session.session import NurseSession

__all__ = [
    "DosePlan",
    "Drug",
    "InfusionClock",
    "InfusionTransitionError",
    "NibpSchedule",
    "NurseSession",
    "Phase",
    "PrestartBlockedError",
    "SessionClosedError",
    "SessionError",
    "SessionSetup",
    "ValidationError",
    "demo_setup",
    "dose_plan",
]
