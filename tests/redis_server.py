"""Real Redis deployments on free loopback ports, for the tests of RedisTokenStore:
one `redis-server`, a 3-master cluster, and a master watched by a sentinel.

Without the binaries the tests that need them skip on a developer's machine and
fail under CI (the `CI` variable set), which must install them: Redis is never faked.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import redis
from redis.cluster import RedisCluster
from redis.sentinel import MasterNotFoundError, Sentinel

SENTINEL_MASTER = "finauth"
"""The name the sentinel knows the master by."""


def redis_binary(name: str = "redis-server") -> str:
    binary = shutil.which(name)
    if binary is None:
        reason = f"{name} is not installed (apt-get install -y redis-server redis-tools)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must install it", pytrace=False)
        pytest.skip(reason)
    return binary


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RedisServer:
    """One redis-server process on 127.0.0.1, which a test may stop and start again."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)

    def start(self, *options: str) -> None:
        """Start on this server's port, with redis-server's `options` added."""
        self._process = subprocess.Popen(
            [
                redis_binary(),
                *("--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(self.directory)),
                *options,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        self._wait_for_ping()

    def _wait_for_ping(self) -> None:
        assert self._process is not None
        with self.client() as client:
            deadline = time.monotonic() + 10
            while True:
                try:
                    client.ping()
                    return
                except redis.ConnectionError:
                    if self._process.poll() is not None or time.monotonic() > deadline:
                        self.stop()
                        raise RuntimeError(f"redis-server did not start on {self.port}") from None
                    time.sleep(0.02)

    def shutdown(self) -> None:
        """SHUTDOWN NOSAVE, as an operator's restart would: the process ends on its own."""
        with self.client() as client:
            client.shutdown(nosave=True)
        if self._process is not None:
            self._process.wait(timeout=10)
            self._process = None

    def stop(self) -> None:
        if self._process is not None:
            end(self._process)
            self._process = None


def end(process: subprocess.Popen[bytes]) -> None:
    """Stop `process` by its PID: politely, then for sure."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def until(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    """Wait, boundedly, for `condition`; RuntimeError naming `what` when it never holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(0.05)


class RedisClusterServers:
    """Three cluster-enabled masters on 127.0.0.1, each in its own directory, no replicas."""

    def __init__(self, directory: Path) -> None:
        self.nodes = [RedisServer(directory / f"node{i}") for i in range(3)]

    def client(self) -> RedisCluster:
        return RedisCluster(host="127.0.0.1", port=self.nodes[0].port)

    def start(self) -> None:
        """Start the nodes, then join them into one cluster and wait until it is ok."""
        try:
            for node in self.nodes:
                node.directory.mkdir(parents=True)
                node.start(
                    *("--cluster-enabled", "yes", "--cluster-port", str(free_port())),
                    *("--cluster-config-file", str(node.directory / "nodes.conf")),
                )
            subprocess.run(
                [
                    redis_binary("redis-cli"),
                    *("--cluster", "create"),
                    *(f"127.0.0.1:{node.port}" for node in self.nodes),
                    *("--cluster-replicas", "0", "--cluster-yes"),
                ],
                check=True,
                capture_output=True,
                timeout=60,
            )
            until(self._ok, "the cluster's state becoming ok")
        except BaseException:
            self.stop()
            raise

    def _ok(self) -> bool:
        for node in self.nodes:
            with node.client() as client:
                if client.cluster("info").get("cluster_state") != "ok":
                    return False
        return True

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def sentinel_at(port: int) -> Sentinel:
    return Sentinel([("127.0.0.1", port)], socket_timeout=5)  # type: ignore[no-untyped-call, unused-ignore]


def sentinel_master(port: int) -> redis.Redis:
    """A client of the master the sentinel on `port` names, as applications make one."""
    client: redis.Redis = sentinel_at(port).master_for(  # type: ignore[no-untyped-call, unused-ignore]
        SENTINEL_MASTER, socket_timeout=5
    )
    return client


class RedisSentinelServers:
    """A master and one sentinel that monitors it, both on 127.0.0.1."""

    def __init__(self, directory: Path) -> None:
        self.master = RedisServer(directory / "master")
        self.directory = directory / "sentinel"
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    def sentinel(self) -> Sentinel:
        return sentinel_at(self.port)

    def client(self) -> redis.Redis:
        return sentinel_master(self.port)

    def start(self) -> None:
        """Start the master, then the sentinel, and wait until it names the master."""
        try:
            self.master.directory.mkdir(parents=True)
            self.master.start()
            self.directory.mkdir(parents=True)
            config = self.directory / "sentinel.conf"  # the sentinel rewrites it: its own file
            config.write_text(
                f"port {self.port}\nbind 127.0.0.1\ndir {self.directory}\n"
                f"sentinel monitor {SENTINEL_MASTER} 127.0.0.1 {self.master.port} 1\n"
            )
            self._process = subprocess.Popen(
                [redis_binary(), str(config), "--sentinel"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
            )
            until(self._knows_the_master, "the sentinel naming its master")
        except BaseException:
            self.stop()
            raise

    def _knows_the_master(self) -> bool:
        assert self._process is not None
        if self._process.poll() is not None:
            raise RuntimeError(f"redis-server --sentinel ended ({self._process.returncode})")
        try:
            self.sentinel().discover_master(SENTINEL_MASTER)  # type: ignore[no-untyped-call, unused-ignore]
            return True
        except (redis.ConnectionError, MasterNotFoundError):
            return False

    def stop(self) -> None:
        if self._process is not None:
            end(self._process)
            self._process = None
        self.master.stop()
