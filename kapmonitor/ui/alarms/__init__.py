"""Alarm bar, alarm history and the alarm menu's dialogs (limits, profile, PIN, output)."""
