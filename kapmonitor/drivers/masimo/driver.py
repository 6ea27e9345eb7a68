"""Driver `masimo-ascii1`: a Masimo pulse oximeter (Rad-8, Radical-7, Rad-97, Root) on its serial
"ASCII 1" output.

The oximeter sends one line a second without being asked; nothing is ever written to it.
Values are stamped with this computer's time (the oximeter's clock is not reliable). A pulse
oximeter has no cuff: `has_nibp` is False, so the NIBP tile says so and offers manual entry.

Used from one reader thread; `close()` may be called from another thread.
"""

from __future__ import annotations

from typing import ClassVar

from kapmonitor.drivers.base import Decoder, SerialSettings
from kapmonitor.drivers.masimo.decoder import MasimoDecoder
from kapmonitor.drivers.passive import PassiveSerialDriver


class MasimoAscii1Driver(PassiveSerialDriver):
    """Masimo serial ASCII 1: 9600 8N1, no handshake (Root's USB port: 19200, `--baud 19200`)."""

    name: ClassVar[str] = "masimo-ascii1"
    description: ClassVar[str] = "Masimo Rad-8, Radical-7, Rad-97, Root pulse oximeters (serial ASCII 1)"
    serial_settings: ClassVar[SerialSettings | None] = SerialSettings(
        baudrate=9600, bytesize=8, parity="N", stopbits=1, rtscts=False, alternative_baudrates=(19200,)
    )
    can_start_nibp: ClassVar[bool] = False
    has_nibp: ClassVar[bool] = False  # SpO2 and pulse only; NIBP is entered by hand
    not_answering_hint: ClassVar[str] = ("bytes arrive but no ASCII 1 line: check the baud rate (9600; Root "
                                         "19200) and set the oximeter's serial output to ASCII 1")

    def make_decoder(self) -> Decoder:
        return MasimoDecoder(device_time=False)

    def reset_decoder(self) -> None:
        decoder = self.decoder
        if isinstance(decoder, MasimoDecoder):
            decoder.reset_stream()
