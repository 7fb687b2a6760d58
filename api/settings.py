"""Settings of the API, from the environment and `.env` (the same file the native stack reads). Each
field `x` is read from WALLET_X; three names follow the stack's own variables instead (aliases)."""

from functools import lru_cache
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WALLET_", env_file=".env", extra="ignore", populate_by_name=True)

    db_host: str = Field("127.0.0.1", description="Host of PgBouncer (or PostgreSQL) the API connects to.")
    db_port: int = Field(
        56432,
        validation_alias=AliasChoices("WALLET_DB_PORT", "WALLET_PGBOUNCER_PORT", "db_port"),
        description="Port of PgBouncer (or PostgreSQL).",
    )
    db_name: str = Field("wallet", validation_alias=AliasChoices("WALLET_DB", "db_name"), description="Database.")
    db_user: str = Field("wallet_app", description="Role the API logs in as: EXECUTE on the wallet functions only.")
    db_password: SecretStr = Field(
        SecretStr(""),
        validation_alias=AliasChoices("WALLET_APP_PASSWORD", "db_password"),
        description="Password of db_user.",
    )
    statement_cache_size: int = Field(
        0,
        description="asyncpg prepared-statement cache. 0 behind PgBouncer < 1.21 in transaction mode; "
        "e.g. 100 directly on PostgreSQL or with PgBouncer >= 1.21 and max_prepared_statements > 0.",
    )
    pool_max_size: int = Field(
        20, description="Most connections per API process (x processes must stay under PgBouncer's max_client_conn)."
    )
    pool_acquire_timeout: float = Field(
        5.0, description="Seconds a request waits for a free connection before it gets 503 + Retry-After."
    )
    command_timeout: float = Field(
        10.0, description="Seconds one database call may take before it is cancelled (then retried, with its key)."
    )
    retry_attempts: int = Field(
        10, description="Attempts of a database call on transient faults (connection lost, 40001, 40P01, 57P0x)."
    )
    retry_max_seconds: float = Field(8.0, description="Upper bound on the time spent retrying one call.")
    retry_after_seconds: int = Field(2, description="Retry-After sent with 503 responses.")
    max_body_bytes: int = Field(16_384, description="Largest request body accepted; larger ones get 413.")
    max_bulk_body_bytes: int = Field(
        2_097_152,
        description="Largest body of POST /api/v1/transfers/bulk (up to 1,000 transfers, each with metadata of "
        "up to ~2 KB); larger ones get 413.",
    )
    max_header_bytes: int = Field(
        8192, description="Largest total size of a request's headers; more (or more than 100 headers) gets 431."
    )
    batching: bool = Field(
        True,
        description="Live batching: one in-flight database call per wallet; operations arriving meanwhile "
        "go together as the next call. Off: one call per operation.",
    )
    batch_max_size: int = Field(
        100,
        ge=1,
        le=1000,
        description="Most operations in one batched call (wallet.apply_operations takes up to 1000).",
    )
    batch_max_queue: int = Field(
        5000, ge=1, description="Most operations waiting for one wallet; beyond it, 503 with Retry-After."
    )
    pool_log_seconds: float = Field(60.0, description="Interval of the periodic pool-usage log line (0: off).")
    default_currency: str = Field(
        "USD",
        pattern=r"^[A-Z]{3}$",
        description="Currency of a wallet created without one (an ISO 4217 code of wallet.currencies).",
    )
    otel: bool = Field(
        False,
        description="FastAPI's native OpenTelemetry: request traces, metrics and error logs sent to the globally "
        "configured providers (FASTAPI_OTEL_AUTO_CONFIGURE=true and OTEL_* set them up from the environment). "
        "Off: no per-request telemetry work; /metrics (Prometheus) is there either way.",
    )
    api_host: str = Field("127.0.0.1", description="Address `python -m api` listens on.")
    api_port: int = Field(8000, description="Port `python -m api` listens on.")
    api_workers: int = Field(
        1, ge=1, description="uvicorn worker processes; each has its own pool (pool_max_size each) and batcher."
    )
    log_level: str = Field("INFO", description="INFO logs one access line per request, with its request id.")
    log_format: Literal["text", "json"] = Field(
        "text",
        description="text: one line per record, control characters in it escaped; json: one JSON object per line.",
    )
    request_timeout: float = Field(
        10.0,
        gt=0,
        description="Seconds a request may take to arrive whole (headers and body) from its first byte, or from "
        "the connection's opening; a slower one is dropped. Idle keep-alive connections close after 5 s.",
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description='Origins browsers may call the API from (CORS), as a JSON list, e.g. ["https://app.example"]; '
        "empty (the default): CORS is off.",
    )
    housekeeping_seconds: float = Field(
        60.0,
        description="Interval of the housekeeping call (wallet.expire_refusals: refusals of server-made keys "
        "past their expiry); 0: off.",
    )
    hold_default_seconds: int = Field(
        3600,
        ge=1,
        le=2_592_000,
        description="How long a hold lasts when its request gives no expires_in_seconds (1 to 2,592,000: 30 days).",
    )
    hold_sweep_seconds: float = Field(
        5.0,
        description="Interval of the hold expiry sweep (wallet.expire_holds: active holds past their expires_at "
        "become expired and their money available); 0: off. A hold also expires whenever its wallet is locked.",
    )


@lru_cache
def get_settings() -> Settings:
    return Settings()
