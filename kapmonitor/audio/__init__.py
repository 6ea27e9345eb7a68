"""Session music: playlists in phases, the playback state machine, the real-time player.

No Qt here. The GUI (kapmonitor.ui.music.therapist_window) drives `MusicController`; the controller
drives a player (`AudioPlayer` for a sound device, `OfflinePlayer` for tests). Music has its own
output stream and device; it has no access to the alarm engine and alarms never go through it.
"""
