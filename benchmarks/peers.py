"""The peers, each set up for a password grant as its documentation shows.

httpx-auth's `OAuth2ResourceOwnerPasswordCredentials` is an `httpx.Auth` that
fetches tokens with an `httpx.Client` of its own (given one reaching the site,
as a user behind a proxy would), into a token cache shared by the process.
authlib's `OAuth2Session` and `OAuth2Client` are the client: a requests.Session
or httpx.Client subclass that refreshes before each request; the first token is
fetched by hand, as its documentation does. authlib 1.9 builds its httpx clients
on httpx2 when that is installed (`AUTHLIB_PACKAGE`), so they are then compared
with httpx2's rows.
"""

from __future__ import annotations

import warnings
from contextlib import AsyncExitStack, ExitStack
from typing import Any

import authlib.deprecate
import httpx
import requests
from httpx_auth import OAuth2, OAuth2ResourceOwnerPasswordCredentials

from .emulator import Site

with warnings.catch_warnings():
    # authlib 1.9 prefers httpx's fork httpx2 and warns when it falls back on httpx, as
    # it does here where httpx2 is missing: it works all the same.
    warnings.simplefilter("ignore", authlib.deprecate.AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuth2Client
from authlib.integrations.requests_client import OAuth2Session

HTTPX_AUTH = "httpx-auth"
AUTHLIB = "authlib"
AUTHLIB_PACKAGE = "httpx" if issubclass(OAuth2Client, httpx.Client) else "httpx2"
"""What authlib's OAuth2Client and AsyncOAuth2Client subclass: httpx2's, when installed."""


def httpx_auth(site: Site, stack: ExitStack | AsyncExitStack, margin: float) -> httpx.Auth:
    """httpx-auth's password grant, renewing `margin` seconds before expiry.

    Its token cache is process-wide, keyed by token URL and credentials: emptied
    here, since each site has an emulator of its own, whose tokens only it accepts.
    """
    OAuth2.token_cache.clear()
    token_client = stack.enter_context(httpx.Client(**site.httpx_options()))
    auth: httpx.Auth = OAuth2ResourceOwnerPasswordCredentials(
        site.token_url,
        site.emulator.email,
        site.emulator.password,
        client=token_client,
        early_expiry=margin,
    )
    return auth


def authlib_session(site: Site, stack: ExitStack, margin: float) -> requests.Session:
    """authlib's requests.Session, its first token fetched."""
    oauth = OAuth2Session(token_endpoint=site.token_url, leeway=margin)
    site.reach(oauth)
    oauth.fetch_token(site.token_url, username=site.emulator.email, password=site.emulator.password)
    session: requests.Session = stack.enter_context(oauth)
    return session


def authlib_client(site: Site, stack: ExitStack, margin: float) -> Any:
    """authlib's Client (httpx's or httpx2's), its first token fetched."""
    oauth = OAuth2Client(
        token_endpoint=site.token_url, leeway=margin, **site.httpx_options(AUTHLIB_PACKAGE)
    )
    oauth.fetch_token(site.token_url, username=site.emulator.email, password=site.emulator.password)
    stack.callback(oauth.close)  # opened by fetch_token: too late to enter it
    return oauth


async def authlib_async_client(site: Site, stack: AsyncExitStack, margin: float) -> Any:
    """authlib's AsyncClient (httpx's or httpx2's), its first token fetched."""
    oauth = AsyncOAuth2Client(
        token_endpoint=site.token_url, leeway=margin, **site.httpx_options(AUTHLIB_PACKAGE)
    )
    await oauth.fetch_token(
        site.token_url, username=site.emulator.email, password=site.emulator.password
    )
    stack.push_async_callback(oauth.aclose)
    return oauth
