"""FincruxEmulator driven directly through `handle(Call(...))`: no transport, no network."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import jwt
import pytest

from finauth.testing import Call, FincruxEmulator, Reply
from finauth.testing.fincrux import DEMO_API_KEY, DEMO_EMAIL, DEMO_PASSWORD, SEARCH_PATH

LOGIN = "/api/auth/login"
REFRESH = "/api/auth/token/refresh/"
LOGIN_FIELDS = {"success", "access", "refresh", "full_name", "email", "profile_img_url"}
SIMPLEJWT_INVALID = "token_not_valid"


# -- helpers ---------------------------------------------------------------------------------
def make_call(
    method: str,
    path: str,
    *,
    query: str = "",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
) -> Call:
    return Call(method, path, query, httpx.Headers(headers or {}), body)


def json_call(path: str, payload: object, *, headers: dict[str, str] | None = None) -> Call:
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    return make_call("POST", path, headers=all_headers, body=json.dumps(payload).encode())


def body_of(reply: Reply) -> Any:
    return json.loads(reply.body)


def header(reply: Reply, name: str) -> list[str]:
    return [value for key, value in reply.headers if key.lower() == name.lower()]


def login(emulator: FincruxEmulator, path: str = LOGIN) -> dict[str, Any]:
    reply = emulator.handle(
        json_call(path, {"email": emulator.email, "password": emulator.password})
    )
    assert reply.status == 200, reply.body
    payload: dict[str, Any] = body_of(reply)
    return payload


def refresh(emulator: FincruxEmulator, token: str, path: str = REFRESH) -> Reply:
    return emulator.handle(json_call(path, {"refresh": token}))


def search(
    emulator: FincruxEmulator,
    *,
    authorization: str | None = None,
    query: str = "",
    path: str = SEARCH_PATH,
) -> Reply:
    headers = {} if authorization is None else {"Authorization": authorization}
    return emulator.handle(make_call("GET", path, query=query, headers=headers))


def claims_of(token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return decoded


def assert_simplejwt_401(reply: Reply) -> None:
    assert reply.status == 401
    body = body_of(reply)
    assert body["code"] == SIMPLEJWT_INVALID
    assert isinstance(body["detail"], str)
    assert body["detail"]


@pytest.fixture
def emulator() -> FincruxEmulator:
    return FincruxEmulator()


# -- login -----------------------------------------------------------------------------------
def test_demo_credentials_are_the_defaults(emulator: FincruxEmulator) -> None:
    assert (emulator.email, emulator.password, emulator.api_key) == (
        DEMO_EMAIL,
        DEMO_PASSWORD,
        DEMO_API_KEY,
    )
    assert emulator.name == "Fincrux"


def test_credentials_and_environment_name_the_auths_arguments() -> None:
    emulator = FincruxEmulator(email="a@b.test", password="pw", api_key="key")

    assert emulator.credentials() == {"email": "a@b.test", "password": "pw"}
    assert emulator.environment("http://127.0.0.1:9/v1") == {
        "FINCRUX_EMAIL": "a@b.test",
        "FINCRUX_PASSWORD": "pw",
        "FINCRUX_API_KEY": "key",
        "FINCRUX_BASE_URL": "http://127.0.0.1:9/v1",
    }
    reply = emulator.handle(json_call(LOGIN, emulator.credentials()))
    assert reply.status == 200


def test_login_answers_the_seed_wire_format(emulator: FincruxEmulator) -> None:
    reply = emulator.handle(json_call(LOGIN, {"email": DEMO_EMAIL, "password": DEMO_PASSWORD}))

    assert reply.status == 200
    assert header(reply, "content-type") == ["application/json"]
    body = body_of(reply)
    assert set(body) == LOGIN_FIELDS
    assert body["success"] == "true"
    assert isinstance(body["success"], str)  # the seed's quirk: a string, not JSON true
    assert body["email"] == DEMO_EMAIL
    assert isinstance(body["full_name"], str)
    assert body["full_name"]
    assert body["profile_img_url"].startswith("https://")
    assert body["access"] != body["refresh"]


def test_login_accepts_custom_credentials() -> None:
    emulator = FincruxEmulator(email="me@example.com", password="s3cret")
    good = emulator.handle(json_call(LOGIN, {"email": "me@example.com", "password": "s3cret"}))
    demo = emulator.handle(json_call(LOGIN, {"email": DEMO_EMAIL, "password": DEMO_PASSWORD}))

    assert good.status == 200
    assert body_of(good)["email"] == "me@example.com"
    assert demo.status == 401


@pytest.mark.parametrize("ttl", [3600.0, 5.0, 0.5])
def test_login_tokens_are_hs256_jwts_whose_lifetime_is_token_ttl(ttl: float) -> None:
    emulator = FincruxEmulator(token_ttl=ttl)
    before = time.time()
    body = login(emulator)
    after = time.time()

    for kind in ("access", "refresh"):
        token = body[kind]
        assert jwt.get_unverified_header(token)["alg"] == "HS256"
        claims = claims_of(token)
        assert claims["token_type"] == kind
        assert before - 0.01 <= claims["iat"] <= after + 0.01
        lifetime = ttl if kind == "access" else emulator.refresh_ttl
        assert claims["exp"] - claims["iat"] == pytest.approx(lifetime, abs=1e-3)
    access_claims = claims_of(body["access"])
    assert access_claims["exp"] - access_claims["iat"] == pytest.approx(ttl, abs=1e-3)


def test_every_login_issues_new_tokens(emulator: FincruxEmulator) -> None:
    first, second = login(emulator), login(emulator)

    assert first["access"] != second["access"]
    assert first["refresh"] != second["refresh"]
    # both logins' access tokens work: a new login does not end an earlier session
    for body in (first, second):
        assert search(emulator, authorization=f"JWT {body['access']}").status == 200


def test_tokens_are_signed_so_a_tampered_token_is_rejected(emulator: FincruxEmulator) -> None:
    token = login(emulator)["access"]
    header_part, _, signature = token.split(".")
    claims = claims_of(token)
    claims["user_id"] = 2
    forged_payload = (
        base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode("ascii")
    )
    forged = f"{header_part}.{forged_payload}.{signature}"
    resigned = jwt.encode(claims, b"k" * 32, algorithm="HS256")  # not the emulator's key

    assert search(emulator, authorization=f"JWT {token}").status == 200
    assert_simplejwt_401(search(emulator, authorization=f"JWT {forged}"))
    assert_simplejwt_401(search(emulator, authorization=f"JWT {resigned}"))


def test_each_emulator_signs_with_its_own_key() -> None:
    one, other = FincruxEmulator(), FincruxEmulator()
    token = login(one)["access"]

    assert search(one, authorization=f"JWT {token}").status == 200
    assert_simplejwt_401(search(other, authorization=f"JWT {token}"))


@pytest.mark.parametrize(
    ("email", "password"),
    [(DEMO_EMAIL, "wrong-password"), ("someone@else.test", DEMO_PASSWORD), ("", "")],
)
def test_wrong_credentials_are_a_401_with_a_message(
    emulator: FincruxEmulator, email: str, password: str
) -> None:
    reply = emulator.handle(json_call(LOGIN, {"email": email, "password": password}))

    assert reply.status == 401
    body = body_of(reply)
    assert isinstance(body["message"], str)
    assert body["message"]
    assert body.get("success") != "true"
    assert "access" not in body
    assert "refresh" not in body
    assert emulator.logins == 1


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[]",
        b'"a string"',
        b"{}",
        json.dumps({"email": DEMO_EMAIL}).encode(),
        json.dumps({"password": DEMO_PASSWORD}).encode(),
        json.dumps({"email": DEMO_EMAIL, "password": 12345}).encode(),
        json.dumps({"email": None, "password": DEMO_PASSWORD}).encode(),
    ],
)
def test_missing_fields_or_non_json_are_a_400(emulator: FincruxEmulator, body: bytes) -> None:
    reply = emulator.handle(make_call("POST", LOGIN, body=body))

    assert reply.status == 400
    payload = body_of(reply)
    assert isinstance(payload["message"], str)
    assert payload["message"]
    assert "access" not in payload
    assert emulator.logins == 1


def test_login_by_get_is_not_the_login_endpoint(emulator: FincruxEmulator) -> None:
    reply = emulator.handle(make_call("GET", LOGIN))

    assert reply.status == 404
    assert emulator.logins == 0


# -- refresh ---------------------------------------------------------------------------------
def test_refresh_issues_new_tokens_and_rotates_the_refresh_token(
    emulator: FincruxEmulator,
) -> None:
    first = login(emulator)
    reply = refresh(emulator, first["refresh"])

    assert reply.status == 200
    renewed = body_of(reply)
    assert {"access", "refresh"} <= set(renewed)
    assert renewed["access"] != first["access"]
    assert renewed["refresh"] != first["refresh"]
    assert claims_of(renewed["access"])["token_type"] == "access"
    assert claims_of(renewed["refresh"])["token_type"] == "refresh"
    assert search(emulator, authorization=f"JWT {renewed['access']}").status == 200

    # the old refresh token is spent
    assert_simplejwt_401(refresh(emulator, first["refresh"]))
    # the rotated one still works, once
    again = refresh(emulator, renewed["refresh"])
    assert again.status == 200
    assert_simplejwt_401(refresh(emulator, renewed["refresh"]))
    assert emulator.refreshes == 4


def test_refreshed_access_tokens_live_token_ttl() -> None:
    emulator = FincruxEmulator(token_ttl=42.0)
    renewed = body_of(refresh(emulator, login(emulator)["refresh"]))
    claims = claims_of(renewed["access"])

    assert claims["exp"] - claims["iat"] == pytest.approx(42.0, abs=1e-3)


def test_refresh_refuses_an_access_token(emulator: FincruxEmulator) -> None:
    assert_simplejwt_401(refresh(emulator, login(emulator)["access"]))


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"{}", b'{"refresh": 1}', b'{"refresh": "garbage"}', b"[]"],
)
def test_refresh_refuses_malformed_requests_with_a_simplejwt_401(
    emulator: FincruxEmulator, body: bytes
) -> None:
    reply = emulator.handle(make_call("POST", REFRESH, body=body))

    assert_simplejwt_401(reply)
    assert emulator.refreshes == 1
    assert emulator.logins == 0


def test_refresh_path_is_configurable() -> None:
    emulator = FincruxEmulator(refresh_path="/api/token/renew")
    token = login(emulator)["refresh"]

    assert emulator.handle(json_call(REFRESH, {"refresh": token})).status == 404
    assert refresh(emulator, token, path="/api/token/renew").status == 200
    assert emulator.refreshes == 1


# -- protected routes ------------------------------------------------------------------------
def test_protected_route_without_a_token_is_a_simplejwt_401(emulator: FincruxEmulator) -> None:
    reply = search(emulator)

    assert_simplejwt_401(reply)
    assert header(reply, "WWW-Authenticate")
    assert emulator.denials == 1


def test_protected_route_wants_the_word_jwt_not_bearer(emulator: FincruxEmulator) -> None:
    access = login(emulator)["access"]

    assert_simplejwt_401(search(emulator, authorization=f"Bearer {access}"))
    assert_simplejwt_401(search(emulator, authorization=access))
    ok = search(emulator, authorization=f"JWT {access}")
    assert ok.status == 200
    assert body_of(ok)["query"] == "RELIANCE"
    assert body_of(ok)["results"][0]["symbol"] == "RELIANCE"
    assert emulator.denials == 2


def test_protected_route_refuses_a_refresh_token_as_access(emulator: FincruxEmulator) -> None:
    assert_simplejwt_401(search(emulator, authorization=f"JWT {login(emulator)['refresh']}"))


def test_api_key_in_the_query_is_accepted(emulator: FincruxEmulator) -> None:
    ok = search(emulator, query=f"api_key={DEMO_API_KEY}")
    with_other_params = search(emulator, query=f"limit=5&api_key={DEMO_API_KEY}&x=")

    assert ok.status == 200
    assert with_other_params.status == 200
    assert_simplejwt_401(search(emulator, query="api_key=fcx_wrong"))
    assert_simplejwt_401(search(emulator, query="api_key="))
    assert emulator.denials == 2


def test_custom_api_key() -> None:
    emulator = FincruxEmulator(api_key="my-key")

    assert search(emulator, query="api_key=my-key").status == 200
    assert search(emulator, query=f"api_key={DEMO_API_KEY}").status == 401


def test_api_key_and_authorization_together_are_denied(emulator: FincruxEmulator) -> None:
    """The seed: only one authentication method per call."""
    access = login(emulator)["access"]

    reply = search(emulator, authorization=f"JWT {access}", query=f"api_key={DEMO_API_KEY}")

    assert_simplejwt_401(reply)
    assert emulator.denials == 1
    # each alone is fine
    assert search(emulator, authorization=f"JWT {access}").status == 200
    assert search(emulator, query=f"api_key={DEMO_API_KEY}").status == 200


# -- fault controls --------------------------------------------------------------------------
def test_expire_tokens_kills_access_tokens_but_refresh_still_works(
    emulator: FincruxEmulator,
) -> None:
    body = login(emulator)
    emulator.expire_tokens()

    assert_simplejwt_401(search(emulator, authorization=f"JWT {body['access']}"))
    reply = refresh(emulator, body["refresh"])
    assert reply.status == 200
    assert search(emulator, authorization=f"JWT {body_of(reply)['access']}").status == 200


def test_expire_tokens_leaves_later_tokens_alone(emulator: FincruxEmulator) -> None:
    emulator.expire_tokens()
    access = login(emulator)["access"]

    assert search(emulator, authorization=f"JWT {access}").status == 200


def test_revoke_tokens_kills_access_and_refresh_tokens(emulator: FincruxEmulator) -> None:
    body = login(emulator)
    emulator.revoke_tokens()

    assert_simplejwt_401(search(emulator, authorization=f"JWT {body['access']}"))
    assert_simplejwt_401(refresh(emulator, body["refresh"]))
    # a fresh login works again
    fresh = login(emulator)
    assert search(emulator, authorization=f"JWT {fresh['access']}").status == 200
    assert refresh(emulator, fresh["refresh"]).status == 200


def test_tokens_stop_working_when_they_expire() -> None:
    emulator = FincruxEmulator(token_ttl=0.3)
    access = login(emulator)["access"]

    assert search(emulator, authorization=f"JWT {access}").status == 200
    time.sleep(0.4)
    assert_simplejwt_401(search(emulator, authorization=f"JWT {access}"))


def test_token_ttl_changes_apply_to_newly_issued_tokens_only(
    emulator: FincruxEmulator,
) -> None:
    old = login(emulator)["access"]
    emulator.token_ttl = 0.3
    new = login(emulator)["access"]

    old_claims, new_claims = claims_of(old), claims_of(new)
    assert old_claims["exp"] - old_claims["iat"] == pytest.approx(3600.0, abs=1e-3)
    assert new_claims["exp"] - new_claims["iat"] == pytest.approx(0.3, abs=1e-3)
    time.sleep(0.4)
    assert search(emulator, authorization=f"JWT {old}").status == 200
    assert_simplejwt_401(search(emulator, authorization=f"JWT {new}"))


@pytest.mark.parametrize(
    ("status", "body", "expected_body", "content_type"),
    [
        (500, {"error": "database down"}, b'{"error": "database down"}', "application/json"),
        (403, {"success": "false"}, b'{"success": "false"}', "application/json"),
        (502, "<html>Bad gateway</html>", b"<html>Bad gateway</html>", "text/html"),
        (200, b"\x00not json", b"\x00not json", "text/html"),
    ],
)
def test_fail_next_login_answers_the_given_body_once(
    emulator: FincruxEmulator,
    status: int,
    body: object,
    expected_body: bytes,
    content_type: str,
) -> None:
    emulator.fail_next_login(status, body)

    failed = emulator.handle(json_call(LOGIN, {"email": DEMO_EMAIL, "password": DEMO_PASSWORD}))
    assert failed.status == status
    assert failed.body == expected_body
    assert [value.split(";")[0] for value in header(failed, "content-type")] == [content_type]
    # exactly one login
    login(emulator)
    assert emulator.logins == 2


def test_fail_next_login_without_a_body_uses_the_providers_error(
    emulator: FincruxEmulator,
) -> None:
    emulator.fail_next_login(403)

    failed = emulator.handle(json_call(LOGIN, {"email": DEMO_EMAIL, "password": DEMO_PASSWORD}))

    assert failed.status == 403
    body = body_of(failed)
    assert body["success"] != "true"
    assert body["message"]
    login(emulator)


def test_fail_next_login_queues_in_order_and_spares_refresh(emulator: FincruxEmulator) -> None:
    tokens = login(emulator)
    emulator.fail_next_login(503, {"n": 1})
    emulator.fail_next_login(401, {"n": 2})

    # a refresh is not a login: it does not consume a queued failure
    assert refresh(emulator, tokens["refresh"]).status == 200
    first = emulator.handle(json_call(LOGIN, {"email": DEMO_EMAIL, "password": DEMO_PASSWORD}))
    second = emulator.handle(json_call(LOGIN, {"email": DEMO_EMAIL, "password": DEMO_PASSWORD}))
    assert (first.status, body_of(first)) == (503, {"n": 1})
    assert (second.status, body_of(second)) == (401, {"n": 2})
    login(emulator)
    assert emulator.logins == 4


def test_fail_next_login_applies_even_to_a_malformed_login(emulator: FincruxEmulator) -> None:
    emulator.fail_next_login(503, "maintenance")

    reply = emulator.handle(make_call("POST", LOGIN, body=b"not json"))

    assert (reply.status, reply.body) == (503, b"maintenance")
    assert emulator.handle(make_call("POST", LOGIN, body=b"not json")).status == 400


def test_rate_limit_answers_429_with_retry_after_then_normal(emulator: FincruxEmulator) -> None:
    tokens = login(emulator)
    emulator.rate_limit(3, retry_after=7)

    throttled = [
        emulator.handle(json_call(LOGIN, {"email": DEMO_EMAIL, "password": DEMO_PASSWORD})),
        refresh(emulator, tokens["refresh"]),
        emulator.handle(json_call(LOGIN, {"email": DEMO_EMAIL, "password": DEMO_PASSWORD})),
    ]
    for reply in throttled:
        assert reply.status == 429
        assert header(reply, "Retry-After") == ["7"]
    # protected routes are not throttled, and do not use up the budget
    assert search(emulator, authorization=f"JWT {tokens['access']}").status == 200
    # after n auth calls, back to normal: the refresh token was not spent by the 429
    assert refresh(emulator, tokens["refresh"]).status == 200
    login(emulator)
    assert (emulator.logins, emulator.refreshes) == (4, 2)


def test_rate_limit_without_retry_after_sends_no_header(emulator: FincruxEmulator) -> None:
    emulator.rate_limit(1)

    reply = emulator.handle(json_call(LOGIN, {"email": DEMO_EMAIL, "password": DEMO_PASSWORD}))

    assert reply.status == 429
    assert header(reply, "Retry-After") == []
    login(emulator)


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [(1.5, "1.5"), (0, "0"), ("Wed, 21 Oct 2015 07:28:00 GMT", "Wed, 21 Oct 2015 07:28:00 GMT")],
)
def test_rate_limit_retry_after_forms(
    emulator: FincruxEmulator, retry_after: float | str, expected: str
) -> None:
    emulator.rate_limit(1, retry_after=retry_after)

    reply = emulator.handle(json_call(LOGIN, {"email": DEMO_EMAIL, "password": DEMO_PASSWORD}))

    assert reply.status == 429
    assert header(reply, "Retry-After") == [expected]


def test_rate_limit_comes_before_a_queued_login_failure(emulator: FincruxEmulator) -> None:
    emulator.fail_next_login(500, {"boom": True})
    emulator.rate_limit(1, retry_after=1)
    credentials = {"email": DEMO_EMAIL, "password": DEMO_PASSWORD}

    assert emulator.handle(json_call(LOGIN, credentials)).status == 429
    assert emulator.handle(json_call(LOGIN, credentials)).status == 500
    assert emulator.handle(json_call(LOGIN, credentials)).status == 200


# -- records ---------------------------------------------------------------------------------
def test_counters_count_every_request_at_their_endpoints(emulator: FincruxEmulator) -> None:
    tokens = login(emulator)  # 200
    emulator.handle(json_call(LOGIN, {"email": DEMO_EMAIL, "password": "nope"}))  # 401
    emulator.handle(make_call("POST", LOGIN, body=b"junk"))  # 400
    emulator.fail_next_login(503)
    emulator.handle(json_call(LOGIN, {}))  # 503
    emulator.rate_limit(1)
    emulator.handle(json_call(LOGIN, {}))  # 429
    refresh(emulator, tokens["refresh"])  # 200
    refresh(emulator, tokens["refresh"])  # 401, spent
    search(emulator)  # 401
    search(emulator, authorization=f"Bearer {tokens['access']}")  # 401
    search(emulator, query=f"api_key={DEMO_API_KEY}")  # 200
    emulator.handle(make_call("GET", "/nowhere"))  # 404

    assert emulator.logins == 5
    assert emulator.refreshes == 2
    assert emulator.denials == 2
    assert len(emulator.calls) == 11


def test_counters_start_at_zero(emulator: FincruxEmulator) -> None:
    assert (emulator.logins, emulator.refreshes, emulator.denials) == (0, 0, 0)
    assert emulator.calls == []


def test_calls_record_method_path_query_headers_and_body(emulator: FincruxEmulator) -> None:
    body = json.dumps({"email": DEMO_EMAIL, "password": DEMO_PASSWORD}).encode()
    emulator.handle(
        make_call(
            "POST",
            LOGIN,
            query="trace=1&who=me",
            headers={"Content-Type": "application/json", "X-Request-ID": "abc"},
            body=body,
        )
    )
    emulator.handle(make_call("GET", "/missing", query="a=1&a=2&empty="))

    first, second = emulator.calls
    assert (first.method, first.path, first.query) == ("POST", LOGIN, "trace=1&who=me")
    assert first.headers["x-request-id"] == "abc"
    assert first.headers["X-REQUEST-ID"] == "abc"
    assert first.headers["content-type"] == "application/json"
    assert first.body == body
    assert first.json() == {"email": DEMO_EMAIL, "password": DEMO_PASSWORD}
    assert first.params == {"trace": "1", "who": "me"}
    assert (second.method, second.path) == ("GET", "/missing")
    assert second.params["empty"] == ""
    assert second.body == b""


# -- routes ----------------------------------------------------------------------------------
def test_route_is_protected_and_answers_its_json_and_status(emulator: FincruxEmulator) -> None:
    emulator.route("POST", "/api/orders", json={"id": 7, "state": "open"}, status=201)
    access = login(emulator)["access"]

    denied = emulator.handle(make_call("POST", "/api/orders", body=b"{}"))
    assert_simplejwt_401(denied)
    created = emulator.handle(
        make_call("POST", "/api/orders", headers={"Authorization": f"JWT {access}"})
    )
    assert created.status == 201
    assert body_of(created) == {"id": 7, "state": "open"}
    by_key = emulator.handle(make_call("POST", "/api/orders", query=f"api_key={DEMO_API_KEY}"))
    assert by_key.status == 201


def test_route_default_payload_and_method_case(emulator: FincruxEmulator) -> None:
    emulator.route("get", "/api/portfolio")

    reply = emulator.handle(make_call("GET", "/api/portfolio", query=f"api_key={DEMO_API_KEY}"))

    assert reply.status == 200
    assert body_of(reply) == {"ok": True, "path": "/api/portfolio"}
    # another method on the same path is not registered
    assert (
        emulator.handle(make_call("DELETE", "/api/portfolio", query=f"api_key={DEMO_API_KEY}"))
    ).status == 404


def test_route_registered_again_replaces_the_answer(emulator: FincruxEmulator) -> None:
    emulator.route("GET", "/api/x", json={"v": 1})
    emulator.route("GET", "/api/x", json={"v": 2}, status=202)

    reply = emulator.handle(make_call("GET", "/api/x", query=f"api_key={DEMO_API_KEY}"))

    assert (reply.status, body_of(reply)) == (202, {"v": 2})


def test_unmatched_request_is_a_404_listing_routes(emulator: FincruxEmulator) -> None:
    emulator.route("PUT", "/api/watchlist")

    reply = emulator.handle(make_call("PATCH", "/api/nothing/here", query="a=1"))

    assert reply.status == 404
    body = body_of(reply)
    assert "PATCH" in body["message"]
    assert "/api/nothing/here" in body["message"]
    assert "Fincrux" in body["message"]
    assert set(body["routes"]) == {
        f"POST {LOGIN}",
        f"POST {REFRESH}",
        f"GET {SEARCH_PATH}",
        "PUT /api/watchlist",
    }
    assert emulator.denials == 0


def test_wrong_method_on_a_protected_path_is_a_404_not_a_401(emulator: FincruxEmulator) -> None:
    reply = emulator.handle(make_call("POST", SEARCH_PATH))

    assert reply.status == 404
    assert "POST" in body_of(reply)["message"]
    assert emulator.denials == 0


# -- prefix ----------------------------------------------------------------------------------
@pytest.mark.parametrize("prefix", ["/v1", "/v1/"])
def test_prefix_moves_every_endpoint(prefix: str) -> None:
    emulator = FincruxEmulator(prefix=prefix)
    emulator.route("GET", "/api/portfolio")
    assert emulator.prefix == "/v1"

    # unprefixed paths are unknown
    unprefixed = emulator.handle(json_call(LOGIN, {"email": DEMO_EMAIL, "password": DEMO_PASSWORD}))
    assert unprefixed.status == 404
    assert emulator.logins == 0
    assert search(emulator, query=f"api_key={DEMO_API_KEY}").status == 404

    tokens = login(emulator, path="/v1" + LOGIN)
    renewed = refresh(emulator, tokens["refresh"], path="/v1" + REFRESH)
    assert renewed.status == 200
    access = body_of(renewed)["access"]
    assert search(emulator, authorization=f"JWT {access}", path="/v1" + SEARCH_PATH).status == 200
    assert_simplejwt_401(search(emulator, path="/v1" + SEARCH_PATH))
    portfolio = emulator.handle(
        make_call("GET", "/v1/api/portfolio", headers={"Authorization": f"JWT {access}"})
    )
    assert portfolio.status == 200
    assert (emulator.logins, emulator.refreshes) == (1, 1)

    missing = emulator.handle(make_call("GET", "/v1/nothing"))
    assert missing.status == 404
    assert set(body_of(missing)["routes"]) == {
        f"POST /v1{LOGIN}",
        f"POST /v1{REFRESH}",
        f"GET /v1{SEARCH_PATH}",
        "GET /v1/api/portfolio",
    }
    assert "/v1/nothing" in body_of(missing)["message"]


def test_prefix_must_be_a_whole_segment() -> None:
    emulator = FincruxEmulator(prefix="/v1")

    reply = emulator.handle(
        json_call("/v1x" + LOGIN, {"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
    )

    assert reply.status == 404
    assert emulator.logins == 0
