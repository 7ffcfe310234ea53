"""Fincrux, stood in for by SimpleJWT: login by e-mail, its own refresh view, `JWT` headers."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer
from rest_framework_simplejwt.views import TokenObtainPairView

from .control import Revocable


class LoginSerializer(TokenObtainPairSerializer):
    """SimpleJWT's pair, answered in Fincrux's login shape (seed 000)."""

    username_field = "email"

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        pair = super().validate(attrs)
        return {
            "success": "true",
            "access": pair["access"],
            "refresh": pair["refresh"],
            "full_name": self.user.get_full_name(),
            "email": self.user.email,
            "profile_img_url": "https://img.example/ada.png",
        }


class LoginView(TokenObtainPairView):
    serializer_class = LoginSerializer


class SearchAuthentication(Revocable, JWTAuthentication):
    pass


class SearchView(APIView):  # type: ignore[misc]
    authentication_classes = (SearchAuthentication,)
    permission_classes = (IsAuthenticated,)

    def get(self, request: Request, q: str) -> Response:
        results = [{"symbol": q.upper(), "user": request.user.email}]
        return Response({"query": q, "results": results})
