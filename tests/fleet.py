"""A fleet of worker processes, each with its own auth on one shared store.

The workers are forked from a forkserver that has already imported this
module (and so finauth, requests, httpx and redis), so starting sixteen costs
milliseconds, not sixteen interpreters' imports. A worker builds its auth from
a picklable `Worker`, waits at the barrier, sends one request, and reports.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import multiprocessing.queues
import multiprocessing.synchronize
import os
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from finauth import FileTokenStore, Token, TokenStore
from finauth.testing._clients import CLIENT_KINDS, open_client

CONTEXT = multiprocessing.get_context("forkserver")
CONTEXT.set_forkserver_preload([__name__])


@dataclass(frozen=True)
class Worker:
    """What a worker process needs: how to build its auth, and where to send."""

    auth_class: type[Any]
    options: dict[str, str]
    """The account and base_url, as the auth's constructor takes them."""
    store: Callable[[], TokenStore]
    url: str


@dataclass(frozen=True)
class Report:
    pid: int
    status: int | None
    error: str | None = None


def work(
    worker: Worker,
    client: str,
    barrier: multiprocessing.synchronize.Barrier | None,
    reports: multiprocessing.queues.Queue[Report],
) -> None:
    """One worker's life: build the auth, wait for the others, send one request."""
    try:
        auth = worker.auth_class(**worker.options, store=worker.store())
        with auth, open_client(client, auth=auth) as fetch:
            if barrier is not None:
                barrier.wait(timeout=60)
            reports.put(Report(os.getpid(), fetch("GET", worker.url).status_code))
    except BaseException:
        reports.put(Report(os.getpid(), None, traceback.format_exc()))
        raise


@dataclass
class Crew:
    """Worker processes under way, and what they share; kept alive until they report."""

    processes: list[multiprocessing.context.ForkServerProcess]
    reports: multiprocessing.queues.Queue[Report]
    barrier: multiprocessing.synchronize.Barrier | None

    def collect(self, timeout: float = 60) -> list[Report]:
        """Every worker's report, once all have ended; a worker still running is killed."""
        found = [self.reports.get(timeout=timeout) for _ in self.processes]
        for process in self.processes:
            process.join(timeout=timeout)
            if process.is_alive():
                process.kill()
        return found


def start(worker: Worker, count: int, *, barrier: bool = True) -> Crew:
    """`count` workers, their clients taking turns among requests, httpx and httpx async."""
    crew = Crew([], CONTEXT.Queue(), CONTEXT.Barrier(count) if barrier else None)
    for i in range(count):
        client = CLIENT_KINDS[i % len(CLIENT_KINDS)]
        process = CONTEXT.Process(target=work, args=(worker, client, crew.barrier, crew.reports))
        process.start()
        crew.processes.append(process)
    return crew


def rewrite(directory: Path, token: Token, times: int) -> None:
    """Store `token` under one key `times` times over, as fast as this process can."""
    store = FileTokenStore(directory)
    for _ in range(times):
        store.set("shared", token)
