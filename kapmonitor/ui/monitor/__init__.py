"""Choosing and showing the monitor: the connection dialog, the demo-mode banner."""
