"""FileTokenStore: tokens in files, shared by the processes of one machine."""

from __future__ import annotations

import logging
import os
import re
import tempfile
from contextlib import suppress
from pathlib import Path

import filelock

from .._config import seconds
from .._errors import ConfigurationError
from .._token import Token
from .base import StoreLock, dump_token, load_token

logger = logging.getLogger("finauth")

_NAME = "FileTokenStore"
LOCK_POLL = 0.005
"""Seconds between tries for a lock another process holds: what a waiter loses, at most."""
_KEY = re.compile(r"[0-9A-Za-z_-]{1,128}")


class FileTokenStore:
    """One file per token under `path`, a directory, for CLI runs, pytest-xdist or gunicorn workers.

    Files are created 0600 and replaced atomically (a temporary file, fsync,
    rename), so a reader never sees half a token, whatever crashes. Each key has
    a lock file (`filelock`): one process at a time renews a token, and the lock
    of a process that dies is freed by the operating system.

    A file that cannot be read as a token is ignored with a warning; the next
    login replaces it. A failed write is logged too: the token still serves this
    process, and others log in for themselves.
    """

    def __init__(self, path: str | os.PathLike[str], *, lock_timeout: float = 30.0) -> None:
        self.path = Path(path).expanduser()
        self.lock_timeout = seconds(_NAME, "lock_timeout", lock_timeout, allow_zero=False)
        try:
            self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as error:
            raise _unusable(self.path, error.strerror or type(error).__name__) from None
        if not os.access(self.path, os.R_OK | os.W_OK | os.X_OK):
            raise _unusable(self.path, "it cannot be read and written by this user")

    def get(self, key: str) -> Token | None:
        file = self._file(key, ".json")
        try:
            data = file.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as error:
            logger.warning(
                "%s: cannot read %s (%s); logging in instead", _NAME, file, error.strerror
            )
            return None
        try:
            return load_token(data)
        except ValueError:
            logger.warning(
                "%s: %s is not a whole token (corrupt or truncated); ignoring it, "
                "the next login replaces it",
                _NAME,
                file,
            )
            return None

    def set(self, key: str, token: Token) -> None:
        file = self._file(key, ".json")
        try:
            _replace(file, dump_token(token))
        except OSError as error:
            logger.warning(
                "%s: cannot write %s (%s); the token serves this process only",
                _NAME,
                file,
                error.strerror,
            )

    def delete(self, key: str) -> None:
        file = self._file(key, ".json")
        try:
            file.unlink(missing_ok=True)
        except OSError as error:
            logger.warning("%s: cannot remove %s (%s)", _NAME, file, error.strerror)

    def lock(self, key: str) -> StoreLock:
        return _FileLock(self._file(key, ".lock"), self.lock_timeout)

    def _file(self, key: str, suffix: str) -> Path:
        if not _KEY.fullmatch(key):
            raise ConfigurationError(
                f"{_NAME}: a key is 1 to 128 letters, digits, '-' or '_'; got {len(key)} "
                "other characters. Keys come from finauth.stores.token_key"
            )
        return self.path / f"{key}{suffix}"

    def __repr__(self) -> str:
        return f"{_NAME}({str(self.path)!r})"


class _FileLock:
    """A `filelock.FileLock` any thread may release, as the flow's worlds need."""

    def __init__(self, file: Path, timeout: float) -> None:
        self._lock = filelock.FileLock(file, mode=0o600, thread_local=False)
        self._timeout = timeout

    def acquire(self) -> bool:
        try:
            self._lock.acquire(timeout=self._timeout, poll_interval=LOCK_POLL)
        except filelock.Timeout:
            return False
        return True

    def release(self) -> None:
        self._lock.release()


def _replace(file: Path, data: bytes) -> None:
    """Write `file` whole or not at all: a 0600 temporary file, synced, renamed over it."""
    descriptor, temporary = tempfile.mkstemp(dir=file.parent, prefix=f".{file.name}.")
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, file)
    except BaseException:
        with suppress(OSError):
            os.unlink(temporary)
        raise
    _sync_directory(file.parent)


def _sync_directory(directory: Path) -> None:
    """Make the rename itself durable; not every platform can open a directory (Windows)."""
    with suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _unusable(path: Path, reason: str) -> ConfigurationError:
    return ConfigurationError(
        f"{_NAME}: cannot keep tokens in {str(path)!r}: {reason}; "
        "pass a directory this user can create or write"
    )
