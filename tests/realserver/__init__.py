"""Issue #15: finauth against real server software, served by a real WSGI server.

A package, so that its conftest.py is `realserver.conftest` and never takes the
place of the suite's top-level `conftest` module, which other tests import.
"""
