"""Offline stand-ins for the providers' auth, for tests, the demo and the sandbox.

Each emulator is one request -> response function (`Emulator.handle`), served
in-process (`httpx_transport()`, `requests_adapter()`) or over loopback HTTP
(`EmulatorServer`).
"""

from ._emulator import Call, Emulator, Reply
from ._server import EmulatorServer
from .fincrux import FincruxEmulator
from .finhub import FinHubEmulator
from .finvera import FinveraEmulator

EMULATORS: tuple[type[Emulator], ...] = (FincruxEmulator, FinveraEmulator, FinHubEmulator)

__all__ = [
    "EMULATORS",
    "Call",
    "Emulator",
    "EmulatorServer",
    "FinHubEmulator",
    "FincruxEmulator",
    "FinveraEmulator",
    "Reply",
]
