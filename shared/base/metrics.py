"""Prometheus metrics of the kernel: outbox backlog and publishing, consumer lag, errors and dead letters."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

OUTBOX_BACKLOG = Gauge("rehab_outbox_backlog", "Outbox rows not yet published to Kafka", ["service"])
OUTBOX_PUBLISHED = Counter("rehab_outbox_published_total", "Outbox rows published to Kafka", ["service"])
PUBLISH_LATENCY = Histogram(
    "rehab_outbox_publish_latency_seconds",
    "Time from the event's commit to its acknowledgement by Kafka",
    ["service"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
RELAY_LEADER = Gauge("rehab_outbox_relay_leader", "1 when this process holds the service's relay lock", ["service"])
RELAY_ERRORS = Counter("rehab_outbox_relay_errors_total", "Failed publish attempts (retried)", ["service"])

CONSUMER_LAG = Gauge(
    "rehab_consumer_lag", "Messages behind the end of the partition", ["consumer", "topic", "partition"]
)
CONSUMER_APPLIED = Counter("rehab_consumer_applied_total", "Events applied by a consumer", ["consumer", "topic"])
CONSUMER_DUPLICATES = Counter(
    "rehab_consumer_duplicates_total", "Events skipped because already applied", ["consumer", "topic"]
)
HANDLER_ERRORS = Counter("rehab_consumer_handler_errors_total", "Failed handler attempts", ["consumer", "topic"])
DLQ_MESSAGES = Counter("rehab_dlq_messages_total", "Messages sent to a dead-letter topic", ["consumer", "topic"])
LAST_EVENT_TIME = Gauge(
    "rehab_consumer_last_event_timestamp_seconds",
    "Recording time of the last applied event",
    ["consumer", "topic"],
)
