"""FileTokenStore: tokens in files, shared by the processes of one machine."""

from __future__ import annotations

import logging
import os
import re
import stat
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path

from .._config import seconds
from .._errors import ConfigurationError
from .._token import Token
from .base import StoreLock, dump_token, load_token
from .sealing import EncryptionKey, sealer_for

logger = logging.getLogger("finauth")

_NAME = "FileTokenStore"
LOCK_POLL = 0.005
"""Seconds between tries for a lock another process holds: what a waiter loses, at most."""
_KEY = re.compile(r"[0-9A-Za-z_-]{1,128}")
_SAFE_OPEN = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_BINARY", 0)
)
"""Never through a symlink, never waiting for a writer at a FIFO."""
_NOT_FILES = (
    (stat.S_ISLNK, "a symbolic link"),
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
)


class FileTokenStore:
    """One file per token under `path`, a directory, for CLI runs, pytest-xdist or gunicorn workers.

    Files are created 0600 and replaced atomically (a temporary file, fsync,
    rename), so a reader never sees half a token, whatever crashes. Each key has
    a lock file (`filelock`): one process at a time renews a token, and the lock
    of a process that dies is freed by the operating system.

    The store trusts nothing it did not make: its directory must be this user's
    and writable by no one else, and a token or lock path that is not a regular
    file of this user's (a symlink, a FIFO, a directory, another user's file) is
    never followed nor waited on: it is ignored with a warning and replaced.

    With `encryption_key` (a Fernet key, or a sequence of them: the first seals,
    all open) no token is written in plain text. A file that cannot be read as a
    token (corrupt, or sealed with another key or none) is ignored with a
    warning; the next login replaces it. A failed write is logged too: the token
    still serves this process, and others log in for themselves.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        lock_timeout: float = 30.0,
        encryption_key: EncryptionKey | Sequence[EncryptionKey] | None = None,
    ) -> None:
        self.path = Path(path).expanduser()
        self.lock_timeout = seconds(_NAME, "lock_timeout", lock_timeout, allow_zero=False)
        self._sealer = sealer_for(_NAME, encryption_key)
        try:
            _make_private_directory(self.path)
            _check_directory(self.path)
        except OSError as error:
            raise _unusable(self.path, error.strerror or type(error).__name__) from None

    def get(self, key: str) -> Token | None:
        file = self._file(key, ".json")
        try:
            data = _read_own(file)
        except FileNotFoundError:
            return None
        except _Untrusted as untrusted:
            logger.warning(
                "%s: cannot read %s: it is %s, not a file of this user's; ignoring it, "
                "the next login replaces it",
                _NAME,
                file,
                untrusted,
            )
            return None
        except OSError as error:
            logger.warning(
                "%s: cannot read %s (%s); logging in instead", _NAME, file, error.strerror
            )
            return None
        try:
            return load_token(data, self._sealer)
        except ValueError:
            logger.warning(
                "%s: %s is not a whole token (corrupt or truncated), or is sealed with another "
                "key or none; ignoring it, the next login replaces it",
                _NAME,
                file,
            )
            return None

    def set(self, key: str, token: Token) -> None:
        file = self._file(key, ".json")
        try:
            _replace(file, dump_token(token, self._sealer))
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
    """A `filelock.FileLock` any thread may release, as the flow's worlds need.

    A lock file that cannot be made safe (or locked at all) counts as taken,
    after a warning: this process then goes ahead alone, as with Redis down.
    """

    def __init__(self, file: Path, timeout: float) -> None:
        import filelock  # on first use: an import of finauth stays cheap

        self._file = file
        self._lock = filelock.FileLock(file, mode=0o600, thread_local=False)
        self._timed_out = filelock.Timeout
        self._timeout = timeout
        self._held = False

    def acquire(self) -> bool:
        try:
            _make_lock_file_safe(self._file)
            self._lock.acquire(timeout=self._timeout, poll_interval=LOCK_POLL)
        except self._timed_out:
            return False
        except OSError as error:
            logger.warning(
                "%s: cannot lock %s (%s); going ahead without the other processes",
                _NAME,
                self._file,
                error.strerror or type(error).__name__,
            )
            return True
        self._held = True
        return True

    def release(self) -> None:
        if self._held:
            self._held = False
            self._lock.release()


class _Untrusted(Exception):
    """A path that holds something other than a regular file of this user's; says what."""


def _make_lock_file_safe(file: Path) -> None:
    """Replace whatever untrusted entry sits at `file` by an empty file of ours, before
    `filelock` opens it (which, since 3.20.1, never follows a symlink either)."""
    try:
        os.close(_open_own(file))
    except FileNotFoundError:
        return
    except _Untrusted as untrusted:
        logger.warning(
            "%s: %s is %s, not a file of this user's; replacing it", _NAME, file, untrusted
        )
        _replace(file, b"")


def _read_own(file: Path) -> bytes:
    """The bytes of `file`, read only if it is a regular file of this user's."""
    with os.fdopen(_open_own(file), "rb") as opened:
        return opened.read()


def _open_own(file: Path) -> int:
    """A descriptor of `file` if it is a regular file of this user's; FileNotFoundError
    when nothing is there, _Untrusted saying what is there instead. Never follows a
    symlink, never blocks on a FIFO."""
    try:
        descriptor = os.open(file, _SAFE_OPEN)
    except OSError:
        problem = _problem(os.lstat(file))  # FileNotFoundError again when nothing is there
        if problem is None:
            raise
        raise _Untrusted(problem) from None
    problem = _problem(os.fstat(descriptor))
    if problem is not None:
        os.close(descriptor)
        raise _Untrusted(problem)
    return descriptor


def _problem(status: os.stat_result) -> str | None:
    """What is wrong with an entry for a store to trust it; None for a file of this user's."""
    for test, kind in _NOT_FILES:
        if test(status.st_mode):
            return kind
    if not stat.S_ISREG(status.st_mode):
        return "not a regular file"
    uid = _uid()
    if uid is not None and status.st_uid != uid:
        return f"owned by uid {status.st_uid}"
    return None


def _uid() -> int | None:
    """This user, whose files the store trusts; None where files have no owner to check."""
    return os.geteuid() if hasattr(os, "geteuid") else None


def _make_private_directory(directory: Path) -> None:
    """Make `directory` and its missing parents 0700, whatever the umask: mkdir's mode
    is masked by it, and Path.mkdir(parents=True) gives parents the umask's default."""
    if directory.is_dir():
        return
    _make_private_directory(directory.parent)
    try:
        os.mkdir(directory, 0o700)
    except FileExistsError:
        return  # made meanwhile, or not a directory: _check_directory tells which
    os.chmod(directory, 0o700)


def _check_directory(directory: Path) -> None:
    """Refuse a directory whose token files someone else could read, plant or replace."""
    status = directory.stat()
    if not stat.S_ISDIR(status.st_mode):
        raise _unusable(directory, "it is not a directory")
    uid = _uid()
    if uid is not None and status.st_uid != uid:
        raise ConfigurationError(
            f"{_NAME}: {str(directory)!r} belongs to uid {status.st_uid}, not to this user "
            f"(uid {uid}), who could read or plant tokens there; pass a directory of your own"
        )
    if uid is not None and status.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise ConfigurationError(
            f"{_NAME}: {str(directory)!r} is writable by group or others "
            f"(mode {stat.S_IMODE(status.st_mode):04o}), who could plant or replace tokens "
            f"there; run chmod 700 on it, or pass a private directory"
        )
    if not os.access(directory, os.R_OK | os.W_OK | os.X_OK):
        raise _unusable(directory, "it cannot be read and written by this user")


def _replace(file: Path, data: bytes) -> None:
    """Write `file` whole or not at all: a 0600 temporary file, synced, renamed over it.

    The rename replaces a symlink or FIFO itself, never what it points to; an empty
    directory in the way is removed first (one with entries is left, and the write fails).
    """
    import tempfile  # on first use: an import of finauth stays cheap

    descriptor, temporary = tempfile.mkstemp(dir=file.parent, prefix=f".{file.name}.")
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        try:
            os.replace(temporary, file)
        except IsADirectoryError:
            os.rmdir(file)
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
