"""Philips IntelliVue "Data Export" over the MIB/RS232 port (fixed-baud framing, 115200 or 19200 8N1).

framing: byte-level frames and the FCS; messages: the requests and monitor messages as bytes;
decoder: the pure byte-stream decoder; driver: the live session; emulator: the monitor's side.
"""
