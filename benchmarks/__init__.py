"""finauth's benchmarks (issue #8): `nox -s bench`, or `python -m benchmarks [--quick]`.

Overhead per request against a static header and beside the peers (httpx-auth,
authlib), token storms, cost growth with concurrency, memory, import time and
the hot path; results in benchmarks/results.json and docs/benchmarks.md.
"""
