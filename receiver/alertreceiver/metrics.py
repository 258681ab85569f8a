"""Prometheus metrics of the receiver, on a registry owned by one app instance."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter


class ReceiverMetrics:
    """Counters for stored notifications and rejected requests."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.notifications = Counter(
            "receiver_notifications",
            "Alert notifications stored, one per alert per received request.",
            # NOTE: receiver comes from the request body, so any sender that reaches the port
            # can add series. That is acceptable on loopback and a compose network only.
            ["kind", "receiver", "status"],
            registry=registry,
        )
        self.rejected_requests = Counter(
            "receiver_rejected_requests",
            "Requests rejected with a 4xx status, by endpoint kind and reason.",
            ["kind", "reason"],
            registry=registry,
        )
