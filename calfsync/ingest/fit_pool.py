"""Parsing FIT contents in worker processes, with a bounded number of files in flight.

Parsing is CPU-bound: the import spreads it over a process pool, handing each worker at most
:data:`INFLIGHT_PER_WORKER` files ahead, so memory does not grow with the number of files. With
one worker it parses in this process (no pool), or, in the daemon (``[daemon] child_process``),
in one child process that lives for the step (:mod:`calfsync.child`), so the daemon never loads
fitparse.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import TYPE_CHECKING, Generic, TypeVar

from ..child import Child, ChildDied
from ..sources.fit.inputs import InputItem
from ..sources.fit.parse import FitResult, parse_job

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

INFLIGHT_PER_WORKER = 2  # files handed to each worker ahead of time

Tag = TypeVar("Tag")
log = logging.getLogger(__name__)


class ParsePool(Generic[Tag]):
    """Parses items and hands each result to ``done(item, tag, result)`` as it comes.

    ``result`` is None when the worker process died (out of memory?): nothing is known about
    that item, and the pool starts fresh workers for the rest. ``tag`` is whatever the caller
    attached to the item in :meth:`submit`.
    """

    def __init__(
        self,
        workers: int,
        tz_name: str,
        done: Callable[[InputItem, Tag, FitResult | None], None],
        *,
        in_child: bool = False,
        log_level: str = "info",
    ) -> None:
        self.workers = workers
        self.tz_name = tz_name
        self._done = done
        self._pool: ProcessPoolExecutor | None = None
        self._child: Child | None = Child(log_level) if in_child and workers <= 1 else None
        self._inflight: dict[Future[FitResult], tuple[InputItem, Tag]] = {}

    def submit(self, item: InputItem, tag: Tag) -> None:
        """Parse ``item`` (which holds data): inline with one worker, else in the pool once a
        worker has room (collecting finished results while waiting)."""
        assert item.data is not None
        if self._child is not None:
            try:
                result = self._child.call(parse_job, item.data, item.label, self.tz_name)
            except ChildDied as exc:  # the next item starts a new child
                log.warning("%s: %s", item.label, exc)
                self._done(item, tag, None)
                return
            self._done(item, tag, result)
            return
        if self.workers <= 1:
            self._done(item, tag, parse_job(item.data, item.label, self.tz_name))
            return
        while len(self._inflight) >= self.workers * INFLIGHT_PER_WORKER:
            self._collect()
        future = self._executor().submit(parse_job, item.data, item.label, self.tz_name)
        self._inflight[future] = (item, tag)

    @property
    def crash_is_the_items(self) -> bool:
        """True when a None result means that very item killed its reader: the child parses one
        item at a time (a broken pool fails every item in flight, the culprit among them)."""
        return self._child is not None

    def drain(self) -> None:
        """Wait for every item in flight and hand out its result."""
        while self._inflight:
            self._collect()

    def close(self) -> None:
        """Stop the worker processes (items still in flight are dropped)."""
        if self._child is not None:
            self._child.close()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _executor(self) -> ProcessPoolExecutor:
        # multiprocessing is imported here, with the first pool: the daemon parses in its own
        # process and would carry it for nothing (+2.9 MB RSS measured).
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        if self._pool is None:
            # fork is fastest, but forking a process that runs other threads (the daemon's
            # scheduler) can copy a held lock into the child: then use a fork server.
            method = "fork" if threading.active_count() == 1 else "forkserver"
            if method not in multiprocessing.get_all_start_methods():
                method = multiprocessing.get_start_method()
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=multiprocessing.get_context(method)
            )
        return self._pool

    def _collect(self) -> None:
        """Wait for at least one item in flight to finish; hand out what finished."""
        finished, _ = wait(list(self._inflight), return_when=FIRST_COMPLETED)
        for future in finished:
            item, tag = self._inflight.pop(future)
            from concurrent.futures.process import BrokenProcessPool

            try:
                result: FitResult | None = future.result()
            except BrokenProcessPool:
                result = None
                if self._pool is not None:
                    self._pool.shutdown(wait=False, cancel_futures=True)
                    self._pool = None
            self._done(item, tag, result)
