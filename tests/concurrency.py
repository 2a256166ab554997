"""Run test work in several threads at once, each on its own client."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

import signalgraph
from signalgraph.client import SignalGraph

T = TypeVar("T")


def at_once(url: str, work: Callable[[SignalGraph], T], count: int = 2) -> list[T]:
    """Return what `work` returned in each of `count` threads started together.

    Each thread has its own client (so its own connections); an exception in any thread
    is raised here once all have finished.
    """
    results: list[T] = []
    errors: list[BaseException] = []
    start_together = threading.Barrier(count)

    def run() -> None:
        client = signalgraph.connect(url=url)
        try:
            start_together.wait()
            results.append(work(client))
        except BaseException as exc:  # raised in the calling thread below
            errors.append(exc)
        finally:
            client.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results
