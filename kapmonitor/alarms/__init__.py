"""Qt-free alarm system: profiles and limits, the engine, tones."""
