"""The central station's window (`kapmonitor central`)."""
