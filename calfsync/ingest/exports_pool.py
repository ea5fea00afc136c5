"""Reading a Strava archive's rows on every core: each worker process opens the archive once and
reads the files of the rows it is handed (:func:`calfsync.sources.exports.strava.read_row`:
FIT decoding, GPX and TCX parsing), the importer stores the results in CSV order.

At most :data:`INFLIGHT_PER_WORKER` rows per worker are in flight, so memory does not grow with
the archive. A small archive (or ``[fit] workers = 1``) is read in the importing process: a pool
costs more to start than a few files take to read.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from zoneinfo import ZoneInfo

from ..sources.exports.archive import Archive, open_archive
from ..sources.exports.strava import RowActivities, read_row
from ..sources.exports.strava_csv import CsvRow

INFLIGHT_PER_WORKER = 4
MIN_ROWS_FOR_POOL = 24

_archive: Archive | None = None  # the worker's own handle on the archive


def _open_in_worker(path: str) -> None:
    global _archive
    _archive = open_archive(Path(path))


def _read(archive: Archive | None, row: CsvRow, day_first: bool, tz_name: str) -> RowActivities:
    """:func:`read_row` that never raises: a reader bug becomes this row's problem."""
    try:
        assert archive is not None
        return read_row(archive, row, day_first, ZoneInfo(tz_name))
    except Exception as exc:  # noqa: BLE001 - one bad row never stops the others
        reason = f"could not read this row ({exc.__class__.__name__}: {exc})"
        return RowActivities(row.line, problem=f"line {row.line}: {reason}")


def _read_in_worker(row: CsvRow, day_first: bool, tz_name: str) -> RowActivities:
    return _read(_archive, row, day_first, tz_name)


def read_rows(
    archive: Archive,
    ordered: Iterable[CsvRow],
    count: int,
    day_first: bool,
    tz_name: str,
    workers: int,
) -> Iterator[RowActivities]:
    """The activities of the ``count`` rows of ``ordered``, in that order, read by
    ``workers`` processes."""
    if workers <= 1 or count < MIN_ROWS_FOR_POOL:
        for row in ordered:
            yield _read(archive, row, day_first, tz_name)
        return
    # fork is fastest, but forking a process that runs other threads can copy a held lock
    method = "fork" if threading.active_count() == 1 else "forkserver"
    if method not in multiprocessing.get_all_start_methods():
        method = multiprocessing.get_start_method()
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context(method),
        initializer=_open_in_worker,
        initargs=(str(archive.path),),
    )
    inflight: deque[tuple[CsvRow, Future[RowActivities]]] = deque()
    pending = iter(ordered)
    try:
        for row in pending:
            try:
                future = pool.submit(_read_in_worker, row, day_first, tz_name)
            except BrokenProcessPool:  # a worker died: finish in this process
                while inflight:
                    yield _result(*inflight.popleft())
                for rest in (row, *pending):
                    yield _read(archive, rest, day_first, tz_name)
                return
            inflight.append((row, future))
            if len(inflight) >= workers * INFLIGHT_PER_WORKER:
                yield _result(*inflight.popleft())
        while inflight:
            yield _result(*inflight.popleft())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _result(row: CsvRow, future: Future[RowActivities]) -> RowActivities:
    try:
        return future.result()
    except BrokenProcessPool:
        reason = "the reader process crashed; import the archive again to retry this row"
        return RowActivities(row.line, problem=f"line {row.line}: {reason}")
