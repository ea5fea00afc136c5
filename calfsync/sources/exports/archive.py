"""An account export as it reaches calfsync: the zip as downloaded, or the folder it unzips to.

Members are named by their path inside the export (``activities/123.gpx.gz``) and read one at a
time: a zip entry is inflated with :func:`calfsync.sources.fit.zipentry.read_entry`, which stops
once the bytes that come out pass the bound (a zip bomb costs the bound, not the machine), and a
file of a folder is opened only when it is a regular file inside the folder (a name such as
``../../etc/passwd`` in a CSV reads nothing). So a 2,000-activity archive never sits in memory.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from types import TracebackType

from ..fit.inputs import RefusedInput, display_path, open_regular
from ..fit.zipentry import EntryTooLarge, read_entry

MAX_MEMBER_BYTES = 64 * 1024 * 1024  # an activity file or a CSV: far more than any real one


class MemberMissing(LookupError):
    """A member the export names is not in it (the message says which)."""


class MemberUnreadable(ValueError):
    """A member that is there but cannot be read (damaged, too large, not a regular file)."""


class Archive:
    """A zip file or a folder, read member by member (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.display = display_path(path)
        self._zip: zipfile.ZipFile | None = None
        if path.is_dir():
            return
        try:
            # zipfile keeps the central directory (about 0.5 KB a member): nothing more is held
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
            raise ValueError(f"{self.display}: not a readable zip archive ({exc})") from exc

    def __enter__(self) -> Archive:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()

    def label(self, name: str) -> str:
        """How a member is named to the runner: ``export.zip!activities/1.gpx`` for a zip
        entry, the file's path for a folder."""
        if self._zip is not None:
            return f"{self.display}!{name}"
        return display_path(self.path / name)

    def names(self) -> Iterator[str]:
        """Every member's name (``/``-separated), hidden files left out."""
        if self._zip is not None:
            yield from (i.filename for i in self._zip.infolist() if not _skipped(i))
            return
        for root, dirs, files in os.walk(self.path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                rel = (Path(root) / name).relative_to(self.path).as_posix()
                if not _hidden(rel):
                    yield rel

    def has(self, name: str) -> bool:
        if self._zip is not None:
            return self._info(name) is not None
        target = self._inside(name)
        return target is not None and target.is_file()

    def has_prefix(self, prefix: str) -> bool:
        if self._zip is not None:
            return any(i.filename.startswith(prefix) for i in self._zip.infolist())
        return (self.path / prefix).is_dir()

    def read(self, name: str, max_bytes: int = MAX_MEMBER_BYTES) -> bytes:
        """The bytes of member ``name``. Raises :class:`MemberMissing` or
        :class:`MemberUnreadable` with the reason in words (the caller names the member:
        :meth:`label`)."""
        if self._zip is not None:
            info = self._info(name)
            if info is None:
                raise MemberMissing("named in the export, but not in the archive")
            try:
                return read_entry(self._zip, info, max_bytes)
            except EntryTooLarge as exc:
                raise MemberUnreadable(f"inflates past {max_bytes} bytes") from exc
            except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
                raise MemberUnreadable(f"the archive entry is damaged ({exc})") from exc
        target = self._inside(name)
        if target is None:
            raise MemberUnreadable("the name points outside the export folder: not read")
        try:
            with open_regular(target, max_bytes) as handle:
                return handle.read(max_bytes + 1)[:max_bytes]
        except FileNotFoundError as exc:
            raise MemberMissing("named in the export, but not in the folder") from exc
        except RefusedInput as exc:
            raise MemberUnreadable(str(exc)) from exc
        except OSError as exc:
            raise MemberUnreadable(f"cannot read it ({exc.strerror or exc})") from exc

    def _info(self, name: str) -> zipfile.ZipInfo | None:
        assert self._zip is not None
        try:
            info = self._zip.getinfo(name)
        except KeyError:
            return None
        return None if info.is_dir() else info

    def _inside(self, name: str) -> Path | None:
        """The folder's file for ``name``, or None when the name leaves the folder."""
        rel = PurePosixPath(name.replace("\\", "/"))
        if rel.is_absolute() or ".." in rel.parts:
            return None
        return self.path.joinpath(*rel.parts)


def _skipped(info: zipfile.ZipInfo) -> bool:
    return info.is_dir() or _hidden(info.filename)


def _hidden(name: str) -> bool:
    return name.startswith("__MACOSX/") or any(p.startswith(".") for p in name.split("/"))


def open_archive(path: Path) -> Archive:
    """The export at ``path`` (a folder, or a zip file). Raises ValueError for a file that is
    no zip archive, OSError when it cannot be read."""
    return Archive(path)
