"""The client adapters: one per client family, each translating between its client's
requests and responses and the flow's neutral steps (`finauth._flow`).

requests and niquests share `_requests`, httpx and httpx2 share `_httpx` (and
`_detached`, for renewals that outlive a cancelled asyncio caller), aiohttp has
`_aiohttp`. None of the optional clients is imported before it is used.
"""

from __future__ import annotations

import sys
from functools import cache
from typing import Any


def library_of(thing: object) -> Any:
    """The package `thing`'s class comes from: requests or niquests, httpx or httpx2."""
    return _library_of_module(type(thing).__module__)


@cache
def _library_of_module(module: str) -> Any:
    """Looked up once per module, not per request: a handful of modules ask."""
    return sys.modules[module.partition(".")[0]]
