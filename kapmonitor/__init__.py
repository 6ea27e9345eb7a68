"""kapmonitor: bedside vital-sign monitoring, infusion record and session music for ketamine-assisted psychotherapy.

This package root imports nothing beyond the standard library so that `kapmonitor --version`
and the set-up scripts work before the heavy dependencies are loaded.
"""

__version__ = "0.1.0"
