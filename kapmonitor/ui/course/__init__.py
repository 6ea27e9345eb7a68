"""The course of a patient: the course view, score entry and the PHQ-9 on screen."""
