"""Masimo pulse oximeters over the serial "ASCII 1" output (Rad-8, Radical-7, Rad-97, Root)."""
