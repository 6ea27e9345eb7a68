"""The nurse's session dock: set-up, infusion, events, scales, discharge, course view."""
