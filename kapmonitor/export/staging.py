"""Atomic output: every file is written to a private staging folder inside the output folder,
synced, and only moved into place (os.replace, atomic on one file system) when the whole export
has succeeded. A failure or a cancel leaves the output folder as it was.

Exports hold health data, so they are private like the session database: every file is 0600 and
every folder the export creates is 0700 (an existing folder the user chose keeps its mode).

Thread-safety: one Staging per export, used by one thread.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import tempfile
from pathlib import Path

from kapmonitor.export.errors import ExportError

log = logging.getLogger(__name__)

FILE_MODE = 0o600
DIR_MODE = 0o700


def make_private_dirs(folder: Path) -> None:
    """Create `folder` and any missing parents as 0700 (mkdir's mode is filtered by the umask)."""
    missing: list[Path] = []
    current = folder
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue  # created meanwhile by someone else: left as it is
        os.chmod(path, DIR_MODE)


def _reason(exc: OSError) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "not writable"
    if exc.errno == errno.ENOTDIR:
        return "a file is in the way"
    if exc.errno == errno.ENOSPC:
        return "disk full"
    return exc.strerror or str(exc)


class Staging:
    """Collects output files and publishes them together. Use as a context manager."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = Path(out_dir)
        self.files: dict[str, Path] = {}
        self._synced: set[str] = set()  # written and fsynced here, 0600 from the start
        try:
            if self.out_dir.exists() and not self.out_dir.is_dir():
                raise ExportError(f"cannot export to {self.out_dir}: it is a file, not a folder")
            make_private_dirs(self.out_dir)
            self._tmp = Path(tempfile.mkdtemp(prefix=".kapmonitor-export-", dir=self.out_dir))
        except OSError as exc:
            raise ExportError(f"cannot export to {self.out_dir}: {_reason(exc)}") from None

    def path(self, name: str) -> Path:
        """Where to write `name` for now (inside the staging folder)."""
        p = self._tmp / name
        self.files[name] = p
        self._synced.discard(name)  # whoever writes it now, commit syncs it unless write_bytes does
        return p

    def write_bytes(self, name: str, data: bytes) -> Path:
        p = self.path(name)
        try:
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            self._synced.add(name)
        except OSError as exc:
            raise ExportError(f"cannot write {name} in {self.out_dir}: {_reason(exc)}") from None
        return p

    def write_text(self, name: str, text: str) -> Path:
        return self.write_bytes(name, text.encode("utf-8"))

    def commit(self, order: list[str] | None = None) -> list[Path]:
        """Move every staged file into the output folder (the manifest last, when listed last)."""
        names = order or list(self.files)
        published = []
        for name in names:  # refuse before publishing anything, so a conflict never leaves half an export
            dest = self.out_dir / name
            if dest.exists() and not dest.is_file():
                self.discard()
                raise ExportError(f"cannot write {dest}: something that is not a file is in the way")
        try:
            for name in names:
                src = self.files[name]
                if not src.exists():
                    raise ExportError(f"internal error: {name} was never written")
                if name not in self._synced:  # files drawn by other writers (the PDF)
                    fd = os.open(src, os.O_RDONLY)
                    try:
                        os.fchmod(fd, FILE_MODE)
                        os.fsync(fd)
                    finally:
                        os.close(fd)
                dest = self.out_dir / name
                os.replace(src, dest)
                published.append(dest)
        except OSError as exc:
            raise ExportError(f"cannot write {self.out_dir}: {_reason(exc)}") from None
        finally:
            self.discard()
        return published

    def discard(self) -> None:
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()
