"""Writing prepared batches on one connection or several at once.

A reader thread parses, checks and fingerprints batch n+1 while batch n is written. With
more than one writer, each writer thread takes the next prepared batch and writes it in
its own transaction on its own connection. What two concurrent batches see of each other
is what PostgreSQL's read-committed isolation gives each statement: rows committed before
the statement began. A batch that shares a key (external id) with a batch being written
waits until that batch is committed, so the last record of a key in input order is the
one kept, as with one writer. Keys stay exactly-once and exact duplicates stay marked
because the unique indexes (a key; one original per content and per URL) make the later
of two writers of the same value fail and write its batch again, when the other's rows
are visible: the original of two copies written at the same moment is the one committed
first. A near duplicate is found when its representative was committed before the batch
looked for candidates, or is an earlier row of its own batch: two near duplicates
written at the same moment by two writers may both stay representatives.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

W = TypeVar("W")
B = TypeVar("B")

# How often blocked threads look whether the run is stopping, in seconds.
POLL_S = 0.2


def available_cores() -> int:
    """Return the number of cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def writer_count(asked: int | None, *, cap: int) -> int:
    """Return how many writers a run uses: as asked, else the cores available, at most cap."""
    if asked is not None:
        return asked
    return max(1, min(available_cores(), cap))


class Closed(Exception):
    """The run is stopping: no more batches are handed out."""


class Prepared(Generic[B]):
    """Batches handed from the reader thread to the writers, in input order, with their rank."""

    def __init__(self, writers: int, stop: threading.Event) -> None:
        self._queue: queue.Queue[tuple[int, B] | BaseException | None] = queue.Queue(
            maxsize=writers
        )
        self._stop = stop
        self._rank = 0
        self._ordered = writers > 1
        # The keys of the batches handed on and not yet committed, by rank.
        self._writing: dict[int, frozenset[str]] = {}
        self._written = threading.Condition()

    def put(self, batch: B, keys: frozenset[str] = frozenset()) -> bool:
        """Hand a batch on, once no batch being written shares a key with it.

        Return False when the run stopped meanwhile.
        """
        rank = self._rank
        self._rank += 1
        if self._ordered:
            with self._written:
                while any(not keys.isdisjoint(other) for other in self._writing.values()):
                    if self._stop.is_set():
                        return False
                    self._written.wait(POLL_S)
                self._writing[rank] = keys
        return self._put((rank, batch))

    def done(self, rank: int) -> None:
        """Say that a batch is committed (or given up): batches sharing its keys may go."""
        if self._ordered:
            with self._written:
                self._writing.pop(rank, None)
                self._written.notify_all()

    def finish(self, error: BaseException | None = None) -> None:
        """Say that no batch follows (or why the reader failed)."""
        self._put(error)

    def _put(self, item: tuple[int, B] | BaseException | None) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def get(self) -> tuple[int, B] | None:
        """Return the next batch with its rank, None at the end; raise the reader's error."""
        while True:
            if self._stop.is_set():
                raise Closed
            try:
                item = self._queue.get(timeout=POLL_S)
            except queue.Empty:
                continue
            if item is None:
                self._queue.put(None)  # the end, for the other writers too
                return None
            if isinstance(item, BaseException):
                self._queue.put(item)
                raise item
            return item

    def drain(self) -> None:
        """Take whatever is left, so that a reader blocked on a full queue can see the stop."""
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return


def write_all(
    prepared: Prepared[B],
    writers: Sequence[W],
    write: Callable[[int, B, W], str | None],
    stop: threading.Event,
) -> str | None:
    """Write every prepared batch with the writers; return why the run stopped, if it did.

    `write(rank, batch, writer)` writes one batch and returns a reason to stop the run
    (or None). The first error of any writer stops the others after their current batch
    and is raised here; so is Ctrl-C, once the writers have finished their batches.
    """
    if len(writers) == 1:
        while (item := prepared.get()) is not None:
            stopped = write(item[0], item[1], writers[0])
            prepared.done(item[0])
            if stopped:
                return stopped
        return None
    errors: list[BaseException] = []
    reasons: list[str] = []

    def work(writer: W) -> None:
        try:
            while (item := prepared.get()) is not None:
                try:
                    stopped = write(item[0], item[1], writer)
                finally:
                    prepared.done(item[0])
                if stopped:
                    reasons.append(stopped)
                    stop.set()
                    return
        except Closed:
            return
        except BaseException as exc:  # raised in the calling thread
            errors.append(exc)
            stop.set()

    threads = [
        threading.Thread(target=work, args=(writer,), name=f"signalgraph-writer-{n}", daemon=True)
        for n, writer in enumerate(writers)
    ]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            while thread.is_alive():
                thread.join(POLL_S)
    except BaseException:
        stop.set()
        for thread in threads:
            thread.join()
        raise
    if errors:
        raise errors[0]
    return reasons[0] if reasons else None
