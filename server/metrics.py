"""Prometheus metrics an operator pages on. Each process exposes its own at /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

WS_CONNECTIONS = Gauge("bookmind_ws_connections", "Open WebSocket connections")
DB_POOL_SIZE = Gauge("bookmind_db_pool_size", "Connections held by the database pool")
DB_POOL_IN_USE = Gauge("bookmind_db_pool_in_use", "Pool connections checked out")
EVENTS_PUBLISHED = Counter("bookmind_events_published_total", "Events handed to the fan-out")
EVENTS_DELIVERED = Counter("bookmind_events_delivered_total", "Event frames handed to sockets")
EVENTS_QUEUED = Counter(
    "bookmind_events_queued_total",
    "Frames that waited in a socket's queue (its buffer was full, or the ASGI path)",
)
SLOW_CONSUMER_CLOSES = Counter("bookmind_slow_consumer_closes_total", "Sockets closed with 1013")
WS_QUEUE_DEPTH = Gauge("bookmind_ws_queue_depth_max", "Deepest outgoing socket queue")
INGEST_SECONDS = Histogram(
    "bookmind_ingest_seconds", "Book ingestion time", buckets=(1, 5, 15, 30, 60, 120, 300, 900)
)
INGEST_FAILURES = Counter("bookmind_ingest_failures_total", "Books that ended failed")
AI_ANSWERS = Counter(
    "bookmind_ai_answers_total", "Answers by how they ended", ["provider", "status"]
)
AI_TOKENS = Counter("bookmind_ai_tokens_total", "Model tokens used", ["provider"])
AI_COST = Counter("bookmind_ai_cost_usd_total", "Model cost in USD", ["provider"])
WRITE_GROUP_SIZE = Histogram(
    "bookmind_write_group_size",
    "Writes committed together (group commit)",
    buckets=(1, 2, 4, 8, 16, 32, 64),
)
