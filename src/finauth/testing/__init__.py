"""Offline stand-ins for the providers' auth, for tests, the demo and the sandbox.

Each emulator is one request -> response function (`Emulator.handle`), served
in-process (`httpx_transport()`, `requests_adapter()`), over loopback HTTP
(`EmulatorServer`), or as a `Stub` that every client finauth works with reaches at
the provider's own URL (what the pytest plugin's fixtures are; `open_stub` makes
one for a fixture of your own, of any scope).

An emulator of your own provider subclasses `Emulator` (see docs/custom-provider.md);
`finauth.pytest_plugin.stub_fixture` makes a pytest fixture of it.
"""

from ._catalog import EMULATORS
from ._emulator import AuthEndpoint, AuthKind, Call, Emulator, Reply, UnmatchedRequest, json_fields
from ._server import EmulatorServer
from .fincrux import FincruxEmulator
from .finhub import FinHubEmulator
from .finvera import FinveraEmulator
from .stub import Stub, open_stub

__all__ = [
    "EMULATORS",
    "AuthEndpoint",
    "AuthKind",
    "Call",
    "Emulator",
    "EmulatorServer",
    "FinHubEmulator",
    "FincruxEmulator",
    "FinveraEmulator",
    "Reply",
    "Stub",
    "UnmatchedRequest",
    "json_fields",
    "open_stub",
]
