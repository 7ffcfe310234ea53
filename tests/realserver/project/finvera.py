"""Finvera, stood in for by dj-rest-auth: JWTs in HttpOnly cookies, session login left on."""

from __future__ import annotations

from typing import Any

from dj_rest_auth.jwt_auth import JWTCookieAuthentication
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.authentication import JWTAuthentication

from .control import Revocable

NEWS = [{"id": 1, "title": "Rates held"}, {"id": 2, "title": "Markets up"}]


class CookieAuthentication(Revocable, JWTCookieAuthentication):  # type: ignore[misc]
    pass


class BearerAuthentication(Revocable, JWTAuthentication):
    """`Authorization: Bearer`, for validate only (SIMPLE_JWT's header type is Fincrux's JWT)."""

    def get_raw_token(self, header: bytes) -> bytes | None:
        parts = header.split()
        if len(parts) == 2 and parts[0] == b"Bearer":
            return parts[1]
        return None

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class ValidateView(APIView):  # type: ignore[misc]
    authentication_classes = (BearerAuthentication,)
    permission_classes = (IsAuthenticated,)

    def get(self, request: Request) -> Response:
        user: Any = request.user
        return Response(
            {
                "user_id": user.pk,
                "email": user.email,
                "username": user.username,
                "licensing_tier_id": 2,
            }
        )


class FeedView(APIView):  # type: ignore[misc]
    """dj-rest-auth's documented setup: JWTCookieAuthentication alone (401 on a bad token)."""

    authentication_classes = (CookieAuthentication,)
    permission_classes = (IsAuthenticated,)

    def get(self, request: Request) -> Response:
        return Response({"news": NEWS})


class SessionFirst(APIView):  # type: ignore[misc]
    """The common real-world order: a request with a `sessionid` cookie is a session request,
    so DRF enforces CSRF on its writes. (With SessionAuthentication first, DRF also answers
    403, not 401, to a bad token: the first class names no WWW-Authenticate scheme.)"""

    authentication_classes = (
        SessionAuthentication,
        CookieAuthentication,
    )
    permission_classes = (IsAuthenticated,)


class LatestView(SessionFirst):
    def get(self, request: Request) -> Response:
        return Response({"news": NEWS[:1]})


class BookmarksView(SessionFirst):
    def post(self, request: Request) -> Response:
        return Response({"bookmarked": request.data.get("id")}, status=201)
