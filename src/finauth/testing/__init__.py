"""Offline stand-ins for the providers' auth, for tests, the demo and the sandbox.

Each emulator is one request -> response function (`Emulator.handle`), served
in-process (`httpx_transport()`, `requests_adapter()`) or over loopback HTTP
(`EmulatorServer`).
"""

from ._emulator import Call, Emulator, Reply
from ._server import EmulatorServer
from .fincrux import FincruxEmulator

__all__ = ["Call", "Emulator", "EmulatorServer", "FincruxEmulator", "Reply"]
