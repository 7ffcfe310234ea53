"""What each client raises for each network fault, for the tests that cause them."""

from __future__ import annotations

import asyncio
import importlib

import httpx
import requests

from conftest import Rig

NETWORK_ERRORS: dict[str, dict[str, type[Exception] | str | None]] = {
    "reset-before-answer": {
        "requests": requests.exceptions.ConnectionError,
        "niquests": "niquests.exceptions.ConnectionError",
        "httpx": httpx.ReadError,
        "httpx2": "httpx2.ReadError",
        # aiohttp sends a request once more itself when a connection it reused is
        # dropped before any answer (its keep-alive may have outlived the server's)
        "aiohttp": None,
    },
    "reset-midway": {
        "requests": requests.exceptions.ChunkedEncodingError,
        "niquests": "niquests.exceptions.ChunkedEncodingError",
        "httpx": httpx.ReadError,
        "httpx2": "httpx2.ReadError",
        "aiohttp": "aiohttp.ClientPayloadError",
    },
    "stall": {
        "requests": requests.exceptions.ReadTimeout,
        "niquests": "niquests.exceptions.ReadTimeout",
        "httpx": httpx.ReadTimeout,
        "httpx2": "httpx2.ReadTimeout",
        "aiohttp": asyncio.TimeoutError,
    },
    "trickle": {
        "requests": requests.exceptions.ReadTimeout,
        "niquests": "niquests.exceptions.ReadTimeout",
        "httpx": httpx.ReadTimeout,
        "httpx2": "httpx2.ReadTimeout",
        "aiohttp": asyncio.TimeoutError,
    },
    "refused": {
        "requests": requests.exceptions.ConnectionError,
        "niquests": "niquests.exceptions.ConnectionError",
        "httpx": httpx.ConnectError,
        "httpx2": "httpx2.ConnectError",
        "aiohttp": "aiohttp.ClientConnectorError",
    },
}
"""What each client raises for each fault, by the package it comes from (by name for the
clients finauth does not depend on: tests-lowest and the main run have none of niquests)."""


def network_error(rig: Rig, fault: str) -> type[Exception] | None:
    """What this client raises for `fault` on any request of its own (None: nothing, for
    it sends the request once more itself)."""
    error = NETWORK_ERRORS[fault][rig.package]
    if isinstance(error, str):
        module, _, name = error.rpartition(".")
        error = getattr(importlib.import_module(module), name)
    assert error is None or isinstance(error, type)
    return error
