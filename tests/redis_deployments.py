"""The three Redis deployments RedisTokenStore is tested on, as fixtures.

Imported by the test modules that use them (not a conftest, which would shadow
`from conftest import ...`); the functions' names end in `_fixture` so that a
test's parameter named after the fixture does not shadow an import. The cluster
and the sentinel live for the session, as the standalone `redis_server` does;
`deployment` empties the one a test gets.
A `Deployment` is picklable, so a worker process can build its own store from it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry

from finauth import RedisTokenStore
from redis_server import RedisClusterServers, RedisSentinelServers, RedisServer, sentinel_master

DEPLOYMENTS = ("standalone", "cluster", "sentinel")


@dataclass(frozen=True)
class Deployment:
    """One kind of deployment, by its name and the port a client starts from."""

    name: str
    port: int
    """The server's, a cluster node's, or the sentinel's."""

    def client(self) -> redis.Redis | RedisCluster:
        """A client as an application would make one for this deployment."""
        if self.name == "cluster":
            return RedisCluster(host="127.0.0.1", port=self.port, socket_timeout=5)
        if self.name == "sentinel":
            return sentinel_master(self.port)
        # As the store makes one from a URL: redis-py's default retry would wait out
        # a restart for seconds, where the store should fall back at once.
        return redis.Redis(
            host="127.0.0.1", port=self.port, socket_timeout=5, retry=Retry(NoBackoff(), 1)
        )

    def store(self, **options: Any) -> RedisTokenStore:
        """A store on a new client; a method, so `partial(deployment.store)` pickles."""
        return RedisTokenStore(client=self.client(), **options)

    def values(self) -> dict[bytes, bytes]:
        """Every key and its raw value, as redis-py reads them: what an intruder would see."""
        client = self.client()
        try:
            return {raw(key): raw(client.get(key)) for key in client.scan_iter()}
        finally:
            client.close()


def raw(value: bytes | str | None) -> bytes:
    return value.encode() if isinstance(value, str) else value or b""


@pytest.fixture(scope="session", name="redis_cluster")
def redis_cluster_fixture(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RedisClusterServers]:
    """Three masters in one cluster, for the session."""
    servers = RedisClusterServers(tmp_path_factory.mktemp("redis-cluster"))
    servers.start()
    yield servers
    servers.stop()


@pytest.fixture(scope="session", name="redis_sentinel")
def redis_sentinel_fixture(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RedisSentinelServers]:
    """A master and the sentinel that watches it, for the session."""
    servers = RedisSentinelServers(tmp_path_factory.mktemp("redis-sentinel"))
    servers.start()
    yield servers
    servers.stop()


@pytest.fixture(params=DEPLOYMENTS, name="deployment")
def deployment_fixture(request: pytest.FixtureRequest) -> Deployment:
    """Each deployment in turn, emptied; only the ones a run selects are started."""
    return emptied_deployment(request, request.param)


def emptied_deployment(request: pytest.FixtureRequest, name: str) -> Deployment:
    """The deployment called `name`, started for the session if it was not, and emptied."""
    if name == "cluster":
        cluster: RedisClusterServers = request.getfixturevalue("redis_cluster")
        found = Deployment(name, cluster.nodes[0].port)
    elif name == "sentinel":
        sentinel: RedisSentinelServers = request.getfixturevalue("redis_sentinel")
        found = Deployment(name, sentinel.port)
    else:
        server: RedisServer = request.getfixturevalue("redis_server")
        found = Deployment(name, server.port)
    client = found.client()
    try:
        client.flushall()
    finally:
        client.close()
    return found
