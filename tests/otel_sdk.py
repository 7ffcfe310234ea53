"""OpenTelemetry's SDK, set up for the whole suite when it is installed (SPEC §8).

Every test then runs as in an application that has configured the SDK: each span and
metric finauth makes is kept in memory, for the leak sweep to search after every test
(R10) and for the tests of `tests/telemetry` to read. An application sets its providers
once, and so does each test process: at import, before any test.

Where the SDK is not installed (`nox -s tests-lowest`), `SDK` is None and nothing is set
up: finauth then runs as it does without opentelemetry.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

try:
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider
    from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
except ImportError:  # pragma: no cover - tests-lowest
    HAVE_SDK = False
else:
    HAVE_SDK = True


@dataclass
class Point:
    """One data point of one of finauth's metrics."""

    metric: str
    attributes: dict[str, Any]
    value: float
    """A counter's sum, or a histogram's count of measurements."""
    total: float
    """A histogram's sum (0 for a counter)."""


class Recorded:
    """What the SDK kept since the last `reset`: spans as they end, and finauth's metric
    points (read as deltas, each added to those read before)."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        trace.set_tracer_provider(tracer_provider)
        delta = AggregationTemporality.DELTA
        self.reader = InMemoryMetricReader(preferred_temporality={Counter: delta, Histogram: delta})
        metrics.set_meter_provider(MeterProvider(metric_readers=[self.reader]))
        self._points: list[Point] = []

    def reset(self) -> None:
        self.exporter.clear()
        self.reader.get_metrics_data()
        self._points.clear()

    def spans(self, scope: str | None = None) -> list[ReadableSpan]:
        """The spans ended since the last reset, in the order they ended: every
        instrumentation's, or `scope`'s ("finauth")."""
        return [
            span
            for span in self.exporter.get_finished_spans()
            if scope is None
            or (span.instrumentation_scope and span.instrumentation_scope.name == scope)
        ]

    def points(self) -> list[Point]:
        """finauth's metric points measured since the last reset."""
        self._points.extend(self._read(self.reader.get_metrics_data()))
        return list(self._points)

    def _read(self, data: Any) -> Iterator[Point]:
        for resource in data.resource_metrics if data is not None else ():
            for scope in resource.scope_metrics:
                if scope.scope.name != "finauth":
                    continue
                for metric in scope.metrics:
                    for point in metric.data.data_points:
                        value = getattr(point, "count", None)
                        if value is None:
                            yield Point(metric.name, dict(point.attributes), point.value, 0.0)
                        else:
                            yield Point(metric.name, dict(point.attributes), value, point.sum)


SDK: Recorded | None = Recorded() if HAVE_SDK else None
