"""Finding FIT inputs: files given by name, folders (recursive), ``.fit.gz``, zips at any depth.

Nothing here decodes FIT data: :func:`iter_inputs` turns paths into :class:`InputItem` objects
(a label naming where the bytes came from, their sha256, and the bytes to decode), so the same
content found twice (a ``.fit``, its ``.fit.gz``, its copy in a zip) has one hash. An item whose
outcome is known without decoding (a damaged zip, an entry that is no FIT file, an entry larger
than :data:`MAX_ENTRY_BYTES`) carries its status and reason instead of bytes.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import lzma
import os
import stat
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .zipentry import EntryTooLarge, entry_chunks, read_entry

FIT_SUFFIXES = (".fit", ".fit.gz", ".zip")
# What one zip entry or gzip may inflate to, counted as the bytes come out (not the header's
# claim): FIT activities are a few MB, far below this; anything bigger is refused (zip bombs).
MAX_ENTRY_MIB = 64
MAX_ENTRY_BYTES = MAX_ENTRY_MIB * 1024 * 1024
# A zip inside a zip (a Garmin export's UploadedFiles part) is inflated whole into memory: a
# larger bound, still far below what a bomb asks for.
MAX_NESTED_ZIP_BYTES = 256 * 1024 * 1024
# A .fit or .fit.gz on disk is read whole: anything bigger is refused unread (FIT activities are
# a few MB). A zip is read entry by entry, so only its hash reads it whole: a generous bound.
MAX_FILE_BYTES = MAX_ENTRY_BYTES
MAX_ARCHIVE_BYTES = 64 * 1024 * 1024 * 1024
MAX_ZIP_DEPTH = 8  # zips inside zips, deeper than this, are refused


@dataclass
class InputItem:
    """One file content found in the inputs.

    ``data`` holds the FIT bytes to parse (decompressed); it is None when the item's outcome is
    already known (``status`` and ``reason`` set: a corrupt zip, a zip entry that is no FIT
    file). ``sha256`` is the hash of ``data`` (or of the raw bytes when there is no data).
    """

    label: str
    sha256: str
    size_bytes: int
    data: bytes | None = None
    status: str | None = None
    reason: str | None = None


class RefusedInput(ValueError):
    """A path that is not read at all: not a regular file (a FIFO, a device, a socket), or
    larger than its bound. The message is the reason a person reads."""


def display_path(path: str | Path) -> str:
    """``path`` as text that can be stored and printed: a name that is not valid UTF-8 (Linux
    names are bytes; Python hands them over with surrogate escapes, which SQLite and a UTF-8
    terminal refuse) shows its bad bytes as ``\\xe9``."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def open_regular(path: Path, max_bytes: int) -> BinaryIO:
    """Open ``path`` for reading only if it is a regular file of at most ``max_bytes``.

    A FIFO would block the read forever and a device such as ``/dev/zero`` never ends, so
    neither is opened for reading: the type is checked first, and again on the open handle
    (opened non-blocking, so a FIFO swapped in meanwhile cannot hang it). Raises
    :class:`RefusedInput` with the reason, or OSError when the path cannot be read.
    """
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        raise RefusedInput(_not_regular(mode))
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise RefusedInput(_not_regular(info.st_mode))
        if info.st_size > max_bytes:
            raise RefusedInput(
                f"the file is {info.st_size} bytes, more than the {max_bytes} a FIT input may "
                "be: calfsync does not read it (if it is a bulk export, unzip it and import "
                "the folder)"
            )
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _not_regular(mode: int) -> str:
    kind = (
        "a FIFO (named pipe)"
        if stat.S_ISFIFO(mode)
        else "a device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "not a regular file"
    )
    return (
        f"the path is {kind}, not a regular file: calfsync reads regular files only "
        "(remove it from the inbox, or copy the file itself there)"
    )


def refused_item(label: str, reason: str) -> InputItem:
    """The failed item for a path not read at all (see :class:`RefusedInput`); its hash is the
    label's, since the content was never read."""
    return InputItem(
        label, hashlib.sha256(label.encode()).hexdigest(), 0, status="failed", reason=reason
    )


def is_input_name(name: str) -> bool:
    """Whether a file name looks like something calfsync imports (.fit, .fit.gz, .zip), and is
    not a name a sync tool or copier writes into before the file is whole."""
    return name.lower().endswith(FIT_SUFFIXES) and not is_temporary_name(name)


# Names of files still being written: Syncthing (.syncthing.NAME.tmp, ~syncthing~NAME.tmp),
# browsers and copiers (*.part, *.tmp), rsync and most others (dotfiles).
_TEMPORARY_SUFFIXES = (".part", ".tmp", ".partial", ".crdownload")


def is_temporary_name(name: str) -> bool:
    """Whether ``name`` is one that sync tools and copiers write into, then rename."""
    lower = name.lower()
    return lower.startswith((".", "~syncthing~")) or lower.endswith(_TEMPORARY_SUFFIXES)


def has_settled(path: Path, info: os.stat_result, now_s: float, settle_s: float) -> bool:
    """Whether the file at ``path`` has stopped changing, so it can be read whole.

    It has when nothing changed it for ``settle_s`` seconds: its inode change time (moved by
    every write, rename or time stamp change, and settable by no copier) and its mtime, unless
    that is in the future (a wrong clock, not a write), are that old. A FIT file whose length
    is the one its header declares is whole already (a copy ends there) and is read at once;
    a FIT file still recording or being copied is shorter, so it waits. What is refused
    unread whatever it becomes (not a regular file, or already past its size bound) needs no
    wait: it is refused at once, with its reason.
    """
    bound = MAX_ARCHIVE_BYTES if path.name.lower().endswith(".zip") else MAX_FILE_BYTES
    if settle_s <= 0 or not stat.S_ISREG(info.st_mode) or info.st_size > bound:
        return True
    now_ns = int(now_s * 1e9)
    changed_ns = info.st_ctime_ns
    if info.st_mtime_ns <= now_ns:
        changed_ns = max(changed_ns, info.st_mtime_ns)
    return now_ns - changed_ns >= settle_s * 1e9 or _is_whole_fit(path, info.st_size)


def _is_whole_fit(path: Path, size_bytes: int) -> bool:
    """Whether the file is exactly one FIT file as long as its header says (header, data, CRC)."""
    if not path.name.lower().endswith(".fit"):
        return False
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO swapped in cannot block it
        try:
            head = os.read(fd, 12)
        finally:
            os.close(fd)
    except OSError:
        return False
    if len(head) < 12 or head[0] not in (12, 14) or head[8:12] != b".FIT":
        return False
    data_size = int.from_bytes(head[4:8], "little")
    return data_size > 0 and size_bytes == head[0] + data_size + 2


def find_input_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Every importable file under ``paths``: files given by name always, folders recursively
    (only ``.fit``, ``.fit.gz`` and ``.zip``, hidden files skipped), in a stable order."""
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith(".") and is_input_name(name):
                        yield Path(root) / name
        elif path.exists():
            yield path
        else:
            raise FileNotFoundError(f"{display_path(path)}: no such file or folder")


def read_input_file(path: Path, label: str | None = None) -> Iterator[InputItem]:
    """The items one file on disk holds: itself (FIT or gzip) or the entries of a zip.

    A zip is read entry by entry from disk, so a large export never sits in memory whole;
    anything else is read whole, up to :data:`MAX_FILE_BYTES`. Only regular files are read
    (see :func:`open_regular`, which raises :class:`RefusedInput` for the rest).
    """
    label = label or display_path(path)
    with open_regular(path, MAX_ARCHIVE_BYTES) as handle:
        head = handle.read(4)
        is_zip = head == b"PK\x03\x04" or path.name.lower().endswith(".zip")
        if not is_zip:
            # Bounded by the bytes read, not the size stat gave: the file may still grow.
            data = head + handle.read(MAX_FILE_BYTES + 1 - len(head))
            if len(data) > MAX_FILE_BYTES:
                raise RefusedInput(
                    f"the file is more than the {MAX_FILE_BYTES} bytes a FIT file may be: "
                    "calfsync does not read it"
                )
    if is_zip:
        yield from _zip_items(path, label, 0)
    else:
        yield from items_from_bytes(data, label)


def iter_inputs(paths: Iterable[str | Path]) -> Iterator[InputItem]:
    """Every item under ``paths`` (see :func:`find_input_files` and :func:`items_from_bytes`)."""
    for path in find_input_files(paths):
        label = display_path(path.resolve())
        try:
            yield from read_input_file(path, label)
        except RefusedInput as exc:
            yield refused_item(label, str(exc))


def items_from_bytes(data: bytes, label: str, depth: int = 0) -> Iterator[InputItem]:
    """Classify raw bytes by content: a zip (entries at any depth), a gzip, or a FIT file."""
    if data[:4] == b"PK\x03\x04" or label.lower().endswith(".zip"):
        yield from _zip_items(data, label, depth)
    elif data[:2] == b"\x1f\x8b":
        try:
            inner = _gunzip(data)
        except EntryTooLarge:
            yield _refused(label, "gzip data")
            return
        except (OSError, EOFError, zlib.error, ValueError) as exc:
            yield _decided(label, data, "failed", f"gzip data is damaged ({exc})")
            return
        if inner[:4] == b"PK\x03\x04":
            yield from _zip_items(inner, label, depth)
        else:
            yield _fit_item(label, inner)
    else:
        yield _fit_item(label, data)


def _gunzip(data: bytes) -> bytes:
    with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz:
        out = gz.read(MAX_ENTRY_BYTES + 1)  # bounded: gzip inflates at most what is asked
    if len(out) > MAX_ENTRY_BYTES:
        raise EntryTooLarge("gzip data")
    return out


def _fit_item(label: str, data: bytes) -> InputItem:
    return InputItem(label, hashlib.sha256(data).hexdigest(), len(data), data=data)


def _decided(label: str, raw: bytes, status: str, reason: str) -> InputItem:
    return InputItem(label, hashlib.sha256(raw).hexdigest(), len(raw), status=status, reason=reason)


def _zip_items(source: bytes | Path, label: str, depth: int) -> Iterator[InputItem]:
    """The items of a zip archive (bytes, or a file read entry by entry), entries labelled
    ``label!entry/path``; hidden entries and macOS resource forks are left out."""
    if depth > MAX_ZIP_DEPTH:
        reason = f"zip archives nested more than {MAX_ZIP_DEPTH} deep"
        yield _decided(label, _raw(source), "failed", reason)
        return
    try:
        archive = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        reason = f"not a readable zip archive ({exc})"
        yield _decided(label, _raw(source), "failed", reason)
        return
    with archive:
        for info in infos:
            name = info.filename.rsplit("/", 1)[-1]
            hidden = name.startswith(".") or info.filename.startswith("__MACOSX/")
            if not info.is_dir() and not hidden:
                yield from _entry_items(archive, info, f"{label}!{info.filename}", depth)


def _entry_items(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, label: str, depth: int
) -> Iterator[InputItem]:
    """The items of one zip entry: a FIT file, a gzip or a nested zip, else a skipped entry.

    The entry is inflated with :func:`read_entry`, which stops once the bytes that come out pass
    :data:`MAX_ENTRY_BYTES` (:data:`MAX_NESTED_ZIP_BYTES` for a zip inside the zip): a zip bomb
    costs at most that much memory and is refused with the reason.
    """
    try:
        try:
            data = read_entry(archive, info, MAX_ENTRY_BYTES)
        except EntryTooLarge:
            if not _is_nested_zip(archive, info):
                raise
            data = read_entry(archive, info, MAX_NESTED_ZIP_BYTES)
    except EntryTooLarge:
        yield _refused(label, f"zip entry {info.filename}", info.file_size)
        return
    except _DAMAGED_ENTRY as exc:
        yield InputItem(
            label,
            hashlib.sha256(label.encode()).hexdigest(),
            info.file_size,
            status="failed",
            reason=f"zip entry cannot be read: the archive is damaged ({exc})",
        )
        return
    if is_input_name(info.filename.rsplit("/", 1)[-1]) or data[8:12] == b".FIT":
        yield from items_from_bytes(data, label, depth + 1)
    else:
        yield _decided(label, data, "skipped", "zip entry is not a FIT file")


def _refused(label: str, what: str, size_bytes: int = 0) -> InputItem:
    """The skipped item for content that inflates past the bound; its hash is the label's,
    since the content was never read whole."""
    reason = f"{what} inflates past {MAX_ENTRY_MIB} MiB: not a FIT activity; skipped"
    digest = hashlib.sha256(f"too large:{label}".encode()).hexdigest()
    return InputItem(label, digest, size_bytes, status="skipped", reason=reason)


def _is_nested_zip(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    """Whether the entry is itself a zip (named so, or starting with a zip's signature)."""
    if info.filename.lower().endswith(".zip"):
        return True
    try:
        head = next(entry_chunks(archive, info), b"")
    except _DAMAGED_ENTRY:
        return False
    return head[:4] == b"PK\x03\x04"


# What reading a damaged zip entry raises (bad data, bad CRC, unsupported compression...).
_DAMAGED_ENTRY = (
    zipfile.BadZipFile,
    OSError,
    EOFError,
    zlib.error,
    lzma.LZMAError,
    ValueError,
    NotImplementedError,
    RuntimeError,
)


def _raw(source: bytes | Path) -> bytes:
    return source if isinstance(source, bytes) else source.read_bytes()


def stream_sha256(handle: BinaryIO) -> str:
    """The sha256 of everything left in ``handle``, read a megabyte at a time."""
    digest = hashlib.sha256()
    while chunk := handle.read(1 << 20):
        digest.update(chunk)
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes as they are on disk (a zip or gzip not opened); a regular
    file only, up to :data:`MAX_ARCHIVE_BYTES` (else :class:`RefusedInput`)."""
    with open_regular(path, MAX_ARCHIVE_BYTES) as handle:
        return stream_sha256(handle)


def unreadable_folders(root: Path) -> list[tuple[str, str]]:
    """Folders under ``root`` (itself included) that cannot be listed, with the reason; the
    walk that finds input files skips them silently."""
    problems: list[tuple[str, str]] = []

    def onerror(exc: OSError) -> None:
        problems.append((display_path(exc.filename or root), exc.strerror or str(exc)))

    for _dirpath, dirs, _files in os.walk(root, onerror=onerror):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
    return problems
