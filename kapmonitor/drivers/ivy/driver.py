"""Driver `ivy-450c`: an Ivy Biomedical 450C monitor on its serial "ANSAR-B" output.

The monitor streams one frame a second without being asked; nothing is written to it. The
stream has no clock, so values are stamped with this computer's time (see the decoder).

Used from one reader thread; `close()` may be called from another thread.
"""

from __future__ import annotations

from typing import ClassVar

from kapmonitor.drivers.base import Decoder, SerialSettings
from kapmonitor.drivers.ivy.decoder import IvyDecoder
from kapmonitor.drivers.passive import PassiveSerialDriver


class Ivy450cDriver(PassiveSerialDriver):
    """Ivy 450C ANSAR-B: 9600 8N1, no handshake."""

    name: ClassVar[str] = "ivy-450c"
    description: ClassVar[str] = "Ivy Biomedical 450C (serial ANSAR-B): HR, SpO2, NIBP, RR, EtCO2, pleth"
    serial_settings: ClassVar[SerialSettings | None] = SerialSettings(
        baudrate=9600, bytesize=8, parity="N", stopbits=1, rtscts=False
    )
    can_start_nibp: ClassVar[bool] = False  # ANSAR-B is output only
    not_answering_hint: ClassVar[str] = "bytes arrive but no ANSAR-B frame: check the baud rate (9600) and the cable"

    def make_decoder(self) -> Decoder:
        return IvyDecoder(waves=self.options.waves)

    def reset_decoder(self) -> None:
        decoder = self.decoder
        if isinstance(decoder, IvyDecoder):
            decoder.reset_stream()
