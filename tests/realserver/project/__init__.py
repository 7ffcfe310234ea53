"""A small Django project: SimpleJWT standing in for Fincrux, dj-rest-auth for Finvera.

It runs only in the server's own process (see `serve`), never in pytest's.
"""
