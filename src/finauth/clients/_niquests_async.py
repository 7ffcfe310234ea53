"""The niquests AsyncSession adapter (being written)."""

from __future__ import annotations

from typing import Any


class AsyncRequestsAuth:
    def __init__(self, auth: Any) -> None:
        self._auth = auth
