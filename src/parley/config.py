"""Settings, read once at start-up from the environment (prefix `PARLEY_`) or `.env`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of a Parley process. Defaults are the contract's (docs/api.md)."""

    model_config = SettingsConfigDict(
        env_prefix="PARLEY_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # Where things live
    data_dir: Path = Path("./data")
    database_url: str | None = None  # default: SQLite in the data folder
    redis_url: str | None = None  # unset: shared state stays in this process
    # Every key and channel Parley uses in Redis starts with this, so deployments can share one.
    redis_prefix: str = "parley"
    redis_timeout_seconds: float = 1.0  # a Redis call slower than this counts as a failure
    migrate_on_start: bool = True
    # On SIGTERM, socket events being handled get this long to finish and be acknowledged;
    # longer than a database statement may take, so none is stored after the sockets close.
    drain_timeout_seconds: float = 12.0
    # The web client's build (index.html and assets/); unset: web/dist of this checkout.
    web_dir: Path | None = None
    # The connection pool. SQLite keeps pool_size + max_overflow connections open and uses
    # only those; the timeouts and recycling are PostgreSQL's.
    database_pool_size: int = 10
    database_max_overflow: int = 10
    database_pool_timeout_seconds: float = 10.0  # wait for a free connection, then fail
    database_pool_recycle_seconds: int = 1800  # reconnect before servers drop idle links
    database_connect_timeout_seconds: float = 5.0
    database_command_timeout_seconds: float = 10.0  # a statement running longer is cancelled

    # Security
    jwt_secret: str | None = None  # unset: generated once and kept in the data folder
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Proxies whose X-Forwarded-For is trusted for the client's address (rate limits, logs):
    # comma-separated addresses or networks, or "*" behind a proxy that is the only way in.
    forwarded_allow_ips: str = "127.0.0.1"
    # argon2id cost: OWASP's second recommended profile (19 MiB, t=2); tests lower both.
    password_hash_time_cost: int = 2
    password_hash_memory_kib: int = 19456
    password_hash_parallelism: int = 1

    # Where `parley serve` listens when its --host and --port are not given.
    host: str = "127.0.0.1"
    port: int = 8000
    # Set, /metrics moves off the public port to a listener of its own on this port, so a
    # load balancer or Ingress that routes every path cannot expose it.
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"

    # Logging
    log_format: Literal["console", "json"] = "console"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    # Limits (docs/api.md, "Limits")
    username_min_length: int = 3
    username_max_length: int = 32
    email_max_length: int = 254
    display_name_max_length: int = 64
    avatar_url_max_length: int = 2048
    group_name_max_length: int = 100
    password_min_length: int = 8
    password_max_length: int = 128
    message_content_max_chars: int = 4000
    message_metadata_max_bytes: int = 8 * 1024
    message_metadata_max_depth: int = 5
    client_id_max_length: int = 64
    group_max_participants: int = 1000
    page_size_default: int = 50
    page_size_max: int = 100
    request_body_max_bytes: int = 1024 * 1024
    socket_packet_max_bytes: int = 1024 * 1024
    access_token_ttl_seconds: int = 15 * 60
    refresh_token_ttl_seconds: int = 7 * 24 * 3600
    refresh_grace_seconds: float = 10.0

    # The recent-message cache that serves the first history page of a conversation.
    recent_messages_per_conversation: int = 100
    recent_messages_ttl_seconds: int = 600  # Redis drops a conversation unused this long
    recent_messages_conversations: int = 1000  # in-process: how many conversations are kept

    # Rate limits (docs/api.md, "Rate limits"); `PARLEY_RATE_LIMITS=off` turns all off.
    rate_limits: bool = True
    rate_limit_send_per_second: float = 20.0
    rate_limit_send_burst: int = 100
    rate_limit_typing_per_second: float = 5.0
    rate_limit_typing_burst: int = 5
    rate_limit_login_per_username_per_minute: int = 10
    rate_limit_login_per_address_per_minute: int = 60
    rate_limit_register_per_address_per_hour: int = 30
    rate_limit_api_per_second: float = 50.0
    rate_limit_api_burst: int = 200

    # Real time
    # A socket whose process stops refreshing it (the process died) is gone after this.
    presence_expiry_seconds: float = 90.0
    # A short wait before announcing `offline`, so a page reload does not flap presence;
    # the contract allows up to 2 s.
    presence_offline_delay_seconds: float = 1.0
    typing_timeout_seconds: float = 6.0  # a typing state not repeated for this long is over
    # Engine.IO's ping: how a dead connection (a laptop lid closed) is noticed. A socket that
    # misses a pong for interval + timeout is disconnected and its user may go offline.
    heartbeat_interval_seconds: float = 25.0
    heartbeat_timeout_seconds: float = 20.0

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @property
    def resolved_database_url(self) -> str:
        """The SQLAlchemy async URL: plain `postgresql://` gets the asyncpg driver."""
        url = self.database_url or f"sqlite+aiosqlite:///{self.data_dir.resolve() / 'parley.db'}"
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+asyncpg://" + url.split("://", 1)[1]
            # libpq's `sslmode=require` (what hosted PostgreSQL hands out) is asyncpg's `ssl`.
            url = url.replace("?sslmode=", "?ssl=").replace("&sslmode=", "&ssl=")
        if url.startswith("sqlite://"):
            url = "sqlite+aiosqlite://" + url.split("://", 1)[1]
        return url

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")
