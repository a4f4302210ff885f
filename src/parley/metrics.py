"""Prometheus metrics of one process, served at `/metrics`.

One `Metrics` object per process, built at start-up and handed to what it measures; it owns
its registry, so building the services twice (as the tests do) never clashes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Sends and requests: from a millisecond to a database or Redis at its timeout (10 s).
SECONDS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.connected_sockets = Gauge(
            "parley_connected_sockets", "Sockets connected to this process", registry=self.registry
        )
        self.socket_events = Counter(
            "parley_socket_events",
            "Socket events handled, by event name and outcome (ok or an error code)",
            ["event", "outcome"],
            registry=self.registry,
        )
        self.send_seconds = Histogram(
            "parley_send_seconds",
            "Time to store and fan out a new message",
            buckets=SECONDS_BUCKETS,
            registry=self.registry,
        )
        self.http_seconds = Histogram(
            "parley_http_request_seconds",
            "HTTP requests answered, by method, route template and status",
            ["method", "route", "status"],
            buckets=SECONDS_BUCKETS,
            registry=self.registry,
        )
        self.database_errors = Counter(
            "parley_database_errors",
            "Database calls that failed for want of a database (answered unavailable)",
            registry=self.registry,
        )
        self.database_statements = Counter(
            "parley_database_statements",
            "SQL statements sent to the database (an executemany counts once)",
            registry=self.registry,
        )
        self.redis_errors = Counter(
            "parley_redis_errors", "Redis calls that failed", registry=self.registry
        )

    def watch_database_pool(self, checked_out: Callable[[], int]) -> None:
        """Report the database connections in use, read when scraped."""
        self.registry.register(_PoolCollector(checked_out))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _PoolCollector(Collector):
    def __init__(self, checked_out: Callable[[], int]) -> None:
        self._checked_out = checked_out

    def collect(self) -> Iterable[GaugeMetricFamily]:
        yield GaugeMetricFamily(
            "parley_database_connections_in_use",
            "Database connections checked out of the pool",
            value=self._checked_out(),
        )
