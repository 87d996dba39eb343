"""The one race harness for the PostgreSQL concurrency tests (marked postgres_only)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connections


def race(n: int, work: Callable[[int], object], *, timeout: float = 60) -> tuple[list, list]:
    """Run work(i) for i in 0..n-1 in n threads released together, each on its own database connection.

    Returns (results, errors), both by thread index: results[i] is what work(i) returned (None if it raised),
    errors[i] the exception it raised (None if it did not). The caller asserts on both.
    """
    barrier = threading.Barrier(n, timeout=timeout)
    results: list = [None] * n
    errors: list = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except BaseException as e:  # noqa: BLE001 - collected and asserted on by the caller
            errors[i] = e
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    return results, errors
