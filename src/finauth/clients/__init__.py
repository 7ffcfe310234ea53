"""The client adapters: one per client family, each translating between its client's
requests and responses and the flow's neutral steps (`finauth._flow`).

requests and niquests share `_requests`, httpx and httpx2 share `_httpx` (and
`_detached`, for renewals that outlive a cancelled asyncio caller), aiohttp has
`_aiohttp`. None of the optional clients is imported before it is used.
"""

from __future__ import annotations

import sys
from typing import Any


def library_of(thing: object) -> Any:
    """The package `thing`'s class comes from: requests or niquests, httpx or httpx2."""
    return sys.modules[type(thing).__module__.partition(".")[0]]
