"""Django settings of the real-server layer; the environment says where and how briefly.

REALSERVER_DB: the sqlite file (a temporary directory of the test run).
REALSERVER_ACCESS_SECONDS: the access tokens' lifetime (both services).
"""

from __future__ import annotations

import os
from datetime import timedelta

ACCESS_SECONDS = int(os.environ.get("REALSERVER_ACCESS_SECONDS", "300"))

SECRET_KEY = "realserver-tests-only-" + "x" * 40  # loopback test server, never deployed
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "realserver.project.urls"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "dj_rest_auth",
]

MIDDLEWARE = [
    "realserver.project.control.record_calls",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("REALSERVER_DB", ":memory:"),
        "OPTIONS": {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL;",
        },
    }
}

# Users log in by e-mail: SimpleJWT's serializer hands `email=` to authenticate(), which
# EmailBackend answers; dj-rest-auth looks the user up by e-mail itself, then uses username.
AUTHENTICATION_BACKENDS = [
    "realserver.project.control.EmailBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Django's documented choice for test servers: logins cost microseconds, not 0.3 s each.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["dj_rest_auth.jwt_auth.JWTCookieAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=ACCESS_SECONDS),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=30),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "AUTH_HEADER_TYPES": ("JWT",),
    "CHECK_REVOKE_TOKEN": True,
    "REVOKE_TOKEN_CLAIM": "hash_password",
    "UPDATE_LAST_LOGIN": False,
}

REST_AUTH = {
    "USE_JWT": True,
    "TOKEN_MODEL": None,
    "SESSION_LOGIN": True,  # the point: Django sets sessionid and csrftoken at login too
    "JWT_AUTH_COOKIE": "DT_AUTH_TOKEN",
    "JWT_AUTH_REFRESH_COOKIE": "DT_REFRESH_TOKEN",
    "JWT_AUTH_HTTPONLY": True,
    "JWT_AUTH_SECURE": False,  # plain http on loopback
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["stderr"], "level": "WARNING"},
}
