"""Both services on one origin: Fincrux under /api/, Finvera under /kms/; tests under /_control/."""

from __future__ import annotations

from dj_rest_auth.jwt_auth import get_refresh_view
from dj_rest_auth.views import LoginView as FinveraLogin
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from rest_framework_simplejwt.views import TokenRefreshView

from . import control, fincrux, finvera

urlpatterns = [
    path("api/auth/login", fincrux.LoginView.as_view(), name="fincrux-login"),
    path("api/auth/token/refresh/", TokenRefreshView.as_view(), name="fincrux-refresh"),
    path("api/search/<str:q>", fincrux.SearchView.as_view(), name="fincrux-search"),
    path("kms/api/v1/auth/token", FinveraLogin.as_view(), name="finvera-login"),
    path("kms/api/v1/auth/refresh", get_refresh_view().as_view(), name="finvera-refresh"),
    path("kms/api/v1/auth/validate", finvera.ValidateView.as_view(), name="finvera-validate"),
    path("kms/api/v1/news/feed", finvera.FeedView.as_view(), name="finvera-feed"),
    path("kms/api/v1/news/latest", finvera.LatestView.as_view(), name="finvera-latest"),
    path("kms/api/v1/news/bookmarks", finvera.BookmarksView.as_view(), name="finvera-bookmarks"),
    path("_control/<str:what>", csrf_exempt(control.control)),
]
