"""What the tests control and observe: the account, revocations, and every call seen.

The server is one process (waitress, many threads), so this state lives in memory,
behind a lock. Nothing here is part of either service's API; it is under /_control/.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.sessions.models import Session
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

_lock = threading.Lock()
_calls: list[dict[str, Any]] = []
_presented: set[str] = set()
"""The jti of every access token an API view accepted so far."""
_revoked: set[str] = set()


def record_calls(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable[..., Any]:
    """Middleware: remember each API call's endpoint, status, cookie names and auth scheme."""

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        if not request.path.startswith("/_control/"):
            match = request.resolver_match
            authorization = request.headers.get("Authorization", "")
            call = {
                "method": request.method,
                "path": request.path,
                "endpoint": match.url_name if match is not None else None,
                "status": response.status_code,
                "cookies": sorted(request.COOKIES),
                "scheme": authorization.partition(" ")[0] or None,
                "csrf_header": "X-CSRFToken" in request.headers,
            }
            with _lock:
                _calls.append(call)
        return response

    return middleware


class EmailBackend(ModelBackend):  # type: ignore[misc]
    """authenticate(email=..., password=...), as SimpleJWT's serializer calls it here."""

    def authenticate(
        self, request: HttpRequest | None, email: str | None = None, password: str | None = None
    ) -> Any:
        if email is None or password is None:
            return None
        user = get_user_model().objects.filter(email__iexact=email).first()
        if user is not None and user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None


class Revocable:
    """Mixed into an authentication class: access tokens can be revoked by /_control/."""

    def get_validated_token(self, raw_token: bytes) -> Any:
        token = super().get_validated_token(raw_token)  # type: ignore[misc]
        jti = str(token.get("jti"))
        with _lock:
            if jti in _revoked:
                raise InvalidToken({"detail": "Token has been revoked", "code": "token_revoked"})
            _presented.add(jti)
        return token


def _json(request: HttpRequest) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(request.body or b"{}")
    return body


def reset(request: HttpRequest) -> JsonResponse:
    """One account, {"email", "password"}, and nothing else: no tokens, sessions or calls."""
    body = _json(request)
    with transaction.atomic():
        OutstandingToken.objects.all().delete()  # their blacklist entries go with them
        Session.objects.all().delete()
        get_user_model().objects.all().delete()
        get_user_model().objects.create_user(
            username=body["email"].partition("@")[0],
            email=body["email"],
            password=body["password"],
            first_name="Ada",
            last_name="Lovelace",
        )
    with _lock:
        _calls.clear()
        _presented.clear()
        _revoked.clear()
    return JsonResponse({"reset": True})


def password(request: HttpRequest) -> JsonResponse:
    """Set the account's password ({"password"}): a new hash, even for the same password."""
    user = get_user_model().objects.get()
    user.set_password(_json(request)["password"])
    user.save()
    return JsonResponse({"changed": True})


def blacklist(request: HttpRequest) -> JsonResponse:
    """Blacklist every outstanding refresh token, as SimpleJWT's flushing admin would."""
    outstanding = OutstandingToken.objects.exclude(blacklistedtoken__isnull=False)
    count = 0
    for token in outstanding:
        BlacklistedToken.objects.get_or_create(token=token)
        count += 1
    return JsonResponse({"blacklisted": count})


def revoke(request: HttpRequest) -> JsonResponse:
    """Refuse from now on every access token presented so far (refresh tokens stay good)."""
    with _lock:
        _revoked.update(_presented)
        count = len(_revoked)
    return JsonResponse({"revoked": count})


def calls(request: HttpRequest) -> JsonResponse:
    with _lock:
        return JsonResponse({"calls": list(_calls)})


POSTS: dict[str, Callable[[HttpRequest], JsonResponse]] = {
    "reset": reset,
    "password": password,
    "blacklist": blacklist,
    "revoke": revoke,
}


def control(request: HttpRequest, what: str) -> HttpResponse:
    """/_control/<what>: GET calls, or POST one of POSTS (exempt from CSRF in urls.py)."""
    if what == "calls":
        return calls(request) if request.method == "GET" else HttpResponseNotAllowed(["GET"])
    if what not in POSTS:
        return JsonResponse({"detail": f"no control {what!r}"}, status=404)
    return POSTS[what](request) if request.method == "POST" else HttpResponseNotAllowed(["POST"])
