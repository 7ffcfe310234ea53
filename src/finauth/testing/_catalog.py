"""Every provider's emulator, in one place."""

from __future__ import annotations

from ._emulator import Emulator
from .fincrux import FincruxEmulator
from .finhub import FinHubEmulator
from .finvera import FinveraEmulator

EMULATORS: tuple[type[Emulator], ...] = (FincruxEmulator, FinveraEmulator, FinHubEmulator)
"""The emulator of each built-in provider: what `open_stub` and the sandbox serve."""
