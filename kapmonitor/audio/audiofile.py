"""Opening audio files for reading, whatever bytes their names hold.

libsndfile takes file names as UTF-8. A name written on another computer in another code page (a
Latin-1 "ü" is the single byte 0xFC) reaches Python as a str with surrogate escapes, which soundfile
cannot pass on. Such a file is opened by descriptor instead, owned by the SoundFile (closed with it).
Thread-safety: each call opens its own file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import soundfile


def open_audio(path: Path) -> soundfile.SoundFile:
    """A SoundFile open for reading; raises what soundfile or the OS raises for an unreadable file."""
    import soundfile

    name = str(path)
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        fd = os.open(path, os.O_RDONLY)
        try:
            return soundfile.SoundFile(fd, closefd=True)
        except BaseException:
            os.close(fd)
            raise
    return soundfile.SoundFile(name)
