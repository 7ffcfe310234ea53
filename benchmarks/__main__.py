"""`python -m benchmarks` (what `nox -s bench` runs): every benchmark of issue #8.

Writes benchmarks/results.json and, from it, docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from urllib3._version import __version__ as urllib3_version

from . import clients, footprint, growth, hotpath, overhead, report, stores, storms, telemetry

RESULTS = Path(__file__).with_name("results.json")
DOCUMENT = Path(__file__).parents[1] / "docs" / "benchmarks.md"
SCHEMA = 1
LIBRARIES = (
    "finauth",
    "requests",
    "httpx",
    "httpx2",
    "niquests",
    "aiohttp",
    "httpx-auth",
    "authlib",
    "pyinstrument",
    "opentelemetry-api",
)


@dataclass(frozen=True)
class Scale:
    """How much each benchmark does: FULL for the record, QUICK to see that all of it runs."""

    rounds: int
    """Rounds per variant of the stores' and telemetry's workloads."""
    overhead_processes: int
    """Fresh interpreters the overhead workloads run in, one after another, pooled."""
    overhead_rounds: int
    """Rounds per variant of each overhead workload, in each of those interpreters."""
    in_memory: int
    """Requests per round and variant in memory."""
    loopback: int
    """Requests per round and variant over loopback, where each takes a few times longer."""
    growth_rounds: int
    growth_requests: int
    """Requests per round of the growth benchmark: a multiple of every concurrency level."""
    import_runs: int
    """Interpreters started per library and way of timing its import."""


FULL = Scale(61, 5, 13, 150, 80, growth_rounds=11, growth_requests=1024, import_runs=7)
QUICK = Scale(7, 2, 7, 40, 20, growth_rounds=7, growth_requests=256, import_runs=3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="fewer rounds and requests: a smoke run"
    )
    scale = QUICK if parser.parse_args(argv).quick else FULL
    for package in clients.missing():
        print(
            f"benchmarks: {package} is not installed, so its clients are left out"
            f" (pip install 'finauth[{package}]')",
            flush=True,
        )
    started = time.monotonic()
    results: dict[str, Any] = {"schema": SCHEMA, "meta": _meta(scale)}
    sections: dict[str, Callable[[], Any]] = {
        "overhead": lambda: overhead.run(
            scale.overhead_rounds, scale.overhead_processes, scale.in_memory, scale.loopback
        ),
        "storms": storms.run,
        "stores": lambda: stores.run(scale.rounds, scale.in_memory),
        "growth": lambda: growth.run(scale.growth_rounds, scale.growth_requests),
        "memory": footprint.memory,
        "import_time": lambda: footprint.import_time(scale.import_runs),
        "hot_path": hotpath.run,
        "telemetry": lambda: telemetry.run(scale.rounds, scale.in_memory),
    }
    took = results["meta"]["section_seconds"] = {}
    for name, section in sections.items():
        print(f"benchmarks: {name} …", flush=True)
        begun = time.monotonic()
        results[name] = section()
        took[name] = round(time.monotonic() - begun, 1)
    results["meta"]["seconds"] = round(time.monotonic() - started, 1)
    report.write(results, RESULTS, DOCUMENT)
    print("\n".join(report.summary(results)))
    print(f"benchmarks: {time.monotonic() - started:.0f} s; wrote {RESULTS} and {DOCUMENT}")
    return 0


def _meta(scale: Scale) -> dict[str, Any]:
    left_out = clients.missing()
    return {
        "timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "load_average": [round(load, 2) for load in os.getloadavg()],
        "quick": scale == QUICK,
        "versions": {
            **{name: metadata.version(name) for name in LIBRARIES if name not in left_out},
            # what requests imports: urllib3-future when its wheel took urllib3's place,
            # though urllib3's metadata is still there and names urllib3's own version
            "urllib3": urllib3_version,
        },
        "left_out": left_out,
    }


if __name__ == "__main__":
    raise SystemExit(main())
