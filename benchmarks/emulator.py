"""The benchmarks' provider: Fincrux, plus what the peers need, served in memory or over loopback.

The peers speak OAuth2, not Fincrux: `BenchEmulator` adds an RFC 6749 token
endpoint (password and refresh_token grants) and accepts `Authorization: Bearer`
beside Fincrux's `JWT`. A `Site` is where a workload's requests go: the
emulator in memory, the same behind a memo (`Memo`: the timed endpoint answered
at once for a credential the emulator already accepted, so that what is timed
is the client and its auth alone), or over loopback HTTP.
"""

from __future__ import annotations

import importlib
import io
import json
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import AsyncExitStack, ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import requests
from requests.adapters import HTTPAdapter
from urllib3 import HTTPResponse

from finauth import FincruxJWTAuth
from finauth.testing import Call, EmulatorServer, FincruxEmulator, Reply
from finauth.testing.fincrux import SEARCH_PATH

API_PATH = SEARCH_PATH
"""The protected endpoint every timed request goes to."""
OAUTH_TOKEN_PATH = "/oauth/token"
FORGET_PATH = "/bench/forget"
"""Where a served emulator is told to forget the calls it recorded (`Site.forget`)."""
PRODUCTION_LIKE_URL = "https://api.fincrux.org"
"""The base URL of the in-memory workloads: https, as a real client would use."""


class BenchEmulator(FincruxEmulator):
    """Fincrux's emulator with an OAuth2 token endpoint and Bearer tokens, for the peers.

    Refresh tokens are not rotated by the OAuth2 endpoint (RFC 6749 allows either),
    so peers that refresh concurrently all succeed and a storm's count is theirs alone.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.grants: Counter[str] = Counter()
        """OAuth2 token requests received, by grant_type."""
        self.handle_route("POST", OAUTH_TOKEN_PATH, self._token)
        self.handle_route("POST", FORGET_PATH, self._forget)

    @property
    def token_calls(self) -> int:
        """Every login, refresh and OAuth2 grant received so far."""
        return self.logins + self.refreshes + sum(self.grants.values())

    def authorized(self, call: Call) -> bool:
        scheme, _, token = call.headers.get("Authorization", "").partition(" ")
        if scheme == "Bearer":
            return self.verify(token, "access") is not None
        return super().authorized(call)

    def _forget(self, call: Call) -> Reply:
        self.calls.clear()
        return Reply.json({})

    def _token(self, call: Call) -> Reply:
        form = dict(parse_qsl(call.body.decode()))
        grant = form.get("grant_type", "")
        self.grants[grant] += 1
        if grant == "password" and (form.get("username"), form.get("password")) == (
            self.email,
            self.password,
        ):
            refresh = self.issue("refresh", user_id=1)
        elif grant == "refresh_token" and self.verify(form.get("refresh_token", ""), "refresh"):
            refresh = form["refresh_token"]
        else:
            return Reply.json({"error": "invalid_grant"}, 400)
        return Reply.json(
            {
                "access_token": self.issue("access", user_id=1),
                "token_type": "Bearer",
                "expires_in": int(self.token_ttl),
                "refresh_token": refresh,
            }
        )


class Memo:
    """The timed endpoint's answers memoized per credential: a bare in-memory transport.

    The first request carrying a given `Authorization` value goes to the emulator;
    once that was answered 200, the same value gets the same answer at once, with
    no JWT check and no bookkeeping. Tokens live an hour, longer than any workload
    that uses this, so the memo never lies.
    """

    def __init__(self, emulator: BenchEmulator) -> None:
        self.emulator = emulator
        self._accepted: set[str] = set()
        self._delegate = emulator.httpx_transport().handler
        self._body = json.dumps({"ok": True, "path": API_PATH}).encode()

    def httpx_transport(self, library: Any) -> Any:
        """For the Client and AsyncClient of `library`, httpx or httpx2, alike."""

        def handle(request: Any) -> Any:
            authorization = request.headers.get("Authorization")
            if self.known(request.url.path, authorization):
                return library.Response(200, headers=_JSON, content=self._body)
            response = self._delegate(request)
            assert isinstance(response, httpx.Response)
            self.learn(request.url.path, authorization, response.status_code)
            return _rebuilt(library, response)

        return library.MockTransport(handle)

    def requests_adapter(self) -> HTTPAdapter:
        return _Adapter(self)

    def known(self, path: str, authorization: str | None) -> bool:
        return path == API_PATH and authorization in self._accepted

    def learn(self, path: str, authorization: str | None, status: int) -> None:
        if path == API_PATH and authorization is not None and status == 200:
            self._accepted.add(authorization)

    def reply(self) -> HTTPResponse:
        """The memoized answer, as urllib3 gives it to requests.

        Built here, lean, rather than by finauth.testing's `_urllib3_response`: the bare
        workload times little but the client and its auth, and that one's cookie
        plumbing (a parsed header message per answer) would be timed too.
        """
        return HTTPResponse(
            body=io.BytesIO(self._body),
            headers={**dict(_JSON), "Content-Length": str(len(self._body))},
            status=200,
            reason="OK",
            version=11,
            preload_content=False,
        )


_JSON = (("Content-Type", "application/json"),)


def _served(library: Any, handler: Callable[[httpx.Request], Any]) -> Any:
    """The emulator's httpx handler as `library`'s MockTransport."""

    def handle(request: Any) -> Any:
        response = handler(request)
        assert isinstance(response, httpx.Response)
        return _rebuilt(library, response)

    return library.MockTransport(handle)


def _rebuilt(library: Any, response: httpx.Response) -> Any:
    """The emulator's httpx answer as `library` answers: itself for httpx, rebuilt for httpx2.

    The emulator reads an httpx2 request as it reads httpx's: the two share their API.
    """
    if library is httpx:
        return response
    return library.Response(
        response.status_code, headers=response.headers.multi_items(), content=response.content
    )


class _Adapter(HTTPAdapter):
    """requests' side of `Memo`: the emulator's own adapter behind the memo."""

    def __init__(self, memo: Memo) -> None:
        super().__init__()
        self._memo = memo
        self._delegate = memo.emulator.requests_adapter()

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        path = urlsplit(request.url or "").path
        authorization = request.headers.get("Authorization")
        if self._memo.known(path, authorization):
            return self.build_response(request, self._memo.reply())
        response: requests.Response = self._delegate.send(
            request, stream, timeout, verify, cert, proxies
        )
        self._memo.learn(path, authorization, response.status_code)
        return response


IN_MEMORY = "in memory"
"""The emulator's own in-memory transports: it checks each request's JWT, as a server would."""
BARE = "in memory, bare"
"""`Memo`: the client and its auth, with next to nothing behind them."""
LOOPBACK = "loopback"
"""HTTP/1.1 over 127.0.0.1 to an `EmulatorServer`, connections kept alive."""
LOOPBACK_POOL = 64
"""Connections a requests.Session keeps to the loopback server: one per thread of a storm,
as a user sharing a session among that many would set it, so that urllib3 discards
none (warning each time, which the storms would count)."""


@dataclass
class Site:
    """Where a workload's requests go, and how every client reaches it."""

    emulator: BenchEmulator
    base_url: str
    where: str
    """IN_MEMORY, BARE or LOOPBACK."""

    def __post_init__(self) -> None:
        self._memo = Memo(self.emulator) if self.where == BARE else None

    @property
    def url(self) -> str:
        return self.base_url + API_PATH

    @property
    def token_url(self) -> str:
        return self.base_url + OAUTH_TOKEN_PATH

    def reach(self, session: requests.Session) -> requests.Session:
        """`session`, reaching the site and ignoring the environment.

        Without `trust_env`, requests skips its per-request .netrc and proxy
        look-ups, which would pad the baseline as much as any auth.
        """
        session.trust_env = False
        if self._memo is not None:
            session.mount(self.base_url, self._memo.requests_adapter())
        elif self.where == IN_MEMORY:
            session.mount(self.base_url, self.emulator.requests_adapter())
        else:
            session.mount(self.base_url, HTTPAdapter(pool_maxsize=LOOPBACK_POOL))
        return session

    def httpx_options(self, package: str = "httpx") -> dict[str, Any]:
        """Keyword arguments for the Client or AsyncClient of `package`, httpx or httpx2,
        reaching the site."""
        library = importlib.import_module(package)
        if self._memo is not None:
            return {"trust_env": False, "transport": self._memo.httpx_transport(library)}
        if self.where == IN_MEMORY:
            transport = _served(library, self.emulator.httpx_transport().handler)
            return {"trust_env": False, "transport": transport}
        return {"trust_env": False}

    def finauth(self, stack: ExitStack | AsyncExitStack, **options: Any) -> FincruxJWTAuth:
        """finauth for the emulator's account, closed with `stack`."""
        login_session = stack.enter_context(self.reach(requests.Session()))
        auth = FincruxJWTAuth(
            self.emulator.email,
            self.emulator.password,
            base_url=self.base_url,
            session=login_session,
            **options,
        )
        return stack.enter_context(auth)

    def forget(self) -> None:
        """Have the emulator forget the calls it recorded, between rounds: a list that grew
        for a whole run would weigh on each collection of the process that holds it."""
        if self.where == LOOPBACK:
            with self.reach(requests.Session()) as session:  # no proxy from the environment
                session.post(self.base_url + FORGET_PATH, timeout=10).raise_for_status()
        else:
            self.emulator.calls.clear()

    def static_header(self) -> dict[str, str]:
        """A valid `Authorization` header for the baseline, from a login made for it."""
        with ExitStack() as stack:
            token = self.finauth(stack).login()
        return {"Authorization": f"JWT {token.access_token}"}


@contextmanager
def served_apart() -> Iterator[str]:
    """The base URL of a `BenchEmulator` served over loopback by an interpreter of its own,
    stopped on leaving. A server's handler threads in the client's process would take
    turns at its GIL with the client being timed, as no real server's do.

    A `Site` for it takes a `BenchEmulator` of its own, which names the account and serves
    nothing: both have the same.
    """
    command = [sys.executable, "-m", __name__]
    repository = Path(__file__).parents[1]
    with subprocess.Popen(  # noqa: S603 (this interpreter, fixed arguments)
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=repository
    ) as server:
        assert server.stdin is not None
        assert server.stdout is not None
        try:
            base_url = server.stdout.readline().strip()
            if not base_url:
                raise RuntimeError(f"the emulator's server ended with {server.wait()}")
            yield base_url
        finally:
            server.stdin.close()  # which ends it
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                raise


if __name__ == "__main__":
    with EmulatorServer(BenchEmulator()) as served:
        print(served.base_url, flush=True)
        sys.stdin.read()
