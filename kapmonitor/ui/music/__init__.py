"""The therapist's window and the Music menu."""
