"""Prometheus metrics: requests by route and status with latency, database calls, retries, pool usage,
errors by code, and live batching. Served at /metrics."""

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

REGISTRY = CollectorRegistry(auto_describe=True)

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "wallet_http_requests_total",
    "HTTP requests by method, route template and status.",
    ("method", "route", "status"),
    registry=REGISTRY,
)
HTTP_LATENCY = Histogram(
    "wallet_http_request_duration_seconds",
    "HTTP request latency by method and route template.",
    ("method", "route"),
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
DB_LATENCY = Histogram(
    "wallet_db_call_duration_seconds",
    "Latency of one database call (all its attempts) by SQL function.",
    ("call",),
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
DB_RETRIES = Counter(
    "wallet_db_retries_total",
    "Database calls retried after a transient fault, by exception type.",
    ("reason",),
    registry=REGISTRY,
)
DB_POOL = Gauge(
    "wallet_db_pool_connections",
    "Connections of the asyncpg pool: size, idle, in_use, max.",
    ("state",),
    registry=REGISTRY,
)
ERRORS = Counter(
    "wallet_errors_total",
    "Problem responses by error code.",
    ("code",),
    registry=REGISTRY,
)
BATCH_SIZE = Histogram(
    "wallet_batch_operations",
    "Operations per database call of the live batcher.",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
    registry=REGISTRY,
)
BATCH_QUEUED = Gauge(
    "wallet_batch_queued_operations",
    "Operations waiting for their wallet's in-flight call.",
    registry=REGISTRY,
)


def render(pool_stats: dict[str, int] | None) -> tuple[bytes, str]:
    if pool_stats:
        for state, value in pool_stats.items():
            DB_POOL.labels(state).set(value)
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
