"""Every setting the service reads, from the environment, in one typed place.

The README's configuration table lists the same variables; `tests/unit/test_settings.py`
keeps the two in step.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import urlsplit

# HS256 wants a key as long as its hash (32 bytes); a short one can be brute-forced
MIN_JWT_SECRET_CHARS = 32


class SettingsError(ValueError):
    """An environment variable holds a value the service cannot use."""


@dataclass(frozen=True, slots=True)
class Settings:
    # where it listens
    host: str = "127.0.0.1"
    port: int = 8000
    # the address readers reach it at, for share links (default: http://HOST:PORT, with
    # localhost for a wildcard HOST); links are never built from a request's Host header
    public_url: str | None = None
    # Host headers accepted, comma-separated ("*" for any); default: PUBLIC_URL's host,
    # HOST, localhost and the loopback addresses
    allowed_hosts: str | None = None
    # parts that switch to production services when set
    database_url: str | None = None
    redis_url: str | None = None
    s3_endpoint_url: str | None = None
    s3_bucket: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    s3_region: str = "auto"
    anthropic_api_key: str | None = None
    anthropic_base_url: str | None = None
    anthropic_model: str = "claude-sonnet-5-5"
    anthropic_timeout_s: float = 60.0
    # embedded defaults live here
    data_dir: Path = Path(".bookmind")
    # mail (password reset, email confirmation): logged when SMTP_URL is unset
    smtp_url: str | None = None
    mail_from: str = "BookMind <no-reply@localhost>"
    # billing: Stripe's webhook signing secret (unset: the webhook answers 503), and
    # which price pays for which tier (`price_123=pro,price_456=premium`; a price whose
    # lookup key is `pro` or `premium` needs no entry)
    stripe_webhook_secret: str | None = None
    stripe_price_tiers: str | None = None
    # auth
    jwt_secret: str | None = None
    access_token_ttl_s: int = 900
    refresh_token_ttl_s: int = 30 * 24 * 3600
    login_failures_before_throttle: int = 5
    # last_active_at is written this often (once for every reader active since)
    activity_flush_s: float = 60.0
    # database pool
    db_pool_min: int = 2
    db_pool_max: int = 20
    # real-time
    channel_prefix: str = "bookmind"
    ws_heartbeat_s: int = 25
    ws_hello_timeout_s: float = 10.0
    ws_rate_per_s: float = 50.0
    ws_rate_burst: int = 500
    ws_queue_size: int = 1024
    # per account on one web process; the oldest socket is closed (4409) past it
    ws_max_sockets_per_user: int = 20
    ws_max_subscriptions: int = 500
    # off: measured to cost memory and latency on fan-out (docs/benchmarks.md)
    ws_per_message_deflate: bool = False
    event_retention_days: int = 7
    # presence is announced on a book channel only while this process has at most this
    # many subscribers on it: past that, each join would go to every reader (O(N^2))
    presence_max_subscribers: int = 100
    # books
    max_upload_bytes: int = 100 * 1024 * 1024
    # uploads one reader may make in any hour (each is parsed and embedded)
    uploads_per_hour: int = 20
    embeddings_provider: str = "local"
    embedding_threads: int = 1
    # a SQLite file keeping every vector the model computed, by text: a text embedded
    # before (a retried book, a re-index) costs no model time. Empty: off
    embeddings_cache: str = ""
    parse_timeout_s: float = 300.0
    # a book still pending or processing this long after its last start is retried (its
    # worker died), at most three times in all
    ingest_stalled_after_s: int = 900
    # a task a worker took and never acknowledged goes to another worker after this long
    task_redelivery_s: int = 900
    # scheduler interval for the embedded loop and view refresh
    views_refresh_s: int = 300
    log_level: str = "INFO"
    log_json: bool = True

    @property
    def public_base_url(self) -> str:
        """The trusted base of every public link (share pages, card images)."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "localhost" if self.host in {"0.0.0.0", "::", ""} else self.host  # noqa: S104
        return f"http://{host}:{self.port}"

    def trusted_hosts(self) -> list[str]:
        """Host header values to accept, each with and without this process's port."""
        if self.allowed_hosts:
            names = [h.strip() for h in self.allowed_hosts.split(",") if h.strip()]
            if "*" in names:
                return ["*"]
        else:
            names = ["localhost", "127.0.0.1", "[::1]", self.host]
            if self.public_url:
                names.append(urlsplit(self.public_url).netloc)
        hosts = {n for n in names if n and n not in {"0.0.0.0", "::"}}  # noqa: S104
        return sorted(hosts | {f"{h}:{self.port}" for h in hosts if not _has_port(h)})

    @property
    def embedded_database(self) -> bool:
        return self.database_url is None

    @property
    def uses_redis(self) -> bool:
        return self.redis_url is not None

    @property
    def uses_s3(self) -> bool:
        return self.s3_bucket is not None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read every field from its upper-case variable; unset or empty means the default."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(f.name.upper())
            if raw is None or raw == "":
                continue
            values[f.name] = _parse(f.name, str(f.type), raw)
        settings = cls(**values)  # type: ignore[arg-type]
        if settings.jwt_secret is not None and len(settings.jwt_secret) < MIN_JWT_SECRET_CHARS:
            raise SettingsError(
                f"JWT_SECRET must be at least {MIN_JWT_SECRET_CHARS} characters: HS256 "
                "tokens signed with a short secret can be forged by guessing it"
            )
        return settings


def _has_port(host: str) -> bool:
    return "]:" in host if host.startswith("[") else ":" in host


def _parse(name: str, type_name: str, raw: str) -> object:
    base = type_name.replace(" | None", "")
    try:
        if base == "int":
            return int(raw)
        if base == "float":
            return float(raw)
        if base == "bool":
            return _parse_bool(raw)
        if base == "Path":
            return Path(raw)
    except ValueError as exc:
        raise SettingsError(f"{name.upper()}={raw!r}: expected {base}") from exc
    return raw


def _parse_bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(raw)


def setting_names() -> list[str]:
    """The environment variable names, in declaration order."""
    return [f.name.upper() for f in fields(Settings)]
