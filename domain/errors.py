"""Errors the domain raises. They carry a stable `code` and no transport:
`server/errors.py` turns them into HTTP statuses and WebSocket error frames in one table."""

from __future__ import annotations

from uuid import UUID


class DomainError(Exception):
    code = "internal"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Invalid(DomainError):
    """Input that fails a rule; `field` names the offending field."""

    code = "bad_request"


class Unauthorized(DomainError):
    code = "unauthorized"


class TokenReused(Unauthorized):
    """A rotated refresh token came back: it leaked, and its whole chain was revoked.
    `user_id` and `family_id` name the chain, so its open sockets can be closed too."""

    def __init__(self, message: str, *, user_id: UUID, family_id: UUID) -> None:
        super().__init__(message)
        self.user_id = user_id
        self.family_id = family_id


class NotFound(DomainError):
    """Missing, or not visible to the caller: the two are never told apart."""

    code = "not_found"


class Forbidden(DomainError):
    """Visible to the caller, but not theirs to change."""

    code = "forbidden"


class Conflict(DomainError):
    code = "conflict"


class RateLimited(DomainError):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class QuotaExceeded(DomainError):
    code = "quota_exceeded"


class UnsupportedType(DomainError):
    code = "unsupported_type"


class TooLarge(DomainError):
    code = "too_large"


class NotReady(DomainError):
    code = "not_ready"


class UpstreamError(DomainError):
    """The model's API failed, refused (rate limit), timed out or cut the stream."""

    code = "upstream_error"


class Unavailable(DomainError):
    """A part of the service that is switched off here (not configured)."""

    code = "unavailable"
