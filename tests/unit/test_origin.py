"""`parse_base_url` (R8, R11, R17) and `origin_of` (R1)."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest
import requests
from hypothesis import example, given
from hypothesis import strategies as st

from finauth import ConfigurationError, FinauthError, InsecureTransportError, _origin
from finauth._origin import (
    BaseURL,
    Origin,
    _cached_origin,
    _parsed_origin,
    is_loopback,
    origin_of,
    parse_base_url,
)


def parse(url: object, *, allow_insecure: bool = False) -> BaseURL:
    return parse_base_url(url, provider="Acme", allow_insecure=allow_insecure)  # type: ignore[arg-type]


# --- R8: what is no base_url at all ------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param(None, id="none"),
        pytest.param(b"https://api.example.com", id="bytes"),
        pytest.param(42, id="int"),
        pytest.param("api.example.com", id="no-scheme"),
        pytest.param("https://", id="no-host"),
        pytest.param("https:///v1", id="no-host-with-path"),
        pytest.param("ftp://api.example.com", id="ftp"),
        pytest.param("ws://api.example.com", id="websocket"),
        pytest.param("file:///etc/passwd", id="file"),
        pytest.param("https://api.example.com/?x=1", id="query"),
        pytest.param("https://api.example.com/#top", id="fragment"),
        pytest.param("https://api.example.com:abc", id="port-not-a-number"),
        pytest.param("https://api.example.com:99999", id="port-out-of-range"),
        pytest.param("https://api.example.com:-1", id="port-negative"),
        pytest.param("https://[::1", id="unclosed-bracket"),
    ],
)
def test_unusable_base_url_is_a_configuration_error(url: object) -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse(url, allow_insecure=True)
    assert type(caught.value) is ConfigurationError
    assert caught.value.provider == "Acme"
    assert str(caught.value).startswith("Acme: ")
    assert "base_url" in str(caught.value)


def test_empty_query_mark_is_tolerated() -> None:
    """`https://host?` has an empty query: nothing to reject, nothing to keep."""
    assert parse("https://api.example.com?").url == "https://api.example.com"


def test_port_zero_is_rejected() -> None:
    """No service listens on port 0; and `origin_of` treats :0 as the default port, so a
    base_url with :0 would log in at :0 yet scope credentials to :443 (R1)."""
    with pytest.raises(ConfigurationError):
        parse("https://api.example.com:0")


@pytest.mark.parametrize(
    "url",
    [
        "https://alice:hunter2-PASSWORD@api.example.com",
        "https://:hunter2-PASSWORD@api.example.com/v1",
        "http://alice:hunter2-PASSWORD@localhost:8000",
        "https://hunter2-PASSWORD@api.example.com",
        "https://alice:hunter2-PASSWORD@api.example.com:notaport",
        "ftp://alice:hunter2-PASSWORD@api.example.com",
    ],
)
def test_userinfo_is_rejected_without_repeating_it(url: str) -> None:
    """R8 + R10: a URL with a password in it is itself a secret."""
    with pytest.raises(ConfigurationError) as caught:
        parse(url)
    assert "hunter2-PASSWORD" not in str(caught.value)
    assert "alice" not in str(caught.value)
    assert "user name or password" in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://api.example.com/?api_key=SECRET-KEY-123",
        "https://api.example.com/v1#api_key=SECRET-KEY-123",
        "ftp://api.example.com/?api_key=SECRET-KEY-123",
        "https://api.example.com:99999/?api_key=SECRET-KEY-123",
        "http://api.example.com/?api_key=SECRET-KEY-123",
    ],
)
def test_errors_do_not_repeat_a_query(url: str) -> None:
    """R10: Fincrux API keys travel in the query; a base_url pasted with one must not leak."""
    with pytest.raises(ConfigurationError) as caught:
        parse(url)
    assert "SECRET-KEY-123" not in str(caught.value)


# --- R11: https only, save loopback ------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://api.example.com",
        "http://API.EXAMPLE.COM:8080/v1",
        "http://10.0.0.1",
        "http://192.168.1.10:8000",
        "http://[2001:db8::1]",
        "http://0.0.0.0:8000",
        "http://localhost.example.com",
        "http://128.0.0.1",
    ],
)
def test_plain_http_to_other_hosts_is_insecure(url: str) -> None:
    with pytest.raises(InsecureTransportError) as caught:
        parse(url)
    assert isinstance(caught.value, ConfigurationError)
    assert isinstance(caught.value, FinauthError)
    assert caught.value.provider == "Acme"
    message = str(caught.value)
    assert message.startswith("Acme: ")
    assert "https" in message
    assert "allow_insecure" in message


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        ("http://localhost", "http://localhost"),
        ("http://LOCALHOST:8000/", "http://localhost:8000"),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("http://127.5.6.7", "http://127.5.6.7"),
        ("http://127.255.255.254:1/x", "http://127.255.255.254:1/x"),
        ("http://[::1]", "http://[::1]"),
        ("http://[::1]:8080/p/", "http://[::1]:8080/p"),
    ],
)
def test_plain_http_to_loopback_is_allowed(url: str, normalised: str) -> None:
    assert parse(url).url == normalised


@pytest.mark.parametrize("url", ["http://api.example.com", "http://10.0.0.1:8000/v1"])
def test_allow_insecure_permits_plain_http(url: str) -> None:
    base = parse(url, allow_insecure=True)
    assert base.url == url
    assert base.origin.scheme == "http"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("127.0.0.1", True),
        ("127.5.6.7", True),
        ("::1", True),
        ("0:0:0:0:0:0:0:1", True),
        ("128.0.0.1", False),
        ("10.0.0.1", False),
        ("example.com", False),
        ("localhost.example.com", False),
        ("", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


# --- normalisation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "normalised", "origin"),
    [
        ("https://api.example.com", "https://api.example.com", ("https", "api.example.com", 443)),
        ("https://api.example.com/", "https://api.example.com", ("https", "api.example.com", 443)),
        (
            "https://api.example.com:443",
            "https://api.example.com",
            ("https", "api.example.com", 443),
        ),
        (
            "HTTPS://API.Example.COM:443/V1/",
            "https://api.example.com/V1",
            ("https", "api.example.com", 443),
        ),
        (
            "https://api.example.com:8443/gw/fincrux/",
            "https://api.example.com:8443/gw/fincrux",
            ("https", "api.example.com", 8443),
        ),
        (
            "  https://api.example.com/v1  ",
            "https://api.example.com/v1",
            ("https", "api.example.com", 443),
        ),
        ("http://localhost:80/", "http://localhost", ("http", "localhost", 80)),
        ("http://localhost:443", "http://localhost:443", ("http", "localhost", 443)),
        (
            "https://api.example.com:80",
            "https://api.example.com:80",
            ("https", "api.example.com", 80),
        ),
        (
            "https://[2001:DB8::1]:8443",
            "https://[2001:db8::1]:8443",
            ("https", "2001:db8::1", 8443),
        ),
    ],
)
def test_normalisation(url: str, normalised: str, origin: tuple[str, str, int]) -> None:
    base = parse(url)
    assert base.url == normalised
    assert base.origin == Origin(*origin)


def test_join_prefixes_endpoints_with_the_path() -> None:
    assert parse("https://gw.example.com/fincrux/").join("/api/auth/login") == (
        "https://gw.example.com/fincrux/api/auth/login"
    )
    assert parse("https://api.example.com").join("/api/auth/login") == (
        "https://api.example.com/api/auth/login"
    )


def test_a_path_does_not_narrow_the_origin() -> None:
    """R1: the path prefixes the auth endpoints, the origin is still the whole host."""
    assert parse("https://api.example.com/v1/").origin == origin_of("https://api.example.com/v2/x")


# --- R17: one origin, as requests and httpx see it --------------------------------------


@pytest.mark.parametrize(
    ("url", "named"),
    [
        # requests ends the host at a backslash, httpx and urlsplit do not
        pytest.param(
            "https://api.fincrux.test\\.evil.example/v1", "backslash", id="backslash-in-host"
        ),
        pytest.param(
            "https://evil.example\\@api.fincrux.test", "backslash", id="backslash-before-at"
        ),
        pytest.param("https://api.fincrux.test/v1\\x", "backslash", id="backslash-in-path"),
        # urlsplit drops tabs and newlines; the clients refuse or encode them
        pytest.param("https://api.fin crux.test", "whitespace", id="space"),
        pytest.param("https://api.fincrux.test\t/v1", "whitespace", id="tab"),
        pytest.param("https://api.\nfincrux.test", "whitespace", id="newline"),
        pytest.param("https://api.fincrux.test/\x00", "whitespace", id="nul"),
        pytest.param("https://api.fincrux.test\x7f", "whitespace", id="delete"),
        pytest.param("https://api.fincrux\u3000.test", "whitespace", id="ideographic-space"),
        pytest.param("https://api.fincrux.test/a\u00a0b", "whitespace", id="no-break-space"),
        pytest.param("https://api..fincrux.test", "empty label", id="empty-label"),
        pytest.param("https://.api.fincrux.test", "empty label", id="leading-dot"),
        pytest.param("https://api.fincrux.test./v1", "empty label", id="trailing-dot"),
        pytest.param("https://api!fincrux.test", "character other than", id="sub-delimiter"),
        pytest.param("https://api.fincru%78.test", "character other than", id="percent-encoded"),
        # the resolver reads these as numbers; httpx refuses some, requests none
        pytest.param("https://fincrux.127.1", "IPv4", id="ends-in-a-number"),
        pytest.param("https://127.1", "IPv4", id="short-ipv4"),
        pytest.param("https://0x7f.0.0.1", "IPv4", id="hex-ipv4"),
        pytest.param("https://127.0.0.01", "IPv4", id="ipv4-leading-zero"),
        pytest.param("https://256.0.0.1", "IPv4", id="ipv4-out-of-range"),
        pytest.param("https://2130706433", "IPv4", id="ipv4-as-one-number"),
        pytest.param("https://[fe80::1%25fincrux]", "IPv6", id="ipv6-zone"),
        pytest.param("https://[v1.fincrux]", "IPv6", id="ipvfuture"),
        pytest.param("https://[::1]fincrux:8443", "IPv6", id="after-the-bracket"),
        # IDNA: refused by a client, encoded differently by the two, or other than by UTS 46
        pytest.param(
            "https://\uff26\uff29\uff2e\uff23\uff32\uff35\uff38.test", "IDNA 2008", id="full-width"
        ),
        pytest.param("https://\ufb01ncrux.test", "IDNA 2008", id="ligature"),
        pytest.param("https://fincrux\u3002test", "IDNA 2008", id="ideographic-full-stop"),
        pytest.param("https://fin\u00adcrux.test", "IDNA 2008", id="soft-hyphen"),
        pytest.param(
            "https://fincrux.\u1e9e.\u03a3", "IDNA 2008", id="final-sigma-by-host-or-label"
        ),
        pytest.param(
            "https://fincrux.\u039f\u0394\u039f\u03a3", "IDNA 2008", id="final-sigma-or-uts46"
        ),
        pytest.param("https://fincrux.\u00e4_b.test", "IDNA 2008", id="underscore-beside-idn"),
        pytest.param("https://fincrux.xn--abc", "IDNA 2008", id="bad-a-label"),
        pytest.param("https://fincrux" + "\u00e4" * 250 + ".test", "IDNA 2008", id="too-long"),
    ],
)
def test_a_host_the_clients_would_read_differently_is_refused(url: str, named: str) -> None:
    """R17: a host that urlsplit, requests and httpx would not all send alike, or at all.

    The message names what is wrong, never the host: a URL may carry a secret.
    """
    with pytest.raises(ConfigurationError) as caught:
        parse(url, allow_insecure=True)
    assert type(caught.value) is ConfigurationError
    message = str(caught.value)
    assert message.startswith("Acme: base_url ")
    assert named in message
    assert "fincrux" not in message.lower()


@pytest.mark.parametrize(
    ("host", "encoded"),
    [
        ("straße.example", "xn--strae-oqa.example"),
        ("Straße.EXAMPLE", "xn--strae-oqa.example"),
        ("faß.de", "xn--fa-hia.de"),
        ("ß.example", "xn--zca.example"),
    ],
)
def test_sharp_s_is_encoded_as_idna_2008_not_as_ss(host: str, encoded: str) -> None:
    """IDNA 2003 (Python's `idna` codec) maps `ß` to `ss`, another domain than the one
    requests and httpx reach (IDNA 2008)."""
    base = parse(f"https://{host}/v1/")
    assert base.origin == Origin("https", encoded, 443)
    assert base.url == f"https://{encoded}/v1"
    assert "ss" not in base.origin.host


CLIENT_HOSTS = [
    # ASCII, IP and international hosts, in either case, as typed and in punycode
    "api.example.com",
    "API.Example.COM",
    "a_b.internal",
    "localhost",
    "127.0.0.1",
    "[::1]",
    "[2001:db8::1]",
    "straße.example",
    "Straße.example",
    "bücher.example",
    "BÜCHER.example",
    "İstanbul.example",
    "mañana.example",
    "中国.example",
    "例え.テスト",
    "пример.испытание",
    "οδος.gr",
    "مثال.example",
    "xn--strae-oqa.example",
    "XN--BCHER-KVA.example",
]


@pytest.mark.parametrize("host", CLIENT_HOSTS)
@pytest.mark.parametrize("port", ["", ":8443"])
def test_the_stored_host_is_the_one_requests_and_httpx_send(host: str, port: str) -> None:
    """R17: finauth stores the ASCII host both clients put on the wire, and `origin_of`
    reads the same origin from the URL as typed and as each client prepared it."""
    url = f"https://{host}{port}/v1/x"
    base = parse(url)

    prepared = requests.Request("GET", url).prepare().url
    assert prepared is not None
    assert urlsplit(prepared).hostname == base.origin.host
    assert httpx.URL(url).raw_host.decode("ascii") == base.origin.host
    assert base.origin.host.isascii()
    assert base.origin.host == base.origin.host.lower()
    assert origin_of(prepared) == base.origin
    assert origin_of(str(httpx.URL(url))) == base.origin
    assert origin_of(url) == base.origin


# --- origin_of ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://api.example.com/x?y=1#z", ("https", "api.example.com", 443)),
        ("https://api.example.com:443/", ("https", "api.example.com", 443)),
        ("HTTPS://API.EXAMPLE.COM", ("https", "api.example.com", 443)),
        ("http://api.example.com", ("http", "api.example.com", 80)),
        ("http://api.example.com:80", ("http", "api.example.com", 80)),
        ("https://api.example.com:8443", ("https", "api.example.com", 8443)),
        ("https://user:pw@api.example.com", ("https", "api.example.com", 443)),
        ("http://[::1]:8000/", ("http", "::1", 8000)),
    ],
)
def test_origin_of(url: str, origin: tuple[str, str, int]) -> None:
    assert origin_of(url) == Origin(*origin)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("https://api.example.com/a", "https://API.example.com:443/b", True),
        ("https://api.example.com", "http://api.example.com", False),
        ("https://api.example.com", "https://api.example.com:8443", False),
        ("https://api.example.com", "https://evil.example.com", False),
        ("https://api.example.com", "https://api.example.com.evil.test", False),
        ("http://localhost:80", "http://localhost", True),
        ("http://localhost:443", "https://localhost", False),
    ],
)
def test_origins_compare_by_scheme_host_and_effective_port(a: str, b: str, same: bool) -> None:
    assert (origin_of(a) == origin_of(b)) is same


@pytest.mark.parametrize(
    "url",
    [
        "ftp://api.example.com/file",
        "mailto:someone@example.com",
        "file:///etc/hosts",
        "/relative/path",
        "api.example.com/path",
        "",
        "https://",
        "https://api.example.com:bad",
        "https://[::1",
        "https://evil.example\\@api.example.com/",  # requests goes to evil.example
        "https://api.example.com\\.evil.example/",
        "https://api..example.com/",
        "https://[v1.example]/",
        "https://\uff21\uff30\uff29.example.com/",  # full-width: UTS 46 maps, httpx refuses
    ],
)
def test_origin_of_anything_else_is_none(url: str) -> None:
    assert origin_of(url) is None


# --- origin_of's cache ------------------------------------------------------------------


URLS = st.one_of(
    st.text(max_size=40),
    st.builds(
        "{}://{}{}".format,
        st.sampled_from(["http", "https", "HTTPS", "ftp", "h"]),
        st.text(max_size=20),
        st.sampled_from(["", "/", "/p?q", "?q", "#f", "/a@b"]),
    ),
)
"""Any text, and URLs of schemes, authorities and rests that end an authority or not."""


@given(url=URLS)
@example(url="https://user:pw@api.example.com/v1")
@example(url="https://api.example.com:99999/")
@example(url="https://[::1]:8443/x")
def test_origin_of_a_url_is_that_of_its_parsed_whole(url: str) -> None:
    """Cached by scheme and authority, it answers what parsing the whole URL answers."""
    assert origin_of(url) == _parsed_origin(url)


@given(
    before=URLS,
    url=st.one_of(
        URLS, st.builds("{}{}".format, st.just("https://api.example.com"), st.text(max_size=12))
    ),
)
@example(before="https://api.example.com/a", url="https://api.example.com.evil.test/b")
@example(before="https://api.example.com/a", url="https://api.example.com:8443/b")
@example(before="https://api.example.com/a", url="https://api.example.com@evil.test/b")
@example(before="https://api.example.com/a", url="https://api.example.com")
@example(before="https://api.example.com/a", url="HTTPS://api.example.com/b")
@example(before="https://bad..host/a", url="https://bad..host/b")
def test_origin_of_a_url_after_another_is_that_of_its_parsed_whole(before: str, url: str) -> None:
    """The last authority is remembered: the next URL that starts with it and its slash
    shares it, and no other does."""
    origin_of(before)
    assert origin_of(url) == _parsed_origin(url)


def test_a_url_with_a_user_or_password_is_never_kept() -> None:
    _cached_origin.cache_clear()
    assert origin_of("https://user:secret@api.example.com/v1") == Origin(
        "https", "api.example.com", 443
    )
    assert origin_of("https://api.example.com/v1?q=@") == Origin("https", "api.example.com", 443)
    assert _cached_origin.cache_info().currsize == 1  # the second URL's authority alone
    assert "secret" not in repr(vars(_origin))
